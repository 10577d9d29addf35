"""dpforecast.evaluation.metrics: RMSE and MAE on raw counts, per zone, per lead and their means."""

from __future__ import annotations

import numpy as np
import pytest

from dpforecast.evaluation.metrics import errors_by_lead, forecast_errors, lead_zone_errors

# Two windows, two leads, two zones.
TRUTH = np.array([[[10.0, 0.0], [20.0, 4.0]],
                  [[30.0, 2.0], [40.0, 8.0]]])
PRED = np.array([[[13.0, -5.0], [20.0, 4.0]],   # a negative forecast counts as 0
                 [[26.0, 2.0], [43.0, 4.0]]])


def test_errors_per_lead_and_zone_clip_forecasts_at_zero():
    errors = lead_zone_errors(TRUTH, PRED)
    np.testing.assert_allclose(errors["mae"], [[3.5, 0.0], [1.5, 2.0]])
    np.testing.assert_allclose(errors["rmse"], [[np.sqrt(12.5), 0.0], [np.sqrt(4.5), np.sqrt(8.0)]])
    assert errors["rmse"].dtype == np.float64


def test_a_zones_error_is_the_mean_over_leads_and_the_headline_the_mean_over_zones():
    out = forecast_errors(TRUTH, PRED, ["a", "b"])
    assert out["mae"] == pytest.approx({"a": 2.5, "b": 1.0, "mean": 1.75})
    a = (np.sqrt(12.5) + np.sqrt(4.5)) / 2
    b = np.sqrt(8.0) / 2
    assert out["rmse"] == pytest.approx({"a": a, "b": b, "mean": (a + b) / 2})
    by_lead = errors_by_lead(TRUTH, PRED)
    assert by_lead["rmse"] == pytest.approx([np.sqrt(12.5) / 2, (np.sqrt(4.5) + np.sqrt(8.0)) / 2])
    assert by_lead["mae"] == pytest.approx([1.75, 1.75])


def test_a_two_dimensional_forecast_is_one_lead():
    one_lead = forecast_errors(TRUTH[:, 0], PRED[:, 0], ["a", "b"])
    assert one_lead == forecast_errors(TRUTH[:, :1], PRED[:, :1], ["a", "b"])
    assert one_lead["mae"] == pytest.approx({"a": 3.5, "b": 0.0, "mean": 1.75})
    assert len(errors_by_lead(TRUTH[:, 0], PRED[:, 0])["rmse"]) == 1


def test_mismatched_shapes_and_zone_lists_are_refused():
    with pytest.raises(ValueError, match=r"shapes differ .*\(2, 2, 2\) vs \(2, 1, 2\)"):
        lead_zone_errors(TRUTH, PRED[:, :1])
    with pytest.raises(ValueError, match="not \\(n, horizon, zones\\)"):
        lead_zone_errors(TRUTH[..., None], PRED[..., None])
    with pytest.raises(ValueError, match="forecasts have 2 zones, expected 3"):
        forecast_errors(TRUTH, PRED, ["a", "b", "c"])
