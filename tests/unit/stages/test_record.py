"""dpforecast.stages.record: what an asset built is recorded in ``dvc.lock`` only when DVC would have built the
same, and a DVC problem is a sentence, never an error (no dvc runs here: a stand-in answers for it; the real
``dvc`` runs in tests/integration/test_dagster_dvc_state.py's slow tests).

:func:`record_stage` refuses (with the reason) outside a DVC repository, for a stage dvc.yaml lacks, for
parameters DVC does not read, and for the model stages when ``train.model`` is not ``all`` or ``models/`` is
not what DVC's train stage would build now.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from dpforecast.config import ARCHITECTURES, load_params
from dpforecast.lineage import code_digest, file_md5
from dpforecast.runtime.paths import Paths
from dpforecast.stages import record
from dpforecast.stages.record import (
    LOCK_FILE,
    RECORDED,
    _record_lock,
    dvc_stages,
    models_differ,
    record_stage,
    stage_differs,
)
from dpforecast.tracking.model_folder import flat_params

from project_roots import REPO
from synthetic_project import make_synthetic_root


def dvc_root(tmp: Path, overrides: dict | None = None) -> Path:
    """A project root that looks like a DVC repository (``.dvc/`` and this dvc.yaml); no dvc runs."""
    root = make_synthetic_root(tmp, overrides, days=2)
    (root / ".dvc").mkdir()
    shutil.copyfile(REPO / "dvc.yaml", root / "dvc.yaml")
    return root


def test_not_a_dvc_repository(tmp_path):
    assert record_stage(make_synthetic_root(tmp_path), "ingest") == f"not recorded: {tmp_path.resolve()} is not a DVC repository"


def test_stage_missing_from_dvc_yaml(tmp_path):
    assert record_stage(dvc_root(tmp_path), "frontier") == "not recorded: dvc.yaml has no stage 'frontier'"


def test_parameters_dvc_does_not_read(tmp_path):
    root = dvc_root(tmp_path)
    other = root / "other.yaml"
    shutil.copyfile(root / "params.yaml", other)
    outcome = record_stage(root, "ingest", params_file=other)
    assert outcome.startswith("not recorded: the parameters came from") and "params.yaml" in outcome


@pytest.mark.parametrize("stage", ["train", "evaluate", "register"])
def test_model_stages_need_train_model_all(tmp_path, stage):
    outcome = record_stage(dvc_root(tmp_path, {"train": {"model": "gru"}}), stage)
    assert outcome.startswith("not recorded: params.yaml selects train.model=gru")
    assert f"DVC's {stage} stage would build a different" in outcome


def test_models_folder_must_be_what_the_train_stage_builds(tmp_path):
    root = dvc_root(tmp_path)
    paths, params = Paths(root), load_params(root / "params.yaml")
    paths.feature_table.parent.mkdir(parents=True)
    paths.feature_table.write_bytes(b"features")
    assert models_differ(paths, params) == "models/lstm is not trained yet"
    for arch in ARCHITECTURES:
        paths.model_dir(arch).mkdir(parents=True)
        (paths.model_dir(arch) / "model.json").write_text(
            json.dumps({"params": flat_params(params, arch), "features_md5": file_md5(paths.feature_table),
                        "code_md5": code_digest()}))
    assert models_differ(paths, params) is None
    (paths.model_dir("gru").parent / ".gru.x.tmp").mkdir()
    assert "models/ also holds .gru.x.tmp" in models_differ(paths, params)
    (paths.model_dir("gru").parent / ".gru.x.tmp").rmdir()
    other = load_params(root / "params.yaml", train={"epochs": 3})
    assert models_differ(paths, other) == "models/lstm was trained with other parameters than params.yaml's"
    description = json.loads((paths.model_dir("lstm") / "model.json").read_text())
    (paths.model_dir("lstm") / "model.json").write_text(json.dumps({**description, "code_md5": "older"}))
    assert models_differ(paths, params) == "models/lstm was trained by other code than this checkout's"
    paths.feature_table.write_bytes(b"new features")
    assert models_differ(paths, params) == "models/lstm was not trained from the current feature table"


def test_busy_lock_is_an_outcome_not_an_error(tmp_path):
    root = dvc_root(tmp_path)
    with _record_lock(root, 0) as locked:
        assert locked
        outcome = record_stage(root, "ingest", wait=0.2)
    assert outcome == f"not recorded: dvc busy: another process held {LOCK_FILE} for 0 s"


def test_the_stages_are_dvc_yamls_and_none_without_one(tmp_path):
    assert dvc_stages(tmp_path) == set()
    stages = dvc_stages(dvc_root(tmp_path))
    assert {"ingest", "validate", "features", "train", "evaluate", "register"} <= stages
    assert stage_differs(tmp_path, "ingest") is None  # only the model stages can differ


@pytest.mark.parametrize("answers, outcome", [
    ([""], RECORDED),
    ([RuntimeError("dvc commit failed in /p:\nsome output\nERROR: unexpected error")],
     "not recorded: ERROR: unexpected error"),
    ([OSError("no dvc")], "not recorded: no dvc"),
    ([subprocess.TimeoutExpired("dvc", 600)], "not recorded: dvc commit ingest ran over 600 s"),
    ([RuntimeError(f"ERROR: {record.DVC_BUSY}"), ""], RECORDED),  # busy once, then free
], ids=["recorded", "dvc-error", "no-dvc", "timeout", "busy-then-free"])
def test_dvc_commit_outcomes_are_sentences(tmp_path, monkeypatch, answers, outcome):
    calls = []

    def fake_run_dvc(root, *args, timeout=None):
        calls.append(args)
        answer = answers[len(calls) - 1]
        if isinstance(answer, BaseException):
            raise answer
        return answer

    monkeypatch.setattr(record, "run_dvc", fake_run_dvc)
    monkeypatch.setattr(record.time, "sleep", lambda s: None)
    assert record_stage(dvc_root(tmp_path), "ingest") == outcome
    assert calls == [("commit", "--force", "ingest")] * len(answers)


def test_dvc_busy_past_the_wait_and_any_surprise_are_outcomes_not_errors(tmp_path, monkeypatch):
    root = dvc_root(tmp_path)

    def busy(root, *args, timeout=None):
        raise RuntimeError(record.DVC_BUSY)

    monkeypatch.setattr(record, "run_dvc", busy)
    assert record_stage(root, "ingest", wait=0) == ("not recorded: dvc busy: another dvc command held the repository "
                                                   "lock; `dvc commit --force ingest` records it")
    (root / "dvc.yaml").write_text("stages: [not, a, mapping")
    assert record_stage(root, "ingest").startswith("not recorded: ParserError: ")  # a broken dvc.yaml, as a sentence
