"""The stages end to end on a tiny configuration, tracked in MLflow, models loaded back."""

from __future__ import annotations

import mlflow
import numpy as np
import polars as pl
import pytest

from dpforecast.features.windows import window_arrays
from dpforecast.models.store import load_forecaster
from dpforecast.runtime.io import read_json
from dpforecast.runtime.paths import METRIC_FILES
from dpforecast.runtime.project import lineage, load_project
from dpforecast.stages.evaluate import evaluate
from dpforecast.stages.features import build_features
from dpforecast.stages.ingest import ingest
from dpforecast.stages.release import release
from dpforecast.stages.train import train
from dpforecast.stages.validate import validate
from dpforecast.training.loop import predict

from montreuil_spec import ZONES
from project_roots import TINY, make_root


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = make_root(tmp_path_factory.mktemp("project"), TINY)
    paths, params = load_project(root)
    ingest(root / params.data_set.raw, paths.raw_table)
    validate(paths.raw_table, paths.series, paths.validation_dir, params)
    release(paths, params)
    build_features(paths, params)
    tags = lineage(paths, params)
    results = train(paths, params, lineage=tags, progress=False)
    metrics = evaluate(paths, params, lineage=tags)
    return paths, params, results, metrics


@pytest.mark.real_data
def test_every_model_and_the_baseline_are_evaluated(trained):
    paths, _, results, metrics = trained
    assert set(metrics) == {"persistence", "ridge", "seasonal_day", "seasonal_week", "autoets", "lstm", "gru", "bilstm",
                            "bigru"}  # autoets: evaluate.baselines' default
    assert metrics["persistence"]["rmse"]["mean"] == pytest.approx(1503.6, abs=0.1)
    # One file per measure, each a forecaster -> value map with the data set and horizon beside.
    for name in METRIC_FILES:
        assert set(read_json(paths.metric(name))) <= {"dataset", "horizon", *metrics}
    assert read_json(paths.metric("rmse")) == {"dataset": "montreuil", "horizon": 1,
                                               **{n: m["rmse"]["mean"] for n, m in metrics.items()}}
    assert read_json(paths.metric("skill"))["bigru"] == pytest.approx(1 - metrics["bigru"]["rmse"]["mean"] / 1503.6, abs=1e-4)
    assert set(read_json(paths.metric("coverage_95"))) == {"dataset", "horizon", "autoets", "lstm", "gru", "bilstm", "bigru"}
    assert read_json(paths.metric("epsilon"))["gru"] is None and read_json(paths.metric("privacy"))["ridge"] == "not private"
    assert read_json(paths.per_zone)["gru"]["rmse"] == metrics["gru"]["rmse"]
    assert read_json(paths.leads) == {"leads": [{"lead": 1, "minutes": 30, **{n: m["rmse"]["mean"] for n, m in metrics.items()}}]}
    for r in results:
        # Metrics from the reloaded model equal those computed right after training.
        assert metrics[r.architecture]["rmse"]["mean"] == pytest.approx(r.test["rmse"]["mean"], rel=1e-6)
    for plot in ("forecast", "fan", "leads", "training_curves"):
        assert (paths.plots_dir / f"{plot}.png").stat().st_size > 10_000


@pytest.mark.real_data
def test_runs_record_params_epochs_lineage_and_metrics(trained):
    paths, params, results, _ = trained
    client = mlflow.tracking.MlflowClient(f"sqlite:///{paths.mlflow_db}")
    run = client.get_run(results[0].mlflow_run_id)
    assert run.data.params["architecture"] == results[0].architecture
    assert run.data.params["train.epochs"] == str(params.train.epochs)
    assert run.data.tags["data.dvc_md5"].endswith(".dir")
    assert len(run.data.tags["data.file_md5"]) == 32
    assert "git_commit" in run.data.tags
    assert "test_rmse_r1" in run.data.metrics and "test_mae_mean" in run.data.metrics
    history = client.get_metric_history(run.info.run_id, "train_loss")
    assert [m.step for m in history] == list(range(1, params.train.epochs + 1))


@pytest.mark.real_data
def test_logged_model_serves_recent_counts_with_the_same_predictions(trained):
    """The pyfunc takes recent counts (timestamp + zones), builds the features itself, and
    forecasts what the saved model forecasts on the matching test windows."""
    paths, params, results, _ = trained
    mlflow.set_tracking_uri(f"sqlite:///{paths.mlflow_db}")
    result = next(r for r in results if r.architecture == "bigru")
    pyfunc = mlflow.pyfunc.load_model(f"runs:/{result.mlflow_run_id}/model")
    table = pl.read_parquet(paths.feature_table)
    windows = pl.read_parquet(paths.windows)
    x, _ = window_arrays(table, windows, "test", params.features.window, params.features.horizon, ZONES)
    series = pl.read_parquet(paths.series)
    first = windows.filter(pl.col("split") == "test")["start_row"][0]
    recent = series.slice(first, params.features.window + 15).select(
        pl.col("timestamp").dt.to_string("%Y-%m-%dT%H:%M:%S%:z"), *ZONES)
    served = pyfunc.predict(recent.to_pandas())
    local = predict(load_forecaster(paths.model_dir("bigru")), x[:16], device="cpu")  # (16, 1, zones)
    assert len(served) == local.size and served["zone"].tolist() == ZONES * 16 and set(served["lead"]) == {1}
    np.testing.assert_allclose(served["forecast"].to_numpy().reshape(local.shape), local, rtol=1e-5)
    targets = windows.filter(pl.col("split") == "test")["target_time"][:16]
    assert served["target_time"].tolist()[::len(ZONES)] == [t.isoformat() for t in targets]
    assert pyfunc.metadata.signature is not None
    schema = pyfunc.metadata.get_output_schema()
    assert schema.input_names() == ["origin_time", "target_time", "duration_minutes", "lead", "zone", "forecast",
                                    "lower_80", "upper_80", "lower_95", "upper_95"]
    assert [t.name for t in schema.input_types()] == ["string", "string", "long", "long", "string", *["double"] * 5]


def test_tracking_follows_the_project_root_and_honours_the_users_uri(tmp_path, monkeypatch):
    from dpforecast.runtime.paths import Paths
    from dpforecast.tracking.mlflow_tracking import configure

    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    for name in ("a", "b"):
        configure(Paths(tmp_path / name), "exp")
        assert mlflow.get_tracking_uri() == f"sqlite:///{tmp_path / name / 'mlflow.db'}"
    users = f"sqlite:///{tmp_path / 'server.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", users)
    configure(Paths(tmp_path / "c"), "exp")
    assert mlflow.get_tracking_uri() == users
