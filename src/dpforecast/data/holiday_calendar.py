"""A data set's calendar of days: its public holidays, its declared events, each day's group.

Routines change on holidays, weekends and announced events (a festival, a strike), and a
model that knows only the clock forecasts a Christmas Day like a Thursday. The spec's
``calendar`` section names the country (and subdivision) whose public holidays apply, as
the ``holidays`` package knows them, and the events its owner declares. All of it is
public and known in advance, so it may be read for any future day: known-future model
inputs (:mod:`dpforecast.features.known_future`) and the calendar groups intervals are
calibrated and scored on (weekday, weekend, holiday).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from dpforecast.declared import DECLARED

#: Each day's group: a public holiday or declared event first, then Saturday and Sunday.
GROUPS = ("weekday", "weekend", "holiday")
WEEKEND = (5, 6)  # date.weekday(): Saturday, Sunday


@dataclass(frozen=True)
class DeclaredEvent:
    """A day (or run of days) the data set's owner declares unusual and known in advance."""

    __pydantic_config__ = DECLARED
    date: str
    """The first local day, YYYY-MM-DD."""
    name: str
    """What happens (shown in reports)."""
    days: int = 1
    """Consecutive days from ``date``."""

    def dates(self) -> list[dt.date]:
        first = dt.date.fromisoformat(self.date)
        return [first + dt.timedelta(days=k) for k in range(self.days)]


@dataclass(frozen=True)
class HolidayCalendar:
    """The spec's ``calendar`` section: whose public holidays apply, and the declared events.
    Empty (no country, no event), every day is a weekday or a weekend."""

    __pydantic_config__ = DECLARED
    country: str | None = None
    """ISO 3166-1 code of the country whose public holidays apply (the holidays package's, e.g. FR, NZ)."""
    subdivision: str | None = None
    """Its subdivision with holidays of its own, as the holidays package names it (e.g. AUK for Auckland)."""
    events: list[DeclaredEvent] = field(default_factory=list)
    """Declared events: days known in advance to be unusual (each a date, a name and a number of days)."""

    def holiday_flags(self, dates: pl.Series) -> np.ndarray:
        """True for each local date (a polars Date series) that is a public holiday."""
        if self.country is None or dates.is_empty():
            return np.zeros(len(dates), dtype=bool)
        import holidays

        days = dates.to_list()
        years = range(min(days).year, max(days).year + 1)
        known = holidays.country_holidays(self.country, subdiv=self.subdivision, years=years)
        return np.fromiter((d in known for d in days), dtype=bool, count=len(days))

    def event_flags(self, dates: pl.Series) -> np.ndarray:
        """True for each local date that a declared event covers."""
        declared = {d for event in self.events for d in event.dates()}
        return np.fromiter((d in declared for d in dates.to_list()), dtype=bool, count=len(dates))

    def groups(self, dates: pl.Series) -> np.ndarray:
        """Each local date's group (:data:`GROUPS`): ``holiday`` for a public holiday or a
        declared event, else ``weekend`` on Saturday and Sunday, else ``weekday``."""
        weekend = np.isin(dates.dt.weekday().to_numpy() - 1, WEEKEND)  # polars: Monday = 1
        unusual = self.holiday_flags(dates) | self.event_flags(dates)
        return np.where(unusual, "holiday", np.where(weekend, "weekend", "weekday"))
