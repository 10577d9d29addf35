"""dpforecast.tracking.mlflow_tracking: MLflow pointed at the project's store (or the user's), runs that
name their process, and the served model's signature."""

from __future__ import annotations

from types import SimpleNamespace

import mlflow
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import RESOURCE_ALREADY_EXISTS

from dpforecast.runtime.paths import Paths
from dpforecast.runtime.processes import identity
from dpforecast.serving.window import SERVED_COLUMNS
from dpforecast.tracking import mlflow_tracking
from dpforecast.tracking.mlflow_tracking import configure, signature, start_run
from dpforecast.tracking.run_owner import TAG_PREFIX


def test_the_users_store_is_used_and_the_experiment_created_once(file_store, tmp_path):
    first = configure(Paths(tmp_path / "project"), "town")
    assert mlflow.get_tracking_uri() == file_store
    assert configure(Paths(tmp_path / "project"), "town") == first
    assert mlflow.get_experiment(first).name == "town"
    assert not (tmp_path / "project" / "mlflow.db").exists()  # the user's store, not the embedded one


def test_without_one_the_projects_sqlite_store_is_used_and_ours_is_never_taken_for_the_users(tmp_path, monkeypatch):
    """MLflow itself is stood in for: creating an SQLite store takes seconds."""
    chosen, created = [], []

    def set_uri(uri: str) -> None:
        chosen.append(uri)
        monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)  # as mlflow.set_tracking_uri does

    def create(name: str, artifact_location: str | None = None) -> str:
        created.append(artifact_location)
        raise MlflowException("exists", error_code=RESOURCE_ALREADY_EXISTS)  # a step beside us was first

    found = iter([None, SimpleNamespace(experiment_id="7"), SimpleNamespace(experiment_id="7")])
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.setattr(mlflow, "set_tracking_uri", set_uri)
    monkeypatch.setattr(mlflow, "get_experiment_by_name", lambda name: next(found))
    monkeypatch.setattr(mlflow, "create_experiment", create)
    monkeypatch.setattr(mlflow, "set_experiment", lambda experiment_id: None)
    monkeypatch.setattr(mlflow, "MlflowClient", lambda: None)
    monkeypatch.setattr(mlflow_tracking, "close_orphaned_runs", lambda client: [])
    assert configure(Paths(tmp_path / "a"), "town") == "7"
    assert configure(Paths(tmp_path / "b"), "town") == "7"  # the variable we set is not the user's choice
    assert chosen == [f"sqlite:///{(tmp_path / 'a' / 'mlflow.db').resolve()}",
                      f"sqlite:///{(tmp_path / 'b' / 'mlflow.db').resolve()}"]
    assert created == [(tmp_path / "a" / "mlartifacts").resolve().as_uri()]


def test_a_run_carries_the_tags_that_name_its_process(file_store, tmp_path):
    configure(Paths(tmp_path), "town")
    with start_run("gru") as run:
        pass
    tags = mlflow.get_run(run.info.run_id).data.tags
    assert tags["mlflow.runName"] == "gru"
    assert {k.removeprefix(TAG_PREFIX): v for k, v in tags.items() if k.startswith(TAG_PREFIX)} == identity()


def test_the_signature_is_recent_counts_in_and_the_long_table_out():
    sig = signature(["z1", "z2"])
    assert [(c.name, c.type.name) for c in sig.inputs] == [("timestamp", "string"), ("z1", "long"), ("z2", "long")]
    outputs = {c.name: c.type.name for c in sig.outputs}
    assert list(outputs) == SERVED_COLUMNS
    assert [outputs[c] for c in ("origin_time", "lead", "zone", "forecast", "upper_95")] == [
        "string", "long", "string", "double", "double"]
