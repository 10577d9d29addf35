"""dpforecast.registry.scoring: the test windows' raw targets, and a logged model scored on them through its served form.

``test_targets`` is called through its module: imported by name, pytest would collect it as a test."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import polars as pl
import pytest

from dpforecast.registry import scoring
from dpforecast.registry.scoring import score_version, scoring_targets
from dpforecast.stages.train import train_one

START = datetime(2024, 1, 1, tzinfo=ZoneInfo("Europe/Paris"))
SERIES = pl.DataFrame({"timestamp": [START + timedelta(hours=i) for i in range(10)],
                       "a": list(range(10)), "b": list(range(100, 110))})


def test_each_window_gives_one_row_per_lead_with_its_origin_and_raw_counts():
    targets = scoring.test_targets(SERIES, pl.DataFrame({"target_row": [3, 5]}), 2)
    assert targets.columns == ["origin_time", "target_time", "lead", "a", "b"]
    hour = [START + timedelta(hours=i) for i in range(10)]
    assert targets.rows() == [(hour[2], hour[3], 1, 3, 103), (hour[2], hour[4], 2, 4, 104),
                              (hour[4], hour[5], 1, 5, 105), (hour[4], hour[6], 2, 6, 106)]
    assert scoring.test_targets(SERIES, pl.DataFrame({"target_row": []}, schema={"target_row": pl.Int64}), 2).height == 0


def test_windows_built_for_a_shorter_horizon_are_refused_by_name():
    with pytest.raises(ValueError, match=r"^features/windows\.parquet: the test window with lead-1 target row 9 has no "
                                         r"lead 2 in the 10-row series: the windows were built for a shorter horizon$"):
        scoring.test_targets(SERIES, pl.DataFrame({"target_row": [3, 9]}), 2, "features/windows.parquet")


def test_the_workspaces_targets_are_its_test_windows_in_the_raw_series(town_workspace):
    ws = town_workspace
    series, targets = scoring_targets(ws.paths, 1)
    assert series.columns == ["timestamp", "z0001", "z0002", "z0003"] and series.height == 21 * 24
    assert targets.height == ws.windows["test"] and targets["lead"].unique().to_list() == [1]
    # the test block is the last seven days: its first target is their first interval
    assert targets["target_time"][0] == datetime(2024, 1, 15, tzinfo=ZoneInfo("Europe/Paris"))
    assert targets["target_time"][-1] == series["timestamp"][-1]
    row = series.filter(pl.col("timestamp") == targets["target_time"][5])
    assert targets.select("z0001", "z0002", "z0003").row(5) == row.select("z0001", "z0002", "z0003").row(0)


def test_a_logged_model_scores_as_the_stage_scored_it_and_refuses_what_it_cannot_forecast(
        town_workspace, tmp_path, file_store):
    ws = town_workspace
    trained = train_one(ws.paths, ws.params, "gru", out_dir=tmp_path / "gru", progress=False)
    uri = trained.description["mlflow_model_uri"]
    series, targets = scoring_targets(ws.paths, 1)
    score = score_version(uri, series, targets)
    for metric in ("rmse", "mae"):
        assert score[metric] == pytest.approx(trained.test[metric], rel=1e-5)

    windows = pl.read_parquet(ws.paths.windows).filter(pl.col("split") == "test").head(24)
    with pytest.raises(ValueError, match=r"forecasts 1 lead\(s\) but the test windows have 2: a model is only scored"):
        score_version(uri, series, scoring.test_targets(series, windows, 2))
    # a count lost since training: the window that needs it cannot be served
    lost = series.with_columns(pl.when(pl.col("timestamp") == targets["origin_time"][10]).then(None)
                               .otherwise(pl.col("z0002")).alias("z0002"))
    with pytest.raises(ValueError, match=r"cannot forecast every test window and lead \(window 6, 1 lead\(s\)"):
        score_version(uri, lost, targets)
