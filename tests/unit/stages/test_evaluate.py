"""The evaluate stage's metrics files built from the scores."""

from __future__ import annotations

from dpforecast.stages.evaluate import coverage_by_group


def test_coverage_per_calendar_group_stands_beside_the_overall_for_calibrated_forecasters_only():
    scores = {
        "gru": {"coverage": {"80": {"coverage": 0.8, "per_group": {"weekday": {"coverage": 0.85, "counts": 60},
                                                                    "holiday": {"coverage": 0.6, "counts": 20}}},
                             "95": {"coverage": 0.9}}},
        "ridge": {"windows": 10},
    }
    assert coverage_by_group(scores) == {"gru": {"80": {"overall": 0.8, "weekday": 0.85, "holiday": 0.6},
                                                 "95": {"overall": 0.9}}}
