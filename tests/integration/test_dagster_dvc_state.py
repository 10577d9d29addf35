"""Dagster and DVC share one state: what an asset rebuilt is recorded in ``dvc.lock``.

Fast: :func:`dpforecast.stages.record.record_stage` refuses (with the reason) outside a DVC
repository, for a stage dvc.yaml lacks, for parameters DVC does not read, and for the
model stages when ``train.model`` is not ``all`` or ``models/`` is not what DVC's train
stage would build now.
Slow (real ``dvc`` on copies of this tree): ``dvc repro`` then the whole Dagster graph
leaves ``dvc status`` clean and the next ``dvc repro`` runs nothing; so does the reverse
order (Dagster first, on a root DVC never built).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from dpforecast.config import ARCHITECTURES, load_params
from dpforecast.runtime.paths import Paths
from dpforecast.stages.record import (
    LOCK_FILE,
    RECORDED,
    _record_lock,
    models_differ,
    record_stage,
)

from dvc_repo import copy_repo, dvc
from project_roots import REPO, make_root

# Dagster asset -> the DVC stage it records.
STAGE_OF = {"raw_mobility": "ingest", "validated_series": "validate", "released_series": "release",
            "features": "features", "evaluation": "evaluate", "registered_models": "register",
            **{f"model_{a}": "train" for a in ARCHITECTURES}}


def dvc_root(tmp: Path, overrides: dict | None = None) -> Path:
    """A project root that looks like a DVC repository (``.dvc/`` and this dvc.yaml); no dvc runs."""
    root = make_root(tmp, overrides)
    (root / ".dvc").mkdir()
    shutil.copyfile(REPO / "dvc.yaml", root / "dvc.yaml")
    return root


@pytest.mark.real_data
def test_not_a_dvc_repository(tmp_path):
    assert record_stage(make_root(tmp_path), "ingest") == f"not recorded: {tmp_path.resolve()} is not a DVC repository"


@pytest.mark.real_data
def test_stage_missing_from_dvc_yaml(tmp_path):
    assert record_stage(dvc_root(tmp_path), "frontier") == "not recorded: dvc.yaml has no stage 'frontier'"


@pytest.mark.real_data
def test_parameters_dvc_does_not_read(tmp_path):
    root = dvc_root(tmp_path)
    other = root / "other.yaml"
    shutil.copyfile(root / "params.yaml", other)
    outcome = record_stage(root, "ingest", params_file=other)
    assert outcome.startswith("not recorded: the parameters came from") and "params.yaml" in outcome


@pytest.mark.parametrize("stage", ["train", "evaluate", "register"])
@pytest.mark.real_data
def test_model_stages_need_train_model_all(tmp_path, stage):
    outcome = record_stage(dvc_root(tmp_path, {"train": {"model": "gru"}}), stage)
    assert outcome.startswith("not recorded: params.yaml selects train.model=gru")
    assert f"DVC's {stage} stage would build a different" in outcome


@pytest.mark.real_data
def test_models_folder_must_be_what_the_train_stage_builds(tmp_path):
    from dpforecast.lineage import code_digest, file_md5
    from dpforecast.tracking.model_folder import flat_params

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


@pytest.mark.real_data
def test_busy_lock_is_an_outcome_not_an_error(tmp_path):
    root = dvc_root(tmp_path)
    with _record_lock(root, 0) as locked:
        assert locked
        outcome = record_stage(root, "ingest", wait=0.2)
    assert outcome == f"not recorded: dvc busy: another process held {LOCK_FILE} for 0 s"


@pytest.mark.real_data
def test_opt_out_on_the_resource(tmp_path):
    from dagster_project.defs.resources import ProjectResource

    meta = ProjectResource(root=str(dvc_root(tmp_path)), record_in_dvc=False).record("ingest")
    assert meta["dvc"].value == "not recorded: record_in_dvc is off"


# --- slow: real dvc and the real Dagster graph -------------------------------------------------


def materialize(root: Path):
    """``full_pipeline``'s assets and check, in process, on ``root`` (MLflow: ``root/mlflow.db``)."""
    import dagster as dg

    from dagster_project.definitions import defs
    from dagster_project.defs.resources import MlflowResource, ProjectResource
    from dagster_project.defs.scope import project_graph

    result = dg.materialize(
        project_graph(defs),
        resources={"project": ProjectResource(root=str(root)), "mlflow": MlflowResource()},
    )
    assert result.success
    outcomes = {}  # in the order the assets finished
    for event in result.get_asset_materialization_events():
        name = event.asset_key.to_user_string()
        if name in STAGE_OF:
            outcomes[name] = event.materialization.metadata["dvc"].value
    return outcomes


def assert_recorded(outcomes: dict[str, str]) -> list[str]:
    """Every stage asset recorded its stage; of the model assets (returned in the order they
    finished), at least the last one."""
    assert set(outcomes) == set(STAGE_OF)
    for name, outcome in outcomes.items():
        if not name.startswith("model_"):
            assert outcome == RECORDED, f"{name}: {outcome}"
    models = [name for name in outcomes if name.startswith("model_")]
    assert outcomes[models[-1]] == RECORDED, outcomes
    return models


def assert_dvc_has_nothing_to_do(repo: Path) -> None:
    assert json.loads(dvc("status", "--json", cwd=repo)) == {}
    assert "Running stage" not in dvc("repro", cwd=repo)


@pytest.fixture
def _tracking_in_copy(monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("DPFORECAST_ROOT", raising=False)


@pytest.mark.slow
def test_dvc_repro_then_dagster_leaves_dvc_up_to_date(tmp_path, _tracking_in_copy):
    repo = copy_repo(tmp_path / "repo")
    built = dvc("repro", cwd=repo)
    assert all(f"Running stage '{s}'" in built for s in set(STAGE_OF.values()))
    before = (repo / "models" / "gru" / "model.json").read_text()
    outcomes = materialize(repo)
    assert (repo / "models" / "gru" / "model.json").read_text() != before  # Dagster did retrain
    assert_recorded(outcomes)
    assert_dvc_has_nothing_to_do(repo)


@pytest.mark.slow
def test_dagster_first_then_dvc_has_nothing_to_do(tmp_path, _tracking_in_copy):
    repo = copy_repo(tmp_path / "repo")
    outcomes = materialize(repo)
    models = assert_recorded(outcomes)
    for name in models[:-1]:  # on a fresh root, only once all four folders exist
        assert outcomes[name].startswith("not recorded: models/") and outcomes[name].endswith("is not trained yet")
    assert_dvc_has_nothing_to_do(repo)
