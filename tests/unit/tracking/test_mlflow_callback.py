"""MLflow logging as a fit's callback: a run per model, its curves and its guarantee."""

from __future__ import annotations

import mlflow
import pytest

from dpforecast import GRU, DPForecast, InputPerturbation, MLflowLogger, Persistence
from dpforecast.api.frames import to_long
from dpforecast.data import synthetic
from dpforecast.data.spec import load_spec


@pytest.fixture
def store(tmp_path, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlflow.db'}")
    yield
    mlflow.set_tracking_uri(None)


def test_each_model_gets_a_run_with_its_curves_and_guarantee(store, tmp_path):
    frame = synthetic.generate(zones=3, days=21, interval_minutes=60)
    _, spec_path = synthetic.write(frame, tmp_path / "data", "town", root=tmp_path)
    logger = MLflowLogger(experiment="api-test")
    fc = DPForecast([GRU(units=4, epochs=2), Persistence()], h=1, window=6, dataset=load_spec(spec_path),
                    privacy=InputPerturbation(epsilon=2.0), callbacks=[logger])
    fc.fit(to_long(frame, fc.dataset.zone_ids))
    assert sorted(logger.run_ids) == ["gru", "persistence"]
    client = mlflow.MlflowClient()
    gru = client.get_run(logger.run_ids["gru"])
    assert gru.data.params["units"] == "4" and gru.data.tags["privacy.mode"] == "ip"
    assert len(client.get_metric_history(gru.info.run_id, "train_loss")) == 2
    guarantee = mlflow.artifacts.load_dict(f"runs:/{gru.info.run_id}/privacy/privacy.json")
    assert guarantee["private"] and guarantee["epsilon"] == 2.0
    assert client.get_run(logger.run_ids["persistence"]).info.status == "FINISHED"
    assert mlflow.active_run() is None
