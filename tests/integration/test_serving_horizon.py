"""A multi-lead model served: the pyfunc's long table (every window, lead and zone, with its
intervals), the registry's score through it, and the terminal view of the last window."""

from __future__ import annotations

import mlflow
import numpy as np
import pandas as pd
import polars as pl
import pytest

from dpforecast.config import deep_merge
from dpforecast.evaluation.metrics import forecast_errors
from dpforecast.features.windows import window_arrays
from dpforecast.models.store import load_forecaster
from dpforecast.registry.scoring import score_version, scoring_targets
from dpforecast.runtime.project import lineage, load_project
from dpforecast.serving.predict import forecast_csv, last_window_table
from dpforecast.stages.train import train_one
from dpforecast.stages.workspace import build_workspace
from dpforecast.training.loop import predict

from montreuil_spec import ZONE_NAMES, ZONES
from project_roots import TINY, make_root

H = 3
COLUMNS = ["origin_time", "target_time", "duration_minutes", "lead", "zone", "forecast", "lower_80", "upper_80",
           "lower_95", "upper_95"]


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """One GRU forecasting three leads, tracked: the project, its run's model URI, its folder."""
    overrides = deep_merge(TINY, {"features": {"horizon": H}, "train": {"model": "gru", "epochs": 1},
                                  "architectures": {"gru": {"units": 4}}})
    root = make_root(tmp_path_factory.mktemp("horizon"), overrides)
    paths, params = load_project(root)
    build_workspace(root, params, paths)
    result = train_one(paths, params, "gru", progress=False, lineage=lineage(paths, params))
    mlflow.set_tracking_uri(f"sqlite:///{paths.mlflow_db}")
    return paths, params, f"runs:/{result.mlflow_run_id}/model"


def _counts(start: str, rows: int) -> pd.DataFrame:
    stamps = pd.date_range(start, periods=rows, freq="30min", tz="Europe/Paris")
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({z: rng.integers(1000, 20000, rows) for z in ZONES})
    frame.insert(0, "timestamp", [t.isoformat() for t in stamps])
    return frame


@pytest.mark.real_data
def test_every_window_lead_and_zone_with_ordered_intervals_across_the_change_of_time(served):
    _, params, uri = served
    window = params.features.window
    counts = _counts("2020-10-25 00:00", window + 4)  # origins from 02:30 CEST, across the repeated hour
    table = mlflow.pyfunc.load_model(uri).predict(counts)
    n = 5
    assert table.columns.tolist() == COLUMNS and len(table) == n * H * len(ZONES)
    assert table["lead"].tolist() == np.tile(np.repeat(np.arange(1, H + 1), len(ZONES)), n).tolist()
    assert table["zone"].tolist() == ZONES * (n * H)
    # Half an hour after 02:30 CEST is 02:00 CET: the clock goes back, the lead does not.
    assert (table["origin_time"].iloc[0], table["target_time"].iloc[0]) == ("2020-10-25T02:30:00+02:00",
                                                                            "2020-10-25T02:00:00+01:00")
    steps = pd.to_datetime(table["target_time"], utc=True) - pd.to_datetime(table["origin_time"], utc=True)
    assert (steps == pd.to_timedelta(30 * table["lead"], unit="min")).all()
    assert (table["duration_minutes"] == 30).all()  # across the repeated hour too: an absolute clock
    f, lo80, hi80, lo95, hi95 = (table[c].to_numpy() for c in COLUMNS[5:])
    assert np.isfinite(lo95).all() and (lo95 <= lo80).all() and (lo80 <= f).all()
    assert (f <= hi80).all() and (hi80 <= hi95).all() and (hi80 > lo80).any()


@pytest.mark.real_data
def test_the_registry_score_is_the_stages_own_test_error(served):
    paths, params, uri = served
    series, targets = scoring_targets(paths, H)
    table, windows = pl.read_parquet(paths.feature_table), pl.read_parquet(paths.windows)
    x, y = window_arrays(table, windows, "test", params.features.window, H, ZONES)
    assert targets.height == len(x) * H and targets["lead"].to_list()[:H] == [1, 2, 3]
    own = forecast_errors(y, predict(load_forecaster(paths.model_dir("gru")), x, "cpu"), ZONES)
    score = score_version(uri, series, targets)
    for metric in ("rmse", "mae"):
        assert score[metric] == pytest.approx(own[metric], rel=1e-6)


@pytest.mark.real_data
def test_a_model_of_another_horizon_is_refused(served):
    paths, _, uri = served
    series, targets = scoring_targets(paths, 1)
    with pytest.raises(ValueError, match=r"forecasts 3 lead\(s\) but the test windows have 1"):
        score_version(uri, series, targets)


@pytest.mark.real_data
def test_the_terminal_view_shows_every_lead_of_the_last_window(served, tmp_path):
    _, params, uri = served
    csv = tmp_path / "window.csv"
    _counts("2020-11-04 12:00", params.features.window + 2).to_csv(csv, index=False)
    text = last_window_table(forecast_csv(uri, csv)).splitlines()
    assert text[0] == ("forecast from 2020-11-04T15:30:00+01:00 for 2020-11-04T16:00:00+01:00 to "
                       "2020-11-04T17:00:00+01:00 (3 leads)")
    assert text[1] == "80% and 95% intervals: split conformal, second half of the validation block, raw counts"
    rows = [r for r in text[3:] if r]
    assert len(rows) == H * len(ZONES) and all(r.count("[") == 2 for r in rows)
    assert [r.split()[0] for r in rows[::H]] == ZONES and ZONE_NAMES["r1"] in rows[0]
