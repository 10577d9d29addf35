"""Recent counts into model inputs: both formats, and every refusal names row and reason."""

from __future__ import annotations

import polars as pl
import pytest

from dpforecast.serving.window import (
    WindowInputError,
    recent_counts,
    window_inputs,
)

from montreuil_spec import SPEC, ZONES

TZ = "Europe/Paris"


def short(times: list[str], counts: list[int] | None = None) -> pl.DataFrame:
    counts = counts or [100] * len(times)
    return pl.DataFrame({"timestamp": times, **{f"r{i}": [str(c) for c in counts] for i in range(1, 7)}})


def test_operator_and_short_formats_agree():
    operator = pl.DataFrame({
        "Date": ["2020-11-04", "2020-11-04"], "Hour": ["22:30:00", "23:00:00"],
        "Commune Montreuil": ["10", "11"], "IRIS 930480204": ["1", "1"], "IRIS 930480205": ["2", "2"],
        "IRIS 930480206": ["3", "3"], "IRIS 930480401": ["4", "4"], "IRIS 930480604": ["0", "5"], "Total": ["20", "22"],
    })
    a = recent_counts(operator, SPEC, ZONES)
    b = recent_counts(pl.DataFrame({"timestamp": ["2020-11-04T22:30:00+01:00", "2020-11-04T23:00:00+01:00"],
                                    "r1": [10, 11], "r2": [1, 1], "r3": [2, 2], "r4": [3, 3], "r5": [4, 4], "r6": [0, 5]}), SPEC, ZONES)
    assert a.equals(b)


def test_windows_origins_and_leads_across_the_change_of_time():
    # 01:30, 02:00, 02:30 CEST then 02:00 CET (the repeated hour): consecutive in real time.
    times = ["2020-10-25T01:30:00+02:00", "2020-10-25T02:00:00+02:00", "2020-10-25T02:30:00+02:00",
             "2020-10-25T02:00:00+01:00"]
    x, origins = window_inputs(recent_counts(short(times), SPEC, ZONES), 3, week_period_days=7.0, interval_minutes=30)
    assert x.shape == (2, 3, 10)
    assert [t.isoformat() for t in origins] == ["2020-10-25T02:30:00+02:00", "2020-10-25T02:00:00+01:00"]
    assert [t.isoformat() for t in SPEC.clock.later(origins[0], 3)] == [
        "2020-10-25T02:00:00+01:00", "2020-10-25T02:30:00+01:00", "2020-10-25T03:00:00+01:00"]


@pytest.mark.parametrize(("frame", "message"), [
    (short(["2020-11-04T22:00:00+01:00", "2020-11-04T23:00:00+01:00"]), "rows 1 and 2 .* are not 30 minutes apart"),
    (short(["2020-11-04T22:00:00+01:00"]), r"1 row\(s\); the model needs at least 2"),
    (short(["2020-11-04T22:00:00+01:00", "2020-11-04T22:30:00+01:00"], [5, -1]), r"row 2, zone r1 .* not a non-negative"),
    (short(["yesterday", "2020-11-04T22:30:00+01:00"]), "row 1: unreadable timestamp"),
    (pl.DataFrame({"when": ["x"], "r1": [1]}), "expected columns"),
])
def test_bad_windows_are_refused_by_row(frame: pl.DataFrame, message: str):
    with pytest.raises(WindowInputError, match=message):
        window_inputs(recent_counts(frame, SPEC, ZONES), 2, week_period_days=7.0, interval_minutes=30)


def test_a_model_logged_before_multi_step_serving_is_refused_by_name():
    from dpforecast.serving.window import ServedFormatError, check_served

    class OldServed:  # what an earlier ForecasterModel loads: no intervals
        model, zones = None, ["r1"]

    with pytest.raises(ServedFormatError, match="models:/m/1 was logged by an earlier dpforecast"):
        check_served(OldServed(), "models:/m/1")
