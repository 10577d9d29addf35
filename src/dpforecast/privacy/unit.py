"""The privacy unit: what one protected record is, declared once and used by both mechanisms.

``privacy.unit`` names it and the data set's spec supplies its size:

``event``
    One person's presence during one interval, in every count of that interval the data
    set's hierarchy puts them in (Montreuil: R1 and one IRIS, two counts).
``w-event`` (``privacy.w`` intervals), ``day`` and ``week`` (the data set's intervals per
    day and per week)
    Any ``w`` consecutive intervals of one person (Kellaris et al. 2014, "Differentially
    private event sequences over infinite streams").
``person``
    A person's presence over their whole protected period (the spec's
    ``privacy.protected_period_days``, w-event over that many days), every count moved by
    the spec's ``privacy.per_count``. The units nest: event < day < week < person.
``window``
    The reference study's unit: one count (input perturbation) or one training window
    (DP-SGD). Kept for the paper's reproduction; it is not a data-level guarantee and every
    report says so.

Input perturbation is calibrated on the unit's sensitivity (:meth:`PrivacyUnit.ip_sensitivity`);
DP-SGD is accounted on the windows the unit touches (:meth:`PrivacyUnit.windows`, 2C each).
Both mechanisms state the same words (:meth:`PrivacyUnit.describe`) and charge the same
ledger line (:meth:`PrivacyUnit.ledger_unit`), so the ledger composes their releases.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

UNITS = ("event", "day", "week", "person", "w-event", "window")
#: The units the privacy ledger tracks, nested: every charge lands on each of them.
LEDGER_UNITS = ("event", "day", "week", "person")


class UnitError(ValueError):
    """``privacy.unit`` / ``privacy.w`` do not name a unit."""


@dataclass(frozen=True)
class PrivacyUnit:
    name: str  # event | day | week | person | w-event | window
    intervals: int  # consecutive intervals of one person (1 for event and window)
    interval_minutes: int
    counts_per_interval: int  # counts one person is in during one interval (the spec's bound)
    l1_per_interval: float
    l2_per_interval: float
    reason: str = ""
    intervals_per_person: int | None = None  # the spec's person bound, if it declares one
    per_count: int = 1  # how much one person moves one count (the spec's privacy.per_count)

    @property
    def data_level(self) -> bool:
        """False for the study's per-window / per-count unit, which protects no real thing."""
        return self.name != "window"

    def describe(self, mode: str = "gp") -> str:
        """The unit in words, as every report and the ledger state it."""
        minutes = f"{self.interval_minutes}-minute"
        if self.name == "window":
            return ("the study's unit, one count (not a data-level guarantee)" if mode == "ip" else
                    "the study's unit, one training window (not a data-level guarantee)")
        if self.counts_per_interval == 1:
            counts = "in one count per interval"
        elif self.l2_per_interval < self.l1_per_interval:  # presence in nested zones: one per count
            counts = (f"in each of the at most {self.counts_per_interval} counts of an interval the data set's "
                      f"hierarchy puts them in")
        else:
            counts = f"counted at most {self.counts_per_interval} times per interval (the data set's declared bound)"
        if self.per_count > 1:
            counts += f", each moved by up to {self.per_count} (extrapolated counts: the spec's per_count)"
        if self.name == "event":
            return f"one event: one person's presence during one {minutes} interval, {counts}"
        label = {"day": "one day", "week": "one week", "person": "the protected period"}.get(
            self.name, f"{self.intervals} consecutive intervals")
        return (f"{label} of one person (w-event, w = {self.intervals}): their presence during any "
                f"{self.intervals} consecutive {minutes} intervals, {counts}")

    @property
    def counts(self) -> int:
        """Counts one unit can change (IP's released values it touches)."""
        return 1 if self.name == "window" else self.intervals * self.counts_per_interval

    def ip_sensitivity(self, mechanism: str) -> float:
        """The norm of everything one unit changes in the release: L1 for the (discrete)
        Laplace, L2 for the (discrete) Gaussian (one day at 30 minutes with R1 above five
        IRIS, raw counts: sqrt(96))."""
        if self.name == "window":
            return 1.0
        if mechanism.endswith("laplace"):
            return self.intervals * self.l1_per_interval
        return math.sqrt(self.intervals) * self.l2_per_interval

    def discrete_shift(self) -> tuple[int, int]:
        """``(shift, coordinates)``: the unit's worst neighbour for the discrete Gaussian moves
        ``coordinates`` counts by ``shift`` each. Presence in nested zones moves each of an
        interval's counts by ``per_count``; a declared bound may put all its contributions on
        one count (L1 = L2 per interval). The window unit moves one count by one."""
        if self.name == "window":
            return 1, 1
        shift = self.l2_per_interval**2 / self.l1_per_interval
        per_interval = self.l1_per_interval**2 / self.l2_per_interval**2
        if abs(shift - round(shift)) > 1e-9 or abs(per_interval - round(per_interval)) > 1e-9:
            raise UnitError(f"the discrete Gaussian needs whole shifts: one interval moves {per_interval:g} counts "
                            f"by {shift:g} each")
        return round(shift), self.intervals * round(per_interval)

    def windows(self, window: int, horizon: int) -> int:
        """Training windows one unit touches (DP-SGD), at most."""
        from dpforecast.privacy.unit_accounting import (
            windows_per_unit,  # scipy: not on config's import path
        )

        return 1 if self.name == "window" else windows_per_unit(window, horizon, self.intervals)

    @property
    def sensitivity_per_window(self) -> float:
        """Clipped-gradient change per touched window, in units of C: the study's unit adds or
        removes a window (C); a data-level unit replaces what it touches (2C)."""
        return 1.0 if self.name == "window" else 2.0

    @property
    def neighbouring(self) -> str:
        if self.name == "window":
            return "add or remove one training window (C)"
        return "replace one unit's counts: every window it touches stays and may change (2C per window)"

    def person_intervals(self) -> int | None:
        """Intervals one person is counted in, when the data set declares a bound."""
        return None if self.name == "window" else self.intervals_per_person

    def ledger_unit(self, dataset: str, mode: str) -> str:
        """The privacy ledger's line for this unit: stable (not the wording of :meth:`describe`,
        which may improve) and the same for both mechanisms on a data-level unit, so their
        releases compose on it; the study's unit is a different record per mechanism."""
        if self.name == "window":
            return f"{dataset}: the study's unit, {'one count' if mode == 'ip' else 'one training window'}"
        return f"{dataset}: {self.name}" if self.name in LEDGER_UNITS else f"{dataset}: {self.name} (w = {self.intervals})"

    def to_json(self) -> dict[str, object]:
        return {"unit": self.name, "intervals": self.intervals, "interval_minutes": self.interval_minutes,
                "counts_per_interval": self.counts_per_interval, "counts": self.counts,
                "data_level": self.data_level, "intervals_per_person": self.person_intervals(),
                "per_count": self.per_count}


