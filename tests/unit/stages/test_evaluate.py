"""The evaluate stage's flags: test coverage more than 5 points from the nominal level."""

from __future__ import annotations

from dpforecast.stages.evaluate import coverage_flags


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
