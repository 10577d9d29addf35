"""Conformal intervals of any model, and whether the model's guarantee covers them."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

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