def privacy_unit(name: str, w: int | None, interval_minutes: int, steps_per_day: int, counts_per_interval: int,
                 l1_per_interval: float, l2_per_interval: float, reason: str = "",
                 intervals_per_person: int | None = None, protected_period_days: int | None = None,
                 per_count: int = 1) -> PrivacyUnit:
    """The unit ``privacy.unit`` (and ``privacy.w``) name, sized by the data set."""
    if name not in UNITS:
        raise UnitError(f"privacy.unit: must be one of {', '.join(UNITS)}, got {name!r}")
    if name == "w-event":
        if w is None or isinstance(w, bool) or not isinstance(w, int) or w < 1:
            raise UnitError(f"privacy.w: the w-event unit needs a whole number of intervals >= 1, got {w!r}")
        intervals = w
    elif w is not None:
        raise UnitError(f"privacy.w: only the w-event unit takes w (privacy.unit is {name!r}); leave it null")
    elif name == "person":
        if protected_period_days is None:
            raise UnitError("privacy.unit: the person unit needs the data set's protected period "
                            "(privacy.protected_period_days in its spec)")
        intervals = protected_period_days * steps_per_day
    else:
        intervals = {"day": steps_per_day, "week": 7 * steps_per_day}.get(name, 1)
    return PrivacyUnit(name, intervals, interval_minutes, counts_per_interval, l1_per_interval, l2_per_interval,
                       reason, intervals_per_person, per_count)
