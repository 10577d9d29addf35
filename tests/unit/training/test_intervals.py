"""Conformal intervals of any model, and whether the model's guarantee covers them."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from dpforecast.config import Params
from dpforecast.training.intervals import calibrate_forecasts


def _params(mode: str, intervals: bool = False) -> Params:
    p = Params()
    return replace(p, privacy=replace(p.privacy, mode=mode, gp=replace(p.privacy.gp, intervals=intervals)))


def test_windows_without_a_forecast_are_left_out_of_the_calibration():
    y = np.arange(40, dtype=float).reshape(20, 1, 2)
    forecast = y + 1.0
    forecast[:5] = np.nan  # a seasonal baseline without its lag
    intervals = calibrate_forecasts(y, forecast, _params("none"))
    assert intervals.calibration_windows == 15 and np.allclose(intervals.half_widths[0], 1.0)
    assert calibrate_forecasts(y, np.full_like(y, np.nan), _params("none")) is None


def test_coverage_by_the_guarantee_follows_the_mode():
    y = np.zeros((30, 1, 1))
    assert calibrate_forecasts(y, y, _params("ip")).covered
    assert not calibrate_forecasts(y, y, _params("none")).covered
    assert calibrate_forecasts(y, y, _params("gp")) is None  # raw residuals under DP-SGD: refused by default
    marked = calibrate_forecasts(y, y, _params("gp", intervals=True))
    assert not marked.covered and "NOT covered" in marked.source


def test_calendar_group_calibration_reads_the_held_windows_target_days_in_the_spec_calendar():
    import polars as pl

    from dpforecast.config import load_params
    from dpforecast.data import synthetic
    from dpforecast.features.calendar import add_calendar_features
    from dpforecast.features.windows import make_windows, target_groups
    from dpforecast.models.base import FitContext, Windows
    from dpforecast.models.conformal import validation_halves
    from dpforecast.models.persistence import Persistence
    from dpforecast.training.intervals import fit_calibrated

    from project_roots import REPO

    params = load_params(REPO / "params.yaml", intervals={"calibration": "calendar_groups", "min_group_windows": 10})
    zones = ["z0001", "z0002"]
    # 2024-07-01 to 07-16 at 30 minutes (Montreuil's clock) in Paris: the second half of the
    # validation block (the 8 days before a 1-day test) holds 14 July.
    table = add_calendar_features(synthetic.generate(2, 16, 30, start="2024-07-01", hierarchy=False), 7.0)
    windows = make_windows(table, 3, 2, False, 1, 8, params.data_set.clock, zones)
    train, validation = (Windows.of(table, windows.filter(pl.col("split") == s), 3, 2, zones, 30)
                         for s in ("train", "validation"))
    _, intervals = fit_calibrated(Persistence(), train, validation, FitContext(params))
    held = validation.take(validation_halves(len(validation), 2)[1])
    groups = target_groups(table, held.index, 2, params.data_set.calendar)
    assert {g: intervals.group_windows[g] for g in ("weekday", "weekend", "holiday")} == {
        g: [int((groups[:, lead] == g).sum()) for lead in range(2)] for g in ("weekday", "weekend", "holiday")}
    assert intervals.group_windows["holiday"][0] == 48  # Sunday 14 July, 48 targets at each lead
    with pytest.raises(ValueError, match="needs the calibration targets' calendar groups"):
        calibrate_forecasts(held.y, held.y, params)
