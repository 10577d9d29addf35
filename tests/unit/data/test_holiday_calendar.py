"""A data set's calendar of days: public holidays by country and subdivision, declared
events, each day's group, and the spec section that names them."""

from __future__ import annotations

import re
from datetime import date

import polars as pl
import pytest

from dpforecast.data import synthetic
from dpforecast.data.holiday_calendar import DeclaredEvent, HolidayCalendar
from dpforecast.data.spec import SpecError, spec_from_dict


def _days(*days: str) -> pl.Series:
    return pl.Series("day", [date.fromisoformat(d) for d in days], dtype=pl.Date)


def test_public_holidays_of_a_country_and_its_subdivision():
    france = HolidayCalendar(country="FR")
    assert france.holiday_flags(_days("2020-07-14", "2020-07-15", "2020-11-01", "2020-11-11")).tolist() == \
        [True, False, True, True]
    # Waitangi Day is national; Auckland Anniversary Day (27 January 2025) only Auckland's.
    days = _days("2025-02-06", "2025-01-27", "2025-01-28")
    assert HolidayCalendar(country="NZ").holiday_flags(days).tolist() == [True, False, False]
    assert HolidayCalendar(country="NZ", subdivision="AUK").holiday_flags(days).tolist() == [True, True, False]
    assert not HolidayCalendar().holiday_flags(days).any()  # no country: no holiday


def test_each_day_falls_in_one_group_a_holiday_or_event_first():
    calendar = HolidayCalendar(country="FR", events=[DeclaredEvent(date="2020-10-28", name="strike", days=2)])
    # Tue 14 July (holiday), Wed 15, Sat 18, Sun 1 Nov (holiday on a Sunday), Wed 28 and Thu 29 Oct (event), Fri 30
    days = _days("2020-07-14", "2020-07-15", "2020-07-18", "2020-11-01", "2020-10-28", "2020-10-29", "2020-10-30")
    assert calendar.groups(days).tolist() == ["holiday", "weekday", "weekend", "holiday", "holiday", "holiday",
                                              "weekday"]
    assert calendar.event_flags(days).tolist() == [False, False, False, False, True, True, False]


def _spec(calendar: dict) -> dict:
    frame = synthetic.generate(2, 2, 60)
    return {**synthetic.spec_dict(frame, "town", "town.csv"), "calendar": calendar}


def test_the_spec_names_its_calendar_and_refuses_one_the_holidays_package_does_not_know():
    spec = spec_from_dict(_spec({"country": "NZ", "subdivision": "AUK",
                                 "events": [{"date": "2025-03-01", "name": "marathon"}]}), "town.yaml")
    assert spec.calendar.country == "NZ" and spec.calendar.events[0].dates() == [date(2025, 3, 1)]
    assert spec_from_dict(synthetic.spec_dict(synthetic.generate(2, 2, 60), "town", "town.csv"),
                          "t.yaml").calendar == HolidayCalendar()
    for calendar, key in (({"country": "XX"}, "calendar.country"), ({"country": "FR", "subdivision": "IDF"},
                                                                    "calendar.subdivision"),
                          ({"subdivision": "AUK"}, "calendar.subdivision"),
                          ({"events": [{"date": "2025-02-30", "name": "x"}]}, "calendar.events[0].date"),
                          ({"events": [{"date": "2025-02-01", "name": "x", "days": 0}]}, "calendar.events[0].days")):
        with pytest.raises(SpecError, match=re.escape(f"town.yaml: {key}: ")):
            spec_from_dict(_spec(calendar), "town.yaml")
