"""The evaluate stage's labels for the field's baselines, and how their own intervals are scored."""

from __future__ import annotations

import numpy as np

from dpforecast.config import params_from_dict
from dpforecast.evaluation.scores import OwnIntervals, score
from dpforecast.runtime.paths import Paths
from dpforecast.stages.evaluate import FIELD_FITS, field_guarantee


def test_beside_dp_sgd_or_without_privacy_the_fields_baselines_are_not_private(tmp_path):
    for mode in ("none", "gp"):
        params = params_from_dict({"privacy": {"mode": mode}})
        assert field_guarantee(Paths(tmp_path), params) is None  # no release to inherit: "not private"
    assert "non-private" in FIELD_FITS["gp"] and "covered by its guarantee" in FIELD_FITS["ip"]


def test_a_methods_own_intervals_are_scored_on_the_windows_it_forecast():
    y = np.array([[[10.0]], [[20.0]], [[30.0]]])
    mean = np.array([[[11.0]], [[np.nan]], [[29.0]]])  # no forecast of the second window
    bounds = {0.8: (mean - 2, mean + 2), 0.95: (mean - 0.5, mean + 0.5)}
    s = score(y, mean, ["a"], {"a": 1.0}, OwnIntervals(bounds, "its own", covered=True))
    assert s["windows"] == 2 and s["coverage"]["80"]["coverage"] == 1.0 and s["coverage"]["95"]["coverage"] == 0.0
    assert s["intervals"] == {"source": "its own", "covered_by_privacy_guarantee": True, "calibration_windows": None}
    assert s["coverage"]["80"]["mean_width"] == 4.0
