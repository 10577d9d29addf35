"""Recent counts into model inputs: both formats, and every refusal names row and reason."""

from __future__ import annotations

import numpy as np
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


def _local_spec():
    from dataclasses import replace

    from dpforecast.data import synthetic
    from dpforecast.data.spec import spec_from_dict

    frame = synthetic.generate(2, 3, 120, start="2024-04-06", timezone="Pacific/Auckland", hierarchy=False,
                               interval_clock="local")
    spec = spec_from_dict(synthetic.spec_dict(frame, "city", "city.csv", "long", interval_clock="local"), "city.yaml")
    return frame, spec, replace(spec, interval_clock="absolute")


def test_a_local_clock_window_across_the_change_is_served_in_counts_of_each_target():
    from dpforecast.models.conformal import Intervals
    from dpforecast.serving.window import forecast_table

    frame, spec, absolute = _local_spec()
    recent = frame.slice(10, 5).select(pl.col("timestamp").dt.strftime("%Y-%m-%dT%H:%M:%S%:z"),
                                      pl.exclude("timestamp").cast(pl.String))
    counts = recent_counts(recent, spec, ["z0001", "z0002"])
    # 2024-04-06 20:00, 22:00, 2024-04-07 00:00, then 02:00 NZDT lasting 3 hours to 04:00 NZST
    x, origins = window_inputs(counts, 3, week_period_days=7.0, clock=spec.clock)
    assert [t.isoformat() for t in counts["timestamp"]][2:] == [
        "2024-04-07T00:00:00+13:00", "2024-04-07T02:00:00+13:00", "2024-04-07T04:00:00+12:00"]
    assert x.shape == (3, 3, 6) and x[1, 2, 0] == np.float32(counts["z0001"][3] / 1.5)  # the 3-hour count per 2 hours
    assert x[1, 1, 0] == counts["z0001"][2]
    with pytest.raises(WindowInputError, match=r"rows 4 and 5 .* are not 120 minutes apart"):
        window_inputs(counts, 3, week_period_days=7.0, clock=absolute.clock)
    forecast = np.full((1, 3, 2), 100.0)
    widths = np.full((2, 3, 2), 10.0)
    intervals = Intervals((0.8, 0.95), widths, 50, "validation block", covered=True)
    table = forecast_table([origins[0]], forecast, intervals, ["z0001", "z0002"], clock=spec.clock)
    assert table["target_time"].unique(maintain_order=True).to_list() == [
        "2024-04-07T02:00:00+13:00", "2024-04-07T04:00:00+12:00", "2024-04-07T06:00:00+12:00"]
    assert table["duration_minutes"].to_list() == [180, 180, 120, 120, 120, 120]
    assert table["forecast"].to_list() == [150.0, 150.0, 100.0, 100.0, 100.0, 100.0]
    assert table["lower_80"].to_list()[:3] == [135.0, 135.0, 90.0]  # the bound scaled with its forecast


def test_a_model_logged_before_clocks_is_served_on_the_absolute_clock_it_was_trained_on():
    """Its pyfunc passes interval_minutes, as before: leads step in real time, every target lasts the interval."""
    from dpforecast.serving.window import forecast_table

    times = ["2020-10-25T01:30:00+02:00", "2020-10-25T02:00:00+02:00", "2020-10-25T02:30:00+02:00"]
    x, origins = window_inputs(recent_counts(short(times), SPEC, ZONES), 3, 7.0, 30)
    table = forecast_table(origins, np.full((1, 2, 6), 10.0), None, ZONES, 30)
    assert table["target_time"].unique(maintain_order=True).to_list() == ["2020-10-25T02:00:00+01:00",
                                                                          "2020-10-25T02:30:00+01:00"]
    assert set(table["duration_minutes"]) == {30} and set(table["forecast"]) == {10.0}
    assert table["lower_80"].is_nan().all()


def test_a_served_window_gets_the_known_future_calendar_of_targets_beyond_its_rows():
    times = ["2024-07-13T22:30:00+02:00", "2024-07-13T23:00:00+02:00", "2024-07-13T23:30:00+02:00"]
    counts = recent_counts(short(times), SPEC, ZONES)
    x, _ = window_inputs(counts, 3, week_period_days=7.0, clock=SPEC.clock, known_future=["holidays"], horizon=1,
                         calendar=SPEC.calendar)
    plain, _ = window_inputs(counts, 3, week_period_days=7.0, clock=SPEC.clock)
    assert x.shape == (1, 3, plain.shape[2] + 1) and np.array_equal(x[..., :-1], plain)
    # 23:30 on 13 July forecasts 00:00 on 14 July, Bastille Day: known although no row holds it.
    assert x[0, :, -1].tolist() == [0.0, 0.0, 1.0]


def test_served_bounds_take_the_half_width_of_each_target_days_calendar_group():
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from dpforecast.models.conformal import Intervals
    from dpforecast.serving.window import forecast_table

    pooled, holiday = np.full((2, 2, 1), 10.0), np.full((2, 2, 1), 50.0)
    intervals = Intervals((0.8, 0.95), pooled, 100, "test", False,
                          {"weekday": pooled, "weekend": pooled, "holiday": holiday}, {})
    origin = datetime(2024, 7, 13, 23, 30, tzinfo=ZoneInfo(TZ))  # leads: 14 July 00:00 (Bastille Day), 00:30
    out = forecast_table([origin], np.full((1, 2, 1), 100.0), intervals, ["r1"], clock=SPEC.clock,
                         calendar=SPEC.calendar)
    assert out["upper_80"].to_list() == [150.0, 150.0]
    before = forecast_table([origin.replace(hour=22)], np.full((1, 2, 1), 100.0), intervals, ["r1"], clock=SPEC.clock,
                            calendar=SPEC.calendar)
    assert before["upper_80"].to_list() == [110.0, 110.0]  # 23:00 and 23:30 on Saturday 13 July
