"""Known-future inputs: each row carries the calendar of the interval ``horizon`` steps after
it, so a window's last rows carry every lead's; computed from timestamps and the public
calendar only, never from a count."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import polars as pl
import pytest

from dpforecast.data import synthetic
from dpforecast.data.clock import Clock
from dpforecast.data.holiday_calendar import DeclaredEvent, HolidayCalendar
from dpforecast.features.calendar import CALENDAR_FEATURES, add_calendar_features
from dpforecast.features.known_future import add_known_future, known_future_columns, target_dates
from dpforecast.features.windows import feature_columns, index_arrays, make_windows, target_rows
from dpforecast.models.base import Windows
from dpforecast.models.ridge import Ridge

PARIS = Clock(60, "Europe/Paris")
FRANCE = HolidayCalendar(country="FR", events=[DeclaredEvent(date="2024-07-20", name="parade")])
ALL = ["holidays", "day_of_week", "events"]
ZONES = ["z0001", "z0002"]


def _table(days: int, start: str = "2024-07-01", horizon: int = 24, inputs: list[str] = ALL) -> pl.DataFrame:
    frame = synthetic.generate(2, days, 60, start=start, hierarchy=False)
    return add_known_future(add_calendar_features(frame, 7.0), inputs, horizon, PARIS, FRANCE)


def test_the_columns_come_in_one_order_and_nothing_is_added_without_an_input():
    assert known_future_columns(["events", "holidays"]) == ["future_holiday", "future_event"]
    assert feature_columns(ZONES, ["day_of_week"]) == [*ZONES, *CALENDAR_FEATURES, *(f"future_dow_{d}" for d in range(7))]
    table = add_calendar_features(synthetic.generate(2, 2, 60, hierarchy=False), 7.0)
    assert add_known_future(table, [], 24, PARIS, FRANCE).equals(table)
    with pytest.raises(ValueError, match="unknown known-future input"):
        known_future_columns(["moon"])


def test_each_row_carries_the_day_horizon_steps_later_14_july_and_a_declared_event():
    table = _table(25, horizon=3)
    at = {t: row for row, t in enumerate(table["timestamp"].to_list())}

    def row(day: int, hour: int) -> dict:
        return table.row(at[datetime(2024, 7, day, hour, tzinfo=ZoneInfo("Europe/Paris"))], named=True)

    # 13 July 21:00 + 3 h = 14 July 00:00 (Bastille Day, a Sunday in 2024)
    assert row(13, 20)["future_holiday"] == 0.0 and row(13, 21)["future_holiday"] == 1.0
    assert row(13, 21)["future_dow_6"] == 1.0 and sum(row(13, 21)[f"future_dow_{d}"] for d in range(7)) == 1.0
    assert row(14, 20)["future_holiday"] == 1.0 and row(14, 21)["future_holiday"] == 0.0
    assert row(19, 21)["future_event"] == 1.0 and row(20, 21)["future_event"] == 0.0


def test_the_last_horizon_rows_of_a_window_carry_leads_1_to_horizon():
    h = 24
    table = _table(10, horizon=h)
    windows = make_windows(table, h, h, False, 1, 0, PARIS, ZONES)
    x, _ = index_arrays(table, windows, h, h, ZONES)
    dow = [feature_columns(ZONES, ALL).index(f"future_dow_{d}") for d in range(7)]
    target_days = table["timestamp"].dt.weekday().to_numpy()[target_rows(windows, h)] - 1  # (n, h), Monday 0
    carried = x[:, :, dow].argmax(axis=2)  # the window's h rows, lead 1 first
    assert (carried == target_days).all()


def test_target_days_step_in_real_time_on_an_absolute_clock_and_on_the_wall_on_a_local_one():
    # 27 October 2024, 00:30 CEST: the clocks go back at 03:00. 24 hours later in real time
    # is 23:30 the same day; 24 local-clock hours later is 00:30 on the 28th.
    stamps = pl.Series([datetime(2024, 10, 27, 0, 30, tzinfo=ZoneInfo("Europe/Paris"))])
    assert target_dates(stamps, 24, Clock(60, "Europe/Paris")).to_list() == [date(2024, 10, 27)]
    assert target_dates(stamps, 24, Clock(60, "Europe/Paris", local=True)).to_list() == [date(2024, 10, 28)]


def test_known_future_inputs_never_read_a_count():
    """Whatever the counts, the known-future columns are the same (only a timestamp and the
    public calendar make them), and no window's inputs change when only counts at or after
    its first target do."""
    h = 24
    table = _table(10, horizon=h)
    columns = known_future_columns(ALL)
    rng = np.random.default_rng(0)
    noisy = table.drop(columns).with_columns(pl.Series(z, rng.integers(0, 10**6, table.height)) for z in ZONES)
    assert add_known_future(noisy, ALL, h, PARIS, FRANCE).select(columns).equals(table.select(columns))
    windows = make_windows(table, h, h, False, 1, 0, PARIS, ZONES).head(1)  # targets: rows h to 2h - 1
    after_origin = table.with_columns(pl.when(pl.int_range(pl.len()) >= h).then(pl.lit(-1)).otherwise(pl.col(z)).alias(z)
                                      for z in ZONES)
    x, y = index_arrays(table, windows, h, h, ZONES)
    x_changed, y_changed = index_arrays(after_origin, windows, h, h, ZONES)
    assert np.array_equal(x, x_changed) and (y_changed == -1).all() and not np.array_equal(y, y_changed)


def test_ridge_with_known_future_inputs_foresees_a_holiday_a_day_ahead():
    """Counts drop on public holidays: a day-ahead ridge that reads tomorrow's holiday flag
    forecasts the drop; one that reads only the past cannot."""
    start, days, h = datetime(2023, 1, 1), 730, 24
    stamps = pl.datetime_range(start, start + timedelta(days=days) - timedelta(hours=1), "1h", time_zone="Europe/Paris",
                               eager=True)
    holiday = HolidayCalendar(country="FR").holiday_flags(stamps.dt.date())
    base = 1000 + 300 * np.sin(2 * np.pi * stamps.dt.hour().to_numpy() / 24)
    counts = np.where(holiday, 0.2, 1.0) * base + np.random.default_rng(1).normal(0, 20, len(stamps))
    frame = pl.DataFrame({"timestamp": stamps, "z0001": counts.round(), "z0002": (0.5 * counts).round()})
    errors = {}
    for inputs in ([], ["holidays"]):
        table = add_known_future(add_calendar_features(frame, 7.0), inputs, h, PARIS, FRANCE)
        windows = make_windows(table, h, h, False, 120, 60, PARIS, ZONES)
        train, validation, test = (Windows.of(table, windows.filter(pl.col("split") == s), h, h, ZONES, 60)
                                   for s in ("train", "validation", "test"))
        model = Ridge()
        model.fit(train, validation, None)  # type: ignore[arg-type]  # ridge reads no parameter
        on_holiday = holiday[target_rows(test.index, h)]  # (n, h)
        errors[bool(inputs)] = np.abs(model.predict(test) - test.y)[on_holiday].mean()
    assert on_holiday.any()
    assert errors[True] < 0.3 * errors[False]
