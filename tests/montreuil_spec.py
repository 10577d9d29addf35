"""The Montreuil data set's spec, as the tests of its study results read it."""

from pathlib import Path

from dpforecast.data.spec import load_spec

SPEC = load_spec(Path(__file__).resolve().parents[1] / "datasets" / "montreuil.yaml")
ZONES: list[str] = SPEC.zone_ids
ZONE_NAMES: dict[str, str] = SPEC.zone_names
RAW_COLUMNS: list[str] = SPEC.source_columns()
