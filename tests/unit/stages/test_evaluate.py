"""The evaluate stage: labels for the field's baselines, how their own intervals are scored, and
the flags on test coverage more than 5 points from the nominal level, coverage per calendar group."""

from __future__ import annotations

import numpy as np

from dpforecast.config import params_from_dict
from dpforecast.evaluation.scores import OwnIntervals, score
from dpforecast.runtime.paths import Paths
from dpforecast.stages.evaluate import FIELD_FITS, coverage_by_group, coverage_flags, field_guarantee


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


def _scores(c80: float, c95: float) -> dict:
    return {"coverage": {"80": {"nominal": 0.8, "coverage": c80}, "95": {"nominal": 0.95, "coverage": c95}}}


def test_coverage_more_than_five_points_off_nominal_is_flagged_on_either_side():
    scores = {"persistence": {"windows": 84}, "gru": _scores(0.63, 0.91), "bigru": _scores(0.84, 0.999),
              "lstm": _scores(0.86, 0.88)}
    flags = coverage_flags(scores)
    assert len(flags) == 3
    assert flags[0].startswith("coverage: gru's 80% intervals covered 63.0% of the test targets, 17.0 points below "
                               "nominal (more than 5)")
    assert "a holiday?" in flags[0] and flags[0].endswith("do not read these intervals as 80% there: they cover less")
    assert flags[1].startswith("coverage: lstm's 80% intervals covered 86.0% of the test targets, 6.0 points above")
    assert flags[2].startswith("coverage: lstm's 95% intervals covered 88.0%")  # bigru: within 5 points
    assert coverage_flags({"gru": _scores(0.76, 0.92)}) == []


def test_coverage_per_calendar_group_stands_beside_the_overall_for_calibrated_forecasters_only():
    scores = {
        "gru": {"coverage": {"80": {"coverage": 0.8, "per_group": {"weekday": {"coverage": 0.85, "counts": 60},
                                                                    "holiday": {"coverage": 0.6, "counts": 20}}},
                             "95": {"coverage": 0.9}}},
        "ridge": {"windows": 10},
    }
    assert coverage_by_group(scores) == {"gru": {"80": {"overall": 0.8, "weekday": 0.85, "holiday": 0.6},
                                                 "95": {"overall": 0.9}}}
