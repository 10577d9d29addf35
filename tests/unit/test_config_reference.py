"""The generated schemas and reference page are current, and agree with the readers."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml

from dpforecast.config import deep_merge, load_params
from dpforecast.config_reference import SCHEMA_DIR, generated
from dpforecast.data.spec import load_spec

ROOT = Path(__file__).resolve().parents[2]


def test_the_committed_schemas_and_reference_are_what_the_code_generates():
    stale = [str(path) for path, text in generated().items()
             if not (ROOT / path).is_file() or (ROOT / path).read_text() != text]
    assert not stale, f"regenerate with `dpforecast schema --write`: {stale} differ"


def _schema(name: str) -> dict:
    return json.loads((ROOT / SCHEMA_DIR / f"{name}.schema.json").read_text())


@pytest.mark.parametrize("path", sorted((ROOT / "datasets").glob("*.yaml")), ids=lambda p: p.name)
def test_every_shipped_spec_names_its_schema_and_meets_it(path):
    text = path.read_text()
    assert text.startswith("# yaml-language-server: $schema=../docs/schema/spec.schema.json\n")
    jsonschema.validate(yaml.safe_load(text), _schema("spec"))
    load_spec(path)


def test_params_and_every_profile_name_their_schema_and_meet_it():
    base = yaml.safe_load((ROOT / "params.yaml").read_text())
    assert (ROOT / "params.yaml").read_text().startswith("# yaml-language-server: $schema=docs/schema/params.schema.json")
    jsonschema.validate(base, _schema("params"))
    for profile in sorted((ROOT / "profiles").glob("*.yaml")):
        assert profile.read_text().startswith("# yaml-language-server: $schema=../docs/schema/params.schema.json")
        jsonschema.validate(deep_merge(base, yaml.safe_load(profile.read_text())), _schema("params"))
        load_params(ROOT / "params.yaml", profile=profile.stem)


@pytest.mark.parametrize(("change", "key"), [
    ({"train": {"epochs": "30"}}, "train.epochs"),
    ({"train": {"epochz": 3}}, "train"),
    ({"privacy": {"mode": "laplace"}}, "privacy.mode"),
    ({"features": {"scaling": True}}, "features.scaling"),
])
def test_the_schema_refuses_what_the_reader_refuses(change, key):
    """Both the editor's check (the schema, by jsonschema) and the reader (pydantic) refuse it."""
    base = yaml.safe_load((ROOT / "params.yaml").read_text())
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(deep_merge(base, change), _schema("params"))
    with pytest.raises(ValueError, match=key):
        load_params(ROOT / "params.yaml", **change)


def test_the_cli_prints_a_schema(capsys):
    from dpforecast.cli import main

    assert main(["schema", "spec"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["title"].startswith("dpforecast data set spec") and "zones" in printed["required"]
