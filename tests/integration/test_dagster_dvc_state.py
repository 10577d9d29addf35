"""Dagster and DVC share one state: what an asset rebuilt is recorded in ``dvc.lock``.

Fast: the project resource's opt-out (what :func:`dpforecast.stages.record.record_stage`
refuses, and why, is tested in tests/unit/stages/test_record.py).
Slow (real ``dvc`` on copies of this tree): ``dvc repro`` then the whole Dagster graph
leaves ``dvc status`` clean and the next ``dvc repro`` runs nothing; so does the reverse
order (Dagster first, on a root DVC never built).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from dpforecast.config import ARCHITECTURES
from dpforecast.stages.record import RECORDED

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
