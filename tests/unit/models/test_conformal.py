"""Split conformal intervals: the finite-sample rank, coverage on exchangeable residuals,
clipping at zero, too few residuals, and the stored form."""

from __future__ import annotations

import math

import numpy as np
import pytest

from dpforecast.models.conformal import Intervals, calibrate, coverage


def test_the_half_width_is_the_finite_sample_quantile_of_absolute_residuals():
    y = np.arange(1.0, 20.0).reshape(19, 1, 1)  # residuals 1..19 against a zero forecast
    intervals = calibrate(y, np.zeros_like(y), "test", covered=False)
    # ceil(20 * 0.8) = 16th and ceil(20 * 0.95) = 19th smallest of 19
    assert intervals.half_widths[:, 0, 0].tolist() == [16.0, 19.0]
    assert intervals.calibration_windows == 19


def test_coverage_on_exchangeable_residuals_is_the_nominal_per_lead_and_zone():
    rng = np.random.default_rng(0)
    scale = np.array([[1.0, 10.0], [2.0, 20.0], [4.0, 40.0]])  # leads x zones: widths must follow
    y = 1000 + rng.standard_t(4, size=(20_000, 3, 2)) * scale
    forecast = np.full_like(y, 1000.0)
    intervals = calibrate(y[:4000], forecast[:4000], "test", covered=True)
    cov = coverage(intervals, y[4000:], forecast[4000:])
    for key, nominal in (("80", 0.8), ("95", 0.95)):
        assert cov[key]["coverage"] == pytest.approx(nominal, abs=0.015)
        assert all(abs(c - nominal) < 0.03 for c in cov[key]["per_lead"] + cov[key]["per_zone"])
    assert intervals.half_widths[0, 2, 1] > 30 * intervals.half_widths[0, 0, 0]


def test_lower_bounds_are_clipped_at_zero_and_levels_nest():
    y = np.random.default_rng(1).poisson(3, size=(200, 2, 2)).astype(float)
    intervals = calibrate(y, np.full_like(y, 3.0), "test", covered=False)
    bounds = intervals.bounds(np.full((5, 2, 2), 1.0))
    (lo80, hi80), (lo95, hi95) = bounds[0.8], bounds[0.95]
    assert (lo80 >= 0).all() and (lo95 >= 0).all()
    assert (lo95 <= lo80).all() and (hi80 <= hi95).all()


def test_too_few_residuals_give_no_interval_and_survive_json():
    y = np.ones((5, 1, 2))
    intervals = calibrate(y, y, "test", covered=False)  # ceil(6 * 0.95) = 6 > 5
    assert not np.isnan(intervals.half_widths[0]).any() and np.isnan(intervals.half_widths[1]).all()
    stored = intervals.to_json()
    assert stored["half_widths"][1] == [[None, None]]
    back = Intervals.from_json(stored)
    assert back.levels == (0.8, 0.95) and np.array_equal(back.half_widths, intervals.half_widths, equal_nan=True)
    assert back.source == "test" and back.covered is False and math.isnan(back.bounds(y)[0.95][1][0, 0, 0])
    assert set(coverage(intervals, y, y)) == {"80"}  # no 95% interval: not scored as 0% coverage


def test_bad_shapes_and_levels_are_refused():
    with pytest.raises(ValueError, match="shapes differ"):
        calibrate(np.ones((3, 2)), np.ones((3, 2)), "test", covered=False)
    with pytest.raises(ValueError, match="level must be in"):
        calibrate(np.ones((3, 1, 1)), np.ones((3, 1, 1)), "test", covered=False, levels=(1.2,))


@pytest.mark.parametrize(("privacy", "expected"), [
    ({"mode": "none"}, (False, "raw counts")),
    ({"mode": "ip"}, (True, "noisy release")),
    ({"mode": "gp"}, None),  # no statistic of the raw private block leaves a DP-SGD run by default
    ({"mode": "gp", "gp": {"intervals": True}}, (False, "NOT covered by the DP-SGD guarantee")),
])
def test_what_a_model_is_calibrated_on_follows_its_privacy_mode(privacy, expected):
    import torch

    from dpforecast.config import load_params
    from dpforecast.models.forecaster import Forecaster, ModelSpec
    from dpforecast.training.intervals import calibrate_intervals

    from project_roots import REPO

    params = load_params(REPO / "params.yaml", privacy=privacy, features={"scaling": "log"})
    model = Forecaster(ModelSpec("gru", 4, "tanh", 6, 10, 6))
    x = np.random.default_rng(0).uniform(0, 100, size=(30, 6, 10)).astype(np.float32)
    y = np.random.default_rng(1).uniform(0, 100, size=(30, 1, 6)).astype(np.float32)
    intervals = calibrate_intervals(model, x, y, params, torch.device("cpu"))
    if expected is None:
        assert intervals is None
    else:
        assert (intervals.covered, expected[1] in intervals.source) == (expected[0], True)
    assert calibrate_intervals(model, x[:0], y[:0], params, torch.device("cpu")) is None  # no validation block
