"""A city's own feed on its local clock, end to end (issue 19, section 1).

A synthetic long file as a city writes it (2-hour counts binned on Auckland's clock, ISO
8601 times with offsets, a few empty counts, 400 days spanning both changes of time) goes
through validation, every stage, a tracked model and ``dpforecast predict`` from a window
across a change of time, a backtest over one, and ``DPForecast``: no day is dropped, and
the forecast of each target interval comes with its intervals and its duration.
"""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
import yaml

from dpforecast import DPForecast, Persistence, Ridge
from dpforecast.cli import main
from dpforecast.config import deep_merge, load_params
from dpforecast.runtime.project import lineage, load_project

from project_roots import REPO, TINY

pytestmark = pytest.mark.slow

ZONE = "Pacific/Auckland"
DAYS = 400  # 2024-01-01 to 2025-02-03: the clocks go back on 2024-04-07 and forward on 2024-09-29


@pytest.fixture(autouse=True)
def _own_store(monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)


def _root(tmp: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project that declares nothing but the city's data set (no real data)."""
    root = tmp / "project"
    (root / "datasets").mkdir(parents=True)
    (root / "profiles").mkdir()
    for profile in (REPO / "profiles").glob("*.yaml"):
        (root / "profiles" / profile.name).write_text(profile.read_text())
    params = deep_merge(yaml.safe_load((REPO / "params.yaml").read_text()), {
        **TINY, "dataset": "city", "train": {**TINY["train"], "model": "gru"},
        "features": {"window": "1d", "horizon": "1d"}})
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    monkeypatch.setenv("DPFORECAST_ROOT", str(root))
    monkeypatch.setenv("HOME", str(root))  # the privacy ledger's default home, out of the user's
    return root


def _window(csv: Path, rows: pl.DataFrame, out: Path) -> Path:
    """The feed's own lines (long layout) for the intervals of ``rows``: a served window."""
    feed = pl.read_csv(csv, infer_schema=False)
    stamps = rows["timestamp"].dt.strftime("%Y-%m-%dT%H:%M:%S%:z")
    feed.filter(pl.col("ds").is_in(stamps.implode())).write_csv(out)
    return out


def test_a_local_clock_feed_goes_from_its_file_to_forecasts_across_a_change_of_time(tmp_path, monkeypatch, capsys):
    from dpforecast.experiments.backtest import backtest, fold_features, fold_params, plan_folds
    from dpforecast.stages.evaluate import evaluate
    from dpforecast.stages.train import train_one
    from dpforecast.stages.workspace import build_workspace

    root = _root(tmp_path, monkeypatch)
    assert main(["synthesize", "city", "--layout", "long", "--zones", "4", "--days", str(DAYS), "--interval", "120",
                 "--timezone", ZONE, "--clock", "local", "--missing", "3", "--start", "2024-01-01"]) == 0
    params = load_params(root / "params.yaml")
    spec = params.data_set
    assert (spec.interval_clock, spec.interval_minutes, spec.layout.kind) == ("local", 120, "long")
    csv = root / spec.raw
    text = csv.read_text()
    assert "2024-04-07T02:00:00+13:00" in text and "2024-09-29T03:00:00+13:00" in text  # the 3-hour, the 1-hour
    assert pl.read_csv(csv)["y"].null_count() > 0  # a few empty counts
    capsys.readouterr()

    assert main(["validate", str(csv), "--params", str(root / "params.yaml")]) == 0
    assert "valid" in capsys.readouterr().out

    paths, params = load_project(root)
    counts = build_workspace(root, params, paths)
    series = pl.read_parquet(paths.series)
    days = series["timestamp"].dt.date()
    assert series.height == DAYS * 12 and days.n_unique() == DAYS  # no day dropped
    windows = pl.read_parquet(paths.windows)
    summary = json.loads(paths.feature_summary.read_text())
    assert counts["train"] > 0 and counts["test"] > 0 and summary["missing_counts"]
    for change in ("2024-04-07", "2024-09-29"):  # day-ahead windows whose targets hold each change
        assert windows.filter(pl.col("target_time").dt.date().cast(pl.String) == change).height == 12

    model = train_one(paths, params, "gru", progress=False, lineage=lineage(paths, params))
    assert model.mlflow_run_id
    scores = evaluate(paths, params, track=False)
    assert scores["gru"]["windows"] == counts["test"]

    # Served from a window across the change: 2024-09-28 06:00 ... 2024-09-29 06:00, with its 1-hour interval.
    rows = series.filter(pl.col("timestamp").is_between(pl.datetime(2024, 9, 28, 6, time_zone=ZONE),
                                                        pl.datetime(2024, 9, 29, 4, time_zone=ZONE)))
    assert rows.height == 12 and rows.select(pl.exclude("timestamp").is_null().any()).row(0) == (False,) * 4
    window = _window(csv, rows, tmp_path / "window.csv")
    out = tmp_path / "forecasts.csv"
    code = main(["predict", "--model", f"runs:/{model.mlflow_run_id}/model", "--input", str(window),
                 "--output", str(out)])
    printed = capsys.readouterr()
    assert code == 0, printed.err
    assert "forecast from 2024-09-29T04:00:00+13:00" in printed.out
    served = pl.read_csv(out)
    assert served["lead"].max() == 12 and served["forecast"].null_count() == 0
    assert served.filter(pl.col("lower_95").is_nan() | pl.col("upper_95").is_nan()).height == 0
    assert set(served["duration_minutes"]) == {120}  # the leads after 04:00 are ordinary

    across = _window(csv, series.filter(pl.col("timestamp").is_between(
        pl.datetime(2024, 9, 28, 12, time_zone=ZONE), pl.datetime(2024, 9, 29, 10, time_zone=ZONE))),
        tmp_path / "across.csv")
    earlier = _window(csv, series.filter(pl.col("timestamp").is_between(
        pl.datetime(2024, 9, 28, 0, time_zone=ZONE), pl.datetime(2024, 9, 28, 22, time_zone=ZONE))),
        tmp_path / "earlier.csv")
    assert main(["predict", "--model", f"runs:/{model.mlflow_run_id}/model", "--input", str(across)]) == 0
    assert "forecast from 2024-09-29T10:00:00+13:00" in capsys.readouterr().out
    assert main(["predict", "--model", f"runs:/{model.mlflow_run_id}/model", "--input", str(earlier),
                 "--output", str(out)]) == 0
    leads = pl.read_csv(out)
    assert "(60 min)" in capsys.readouterr().out  # the terminal view names the 1-hour target
    one_hour = leads.filter(pl.col("duration_minutes") == 60)
    assert one_hour["target_time"].unique().to_list() == ["2024-09-29T03:00:00+13:00"]
    assert (one_hour["lower_80"] <= one_hour["forecast"]).all() and (one_hour["forecast"] <= one_hour["upper_95"]).all()

    # A backtest whose evaluation block holds the spring change: its day-ahead windows are all scored.
    result = backtest(root, folds=1, step_days=130, models=("gru",))
    fold = result["folds"][0]
    assert fold["evaluation"]["start"] < "2024-09-29" < fold["evaluation"]["end"]
    # the fold as the backtest cut it, in memory (it writes no workspace)
    _, [cut] = plan_folds(series, params, 1, 130)
    scored = fold_features(series, series, fold_params(params, 130), cut.end).windows.filter(pl.col("split") == "test")
    assert scored.filter(pl.col("target_time").dt.date().cast(pl.String) == "2024-09-29").height == 12
    assert result["mean"]["gru"]["folds"] == 1 and fold["scores"]["gru"]["windows"] == scored.height

    # The same file in memory: DPForecast fits on every day and forecasts across the change.
    frame = pl.read_csv(csv, schema_overrides={"unique_id": pl.String, "ds": pl.String, "y": pl.Int64})
    fc = DPForecast([Ridge(), Persistence()], h="1d", window="1d", dataset=spec, validation_days=14)
    until = frame.filter(pl.col("ds").str.to_datetime("%Y-%m-%dT%H:%M:%S%:z", time_zone="UTC")
                         < pl.datetime(2024, 4, 6, 12, time_zone="UTC"))
    forecast = fc.fit(until).predict().filter(pl.col("unique_id") == "z0001")
    assert forecast["duration_minutes"].to_list().count(180) == 1
    assert forecast["ridge-lo-80"].null_count() == 0 and (forecast["ridge-lo-80"] <= forecast["ridge"]).all()
