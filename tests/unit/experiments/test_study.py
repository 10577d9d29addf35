"""dpforecast.experiments.study: one architecture under a profile over several seeds, each run reported, the best named."""

from __future__ import annotations

import mlflow

from dpforecast.api.dataset import validated_series
from dpforecast.config import load_params
from dpforecast.experiments.study import run_study, study_table
from dpforecast.runtime.io import read_json

from synthetic_project import make_synthetic_root


def _town(tmp_path):
    """Six days of two hourly zones, two days each for the test and validation blocks."""
    return make_synthetic_root(tmp_path / "project", {"split": {"test_days": 2, "validation_days": 2}}, zones=2, days=6)


def test_each_seed_is_reported_and_the_best_one_named(tmp_path):
    root = _town(tmp_path)
    summary = run_study(root, "default", "gru", [0, 1], track=False)
    runs = summary["runs"]
    assert [r["seed"] for r in runs] == [0, 1] and runs[0]["rmse"] != runs[1]["rmse"]
    best = min(runs, key=lambda r: r["rmse"]["mean"])
    assert summary["best_seed"] == best["seed"] and summary["best_mean_rmse"] == best["rmse"]["mean"]
    assert summary["best_mean_mae"] == best["mae"]["mean"]
    assert (summary["profile"], summary["model"]) == ("default", "gru")
    assert summary["windows"] == {"train": 42, "validation": 48, "test": 48}  # 2 days of hourly windows each
    assert summary["hyper"] == {"units": 4, "batch_size": 32, "learning_rate": 0.001}
    assert all(r["privacy"] == "not private (no differential privacy guarantee)" and r["mlflow_run_id"] is None
               for r in runs)
    folder = root / "artifacts" / "study" / "default"
    assert runs[1]["model_dir"] == str(folder / "models" / "gru-seed1") and (folder / "models" / "gru-seed1").is_dir()
    assert read_json(folder / "gru.json") == summary
    assert summary["machine"]["torch"] and summary["total_seconds"] >= 0


def test_overrides_a_name_and_a_given_series_are_used_and_every_run_tracked(tmp_path, file_store):
    root = _town(tmp_path)
    series = validated_series(load_params(root / "params.yaml"), root).head(5 * 24)  # the first five days only
    summary = run_study(root, "default", "gru", [3], overrides={"train": {"epochs": 2}}, name="short", series=series)
    (run,) = summary["runs"]
    assert run["epochs_run"] == 2 and summary["windows"]["test"] == 48 and summary["windows"]["train"] < 42
    assert (root / "artifacts" / "study" / "short" / "gru.json").is_file()
    tracked = mlflow.get_run(run["mlflow_run_id"])
    assert tracked.data.tags["study"] == "default" and tracked.data.params["train.epochs"] == "2"
    assert tracked.info.status == "FINISHED"


def test_the_table_has_a_row_per_seed_and_a_verdict():
    summary = {"runs": [{"seed": 0, "rmse": {"mean": 1503.56}, "mae": {"mean": 1000.04}, "epochs_run": 12,
                         "train_seconds": 61.4},
                        {"seed": 1, "rmse": {"mean": 1490.0}, "mae": {"mean": 990.0}, "epochs_run": 9,
                         "train_seconds": 48.6}],
               "best_seed": 1, "best_mean_rmse": 1490.0, "best_mean_mae": 990.0, "total_seconds": 110.2}
    assert study_table(summary).splitlines() == [
        "| seed | mean RMSE | mean MAE | epochs | seconds |",
        "| --- | --- | --- | --- | --- |",
        "| 0 | 1503.6 | 1000.0 | 12 | 61 |",
        "| 1 | 1490.0 | 990.0 | 9 | 49 |",
        "best: seed 1, mean RMSE 1490.0, mean MAE 990.0; 110 s in all",
    ]
