"""dpforecast.tracking.training_run: what one tracked training records in MLflow, and an untracked one nothing."""

from __future__ import annotations

import mlflow
import numpy as np
import pandas as pd
import pytest

from dpforecast.models.conformal import Intervals
from dpforecast.privacy.report import PrivacyReport
from dpforecast.runtime.paths import Paths
from dpforecast.tracking import mlflow_tracking
from dpforecast.tracking.training_run import TrainingRun, Untracked

PRIVATE = PrivacyReport(mode="gp", mechanism="gaussian", unit="one day", epsilon=2.5, delta=1e-7, accountant="pld",
                        steps=100, sample_rate=0.1, noise_multiplier=1.1, max_grad_norm=1.0)
ERRORS = {"rmse": {"z1": 3.0, "mean": 3.0}, "mae": {"z1": 2.0, "mean": 2.0}}


@pytest.fixture
def logged(monkeypatch) -> list:
    """The model folders handed to MLflow's pyfunc logging (stood in for: it copies the package)."""
    calls = []
    monkeypatch.setattr(mlflow_tracking, "log_forecaster",
                        lambda folder, example: calls.append((folder, example)) or "models:/m-1")
    return calls


def test_an_untracked_training_records_nothing(tmp_path):
    run = Untracked()
    run.start({"units": 4}, {})
    assert run.finish(tmp_path, ERRORS, None, {}, lambda: pd.DataFrame(), PRIVATE) is None
    run.close()
    run.fail()
    assert run.run_id is None and mlflow.active_run() is None


def test_a_private_training_records_steps_spend_guarantee_and_no_data_version(file_store, tmp_path, logged):
    root = tmp_path / "project"
    root.mkdir()
    (root / "data.dvc").write_text("outs:\n- md5: abc.dir\n  path: data\n")
    run = TrainingRun(Paths(root), "town", "gru-gp", private=True)
    run.start({"units": 4, "privacy.mode": "gp"}, {"dataset": "town"})
    run.on_epoch_end("gru", 1, {"steps": 50.0, "privacy_epsilon_spent_rdp": 0.5})  # a DP-SGD epoch's row
    example = pd.DataFrame({"timestamp": ["2024-01-01T00:00:00+01:00"], "z1": [3]})
    intervals = Intervals((0.8, 0.95), np.ones((2, 1, 1)), 30, "validation block, raw counts", covered=False)
    assert run.finish(tmp_path / "models" / "gru", ERRORS, intervals, {"train_seconds": 1.5}, lambda: example,
                      PRIVATE) == "models:/m-1"
    run.close()
    recorded = mlflow.get_run(run.run_id)
    assert recorded.info.status == "FINISHED" and recorded.data.params == {"units": "4", "privacy.mode": "gp"}
    assert recorded.data.tags["dataset"] == "town" and recorded.data.tags["privacy.guarantee"] == PRIVATE.summary()
    assert recorded.data.tags["test_metrics.scope"].startswith("internal: raw test counts, not covered")
    assert recorded.data.tags["intervals.covered_by_privacy_guarantee"] == "false"
    metrics = recorded.data.metrics
    assert metrics["privacy_epsilon_spent_rdp"] == 0.5 and metrics["steps"] == 50.0
    assert (metrics["test_rmse_z1"], metrics["test_mae_mean"], metrics["train_seconds"]) == (3.0, 2.0, 1.5)
    assert (metrics["privacy_epsilon"], metrics["privacy_delta"]) == (2.5, 1e-7)
    artifacts = {a.path for a in mlflow.MlflowClient().list_artifacts(run.run_id)}
    assert artifacts == {"privacy"}  # no data.dvc: a private run does not publish its data version
    assert mlflow.artifacts.load_dict(f"runs:/{run.run_id}/privacy/privacy.json") == PRIVATE.to_json()
    assert logged[0][0] == tmp_path / "models" / "gru" and logged[0][1] is example


def test_a_non_private_training_logs_its_data_version_and_a_failure_ends_failed(file_store, tmp_path, logged):
    (tmp_path / "data.dvc").write_text("outs:\n- md5: abc.dir\n  path: data\n")
    run = TrainingRun(Paths(tmp_path), "town", "gru", private=False)
    run.start({}, {})
    run.on_epoch_end("gru", 0, {"train_loss": 0.5})
    run.finish(tmp_path / "models" / "gru", ERRORS, None, {}, pd.DataFrame, PrivacyReport.non_private())
    run.fail()
    recorded = mlflow.get_run(run.run_id)
    assert recorded.info.status == "FAILED" and recorded.data.tags["intervals"] == "none"
    assert "privacy_epsilon" not in recorded.data.metrics and recorded.data.metrics["train_loss"] == 0.5
    assert mlflow.artifacts.load_text(f"runs:/{run.run_id}/lineage/data.dvc").startswith("outs:")
