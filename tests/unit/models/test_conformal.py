"""Split conformal intervals: the finite-sample rank, coverage on exchangeable residuals,
clipping at zero, too few residuals, and the stored form."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from dpforecast.models.conformal import Intervals, calibrate, calibrate_by_group, coverage


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


def _grouped(n_per_group: dict[str, int], scale: dict[str, float], seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Residuals of one lead and zone whose spread depends on the target day's group."""
    rng = np.random.default_rng(seed)
    groups = np.concatenate([np.full(n, g, dtype=object) for g, n in n_per_group.items()])
    y = np.concatenate([1000 + rng.normal(0, scale[g], n) for g, n in n_per_group.items()])
    return y.reshape(-1, 1, 1), groups.reshape(-1, 1)


def test_each_calendar_group_gets_the_conformal_quantile_of_its_own_residuals():
    y, groups = _grouped({"weekday": 200, "weekend": 80}, {"weekday": 10.0, "weekend": 100.0})
    forecast = np.full_like(y, 1000.0)
    intervals = calibrate_by_group(y, forecast, groups, "test", covered=False, min_windows=30)
    residuals = np.abs(y - forecast)
    for g, n in (("weekday", 200), ("weekend", 80)):
        own = np.sort(residuals[:, 0, 0][groups[:, 0] == g])
        assert intervals.group_windows[g] == [n]
        assert intervals.group_half_widths[g][:, 0, 0].tolist() == [own[math.ceil((n + 1) * 0.8) - 1],
                                                                     own[math.ceil((n + 1) * 0.95) - 1]]
    assert np.array_equal(intervals.half_widths, calibrate(y, forecast, "test", covered=False).half_widths)
    # No holiday among the residuals: a holiday takes the weekend's half-width.
    assert intervals.group_windows["holiday"] == [0]
    assert np.array_equal(intervals.group_half_widths["holiday"], intervals.group_half_widths["weekend"])


def test_a_group_with_too_few_residuals_falls_back_and_bounds_follow_the_targets_group():
    y, groups = _grouped({"weekday": 100, "weekend": 10}, {"weekday": 10.0, "weekend": 100.0})
    forecast = np.full_like(y, 1000.0)
    intervals = calibrate_by_group(y, forecast, groups, "test", covered=False, min_windows=30)
    for g in ("weekend", "holiday"):  # 10 weekend residuals < 30: the pooled width, and the holiday the weekend's
        assert np.array_equal(intervals.group_half_widths[g], intervals.half_widths)
    wide = calibrate_by_group(y, forecast, groups, "test", covered=False, min_windows=5)
    targets = np.array([["weekday"], ["weekend"], ["holiday"], [""]], dtype=object)  # "": a target of no known group
    (lo, hi) = wide.bounds(np.full((4, 1, 1), 1000.0), targets)[0.8]
    assert hi[:, 0, 0].tolist() == [1000 + wide.group_half_widths["weekday"][0, 0, 0],
                                    1000 + wide.group_half_widths["weekend"][0, 0, 0],
                                    1000 + wide.group_half_widths["weekend"][0, 0, 0],
                                    1000 + wide.half_widths[0, 0, 0]]
    assert np.array_equal(wide.bounds(forecast)[0.8][1], calibrate(y, forecast, "t", False).bounds(forecast)[0.8][1])
    back = Intervals.from_json(json.loads(json.dumps(wide.to_json())))
    assert back.group_windows == wide.group_windows
    assert all(np.array_equal(back.group_half_widths[g], w) for g, w in wide.group_half_widths.items())
    assert "groups" not in calibrate(y, forecast, "t", False).to_json()  # split intervals are stored as before


def test_group_conditional_calibration_holds_coverage_in_each_group_where_split_does_not():
    rng = np.random.default_rng(3)
    sizes, scale = {"weekday": 2500, "weekend": 1000, "holiday": 400}, {"weekday": 10.0, "weekend": 60.0, "holiday": 30.0}
    y_cal, g_cal = _grouped(sizes, scale, seed=4)
    y_test, g_test = _grouped(sizes, scale, seed=int(rng.integers(100)))
    forecast = np.full_like(y_cal, 1000.0)
    split = coverage(calibrate(y_cal, forecast, "t", False), y_test, forecast, g_test)
    grouped = coverage(calibrate_by_group(y_cal, forecast, g_cal, "t", False, min_windows=30), y_test, forecast, g_test)
    assert set(split["80"]["per_group"]) == {"weekday", "weekend", "holiday"}
    assert split["80"]["per_group"]["holiday"]["counts"] == 400
    assert split["80"]["per_group"]["weekend"]["coverage"] < 0.5  # pooled widths fit the weekdays
    for level in ("80", "95"):
        for g in ("weekday", "weekend", "holiday"):
            assert grouped[level]["per_group"][g]["coverage"] == pytest.approx(int(level) / 100, abs=0.05)
    assert "per_group" not in coverage(calibrate(y_cal, forecast, "t", False), y_test, forecast)["80"]
