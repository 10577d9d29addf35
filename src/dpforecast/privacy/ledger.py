"""The privacy budget ledger of one data set: every release's mechanism, per privacy unit.

The ledger belongs to the data set, not to a clone of the repository: it lives at
:func:`ledger_location` (a SQLite file under the user's data directory, or a PostgreSQL
database for the production profile), so every clone, run and machine spends from the same
budget. It records *mechanisms* (:mod:`dpforecast.privacy.charges`), not epsilons, and
composes all charges on a unit tightly (privacy loss distributions) at the budget's delta.

API
---
``ledger_location(dataset_id) -> str``
    ``$DPFORECAST_LEDGER`` (a SQLite path or a ``postgresql://`` URL), else
    ``$DPFORECAST_HOME/ledgers/<id>.sqlite``, else ``$XDG_DATA_HOME`` (default
    ``~/.local/share``) ``/dpforecast/ledgers/<id>.sqlite``.
``PrivacyLedger(location, dataset, budgets, delta, *, lock_timeout=30.0, table="privacy_charges")``
    ``budgets``: epsilon per tracked unit (``None``: tracked, not limited); ``delta``: the
    delta at which every unit's epsilon is computed. Methods:

    * ``charges() -> list[Charge]``; ``spend(unit) -> UnitSpend``; ``report() -> LedgerReport``.
    * ``check(key, mechanisms)``: raise :class:`BudgetExceededError` if the charge would take a
      unit past its budget (a known key is free). Reads only.
    * ``charge(key, mechanisms, mode, description, data_version) -> Charge``: check and record
      in one locked transaction.
``format_report(report) -> str``
    The text table of ``dpforecast ledger``.

Rules
-----
* **Charge before touching data**, with ``mechanisms`` giving the mechanism on *every* tracked
  unit. A run killed after its charge keeps it: what it disclosed is paid for.
* **Idempotent per key.** The caller derives ``key`` from the data version, configuration and
  seed: rerunning a deterministic release discloses nothing new, so an existing key with the
  same records costs nothing; with other records it is refused (``ValueError``): the key
  derivation is missing something.
* **Budgets bind on the PLD epsilon** of all charges on the unit composed with the new one
  (:func:`~dpforecast.privacy.charges.compose`). A charge recorded before a unit was tracked
  has no record on it and counts as vacuous there (infinite epsilon, reason shown), never as
  free.
* **Errors are one line**: :class:`BudgetExceededError` names the unit, the spend so far,
  the charge's own epsilon, the composed total, the budget and the ledger;
  :class:`LedgerError` a ledger that cannot be opened, stays locked, or is not a ledger.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from dpforecast.privacy.charges import (
    UNITS,
    Mechanism,
    UnitSpend,
    Vacuous,
    compose,
    composed_epsilon,
    epsilon_of,
)
from dpforecast.privacy.ledger_store import Charge, LedgerError, open_store

__all__ = ["BudgetExceededError", "Charge", "LedgerError", "LedgerReport", "PrivacyLedger", "UnitReport",
           "format_report", "ledger_location"]

#: Relative slack when comparing a composed epsilon with its budget.
_RTOL = 1e-12
_DATASET_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


class BudgetExceededError(RuntimeError):
    """A charge would take one unit's composed epsilon past its budget."""


def state_home() -> Path:
    """The data owner's private state, outside every repository: ``$DPFORECAST_HOME``, else
    ``$XDG_DATA_HOME/dpforecast`` (``~/.local/share/dpforecast``)."""
    if os.environ.get("DPFORECAST_HOME"):
        return Path(os.environ["DPFORECAST_HOME"]).expanduser()
    xdg = os.environ.get("XDG_DATA_HOME", "")
    return (Path(xdg) if os.path.isabs(xdg) else Path.home() / ".local" / "share") / "dpforecast"


def ledger_location(dataset_id: str) -> str:
    """Where the ledger of ``dataset_id`` lives: outside any repository, shared by its clones
    (``$DPFORECAST_LEDGER``, a SQLite path or a ``postgresql://`` URL, else a SQLite file
    under :func:`state_home`)."""
    if not _DATASET_ID.fullmatch(dataset_id):
        raise ValueError(f"data set id must match {_DATASET_ID.pattern} (it names a file), got {dataset_id!r}")
    if os.environ.get("DPFORECAST_LEDGER"):
        return os.environ["DPFORECAST_LEDGER"]
    return str(state_home() / "ledgers" / f"{dataset_id}.sqlite")


@dataclass(frozen=True)
class UnitReport:
    """One unit's composed spend against its budget (``None``: tracked, not limited)."""

    unit: str
    spend: UnitSpend
    budget: float | None

    @property
    def remaining(self) -> float | None:
        return None if self.budget is None else max(0.0, self.budget - self.spend.epsilon)


@dataclass(frozen=True)
class LedgerReport:
    location: str
    dataset: str
    delta: float
    units: tuple[UnitReport, ...]
    charges: tuple[Charge, ...]


def records_on(charges: list[Charge], unit: str) -> list[Mechanism]:
    """Each charge's mechanism on ``unit``; a charge made before the unit was tracked counts
    as vacuous there (it was never accounted on it), never as free."""
    return [c.mechanisms[unit] if unit in c.mechanisms
            else Vacuous(f"charge {c.key[:12]} recorded no mechanism on unit {unit!r}") for c in charges]


class PrivacyLedger:
    """The ledger of ``dataset`` at ``location``, enforcing ``budgets`` at ``delta`` (see the module)."""

    def __init__(self, location: str, dataset: str, budgets: Mapping[str, float | None], delta: float, *,
                 lock_timeout: float = 30.0, table: str = "privacy_charges") -> None:
        if not dataset:
            raise ValueError("a ledger needs the data set's id")
        if not budgets or not set(budgets) <= set(UNITS):
            raise ValueError(f"budgets must name tracked units among {UNITS}, got {sorted(budgets)}")
        for unit, budget in budgets.items():
            if budget is not None and not (math.isfinite(budget) and budget > 0):
                raise ValueError(f"budget on unit {unit!r} must be a positive finite epsilon or None, got {budget!r}")
        if not 0.0 < delta < 1.0:
            raise ValueError(f"delta must be in (0, 1), got {delta!r}")
        self.store = open_store(str(location), table, lock_timeout)
        self.dataset = dataset
        self.units = tuple(u for u in UNITS if u in budgets)
        self.budgets = {u: (None if budgets[u] is None else float(budgets[u])) for u in self.units}
        self.delta = float(delta)

    @property
    def location(self) -> str:
        """The ledger's file or database, as messages print it (no password)."""
        return self.store.location

    def charges(self) -> list[Charge]:
        return self.store.read(self.dataset)

    def spend(self, unit: str) -> UnitSpend:
        """All charges' records on ``unit`` composed at the ledger's delta."""
        if unit not in UNITS:
            raise ValueError(f"unit must be one of {UNITS}, got {unit!r}")
        return compose(records_on(self.charges(), unit), self.delta)

    def report(self) -> LedgerReport:
        charges = self.charges()
        units = tuple(UnitReport(u, compose(records_on(charges, u), self.delta), self.budgets[u]) for u in self.units)
        return LedgerReport(self.location, self.dataset, self.delta, units, tuple(charges))

    def check(self, key: str, mechanisms: Mapping[str, Mechanism]) -> None:
        """Raise :class:`BudgetExceededError` if charging would exceed a budget; changes nothing.

        A known key is free (``ValueError`` if its records differ, as :meth:`charge` would)."""
        mechanisms = self._validated(key, mechanisms)
        charges = self.charges()
        if self._known(charges, key, mechanisms) is None:
            self._enforce(charges, mechanisms)

    def charge(self, key: str, mechanisms: Mapping[str, Mechanism], mode: str, description: str,
               data_version: str) -> Charge:
        """Record a release, or return the existing charge of ``key``; check and insert under one lock.

        Raises :class:`BudgetExceededError` (nothing written) if a unit would exceed its budget.
        """
        mechanisms = self._validated(key, mechanisms)
        with self.store.transaction(self.dataset) as tx:
            known = self._known(tx.charges, key, mechanisms)
            if known is not None:
                return known
            self._enforce(tx.charges, mechanisms)
            charge = Charge(key=key, mode=mode, description=description, data_version=data_version,
                            charged_at=datetime.now(UTC).isoformat(timespec="seconds"),
                            delta=self.delta, budgets=dict(self.budgets), mechanisms=mechanisms)
            tx.insert(charge)
            return charge

    def _validated(self, key: str, mechanisms: Mapping[str, Mechanism]) -> dict[str, Mechanism]:
        if not key:
            raise ValueError("a charge needs a key")
        missing = [u for u in self.units if u not in mechanisms]
        unknown = [u for u in mechanisms if u not in UNITS]
        if missing or unknown:
            raise ValueError(f"charge {key!r} must give its mechanism on every tracked unit {list(self.units)}: "
                             f"missing {missing}, unknown {unknown}")
        return {u: mechanisms[u] for u in UNITS if u in mechanisms}

    @staticmethod
    def _known(charges: list[Charge], key: str, mechanisms: dict[str, Mechanism]) -> Charge | None:
        for charge in charges:
            if charge.key == key:
                if dict(charge.mechanisms) != mechanisms:
                    raise ValueError(f"ledger key {key!r} was charged with {dict(charge.mechanisms)}, now "
                                     f"{mechanisms}: the key must change when the release changes")
                return charge
        return None

    def _enforce(self, charges: list[Charge], mechanisms: dict[str, Mechanism]) -> None:
        """Refuse if a budgeted unit's PLD epsilon, all charges and this one composed, exceeds its budget."""
        message = self.refusal(charges, [mechanisms], "this charge")
        if message:
            raise BudgetExceededError(message)

    def refusal(self, charges: list[Charge], planned: Sequence[Mapping[str, Mechanism]], label: str) -> str | None:
        """Why ``planned`` charges (each a mechanism per unit) on top of ``charges`` would pass a
        budgeted unit's budget, in one line (the unit, the spend so far, the planned charges' own
        composed epsilon, the total, the budget), or None. Reads nothing: the caller holds the
        charges (under the write lock for a charge, or as a snapshot for a forecast)."""
        for unit in self.units:
            budget = self.budgets[unit]
            if budget is None:
                continue
            spent = records_on(charges, unit)
            new = [m[unit] for m in planned]
            total = composed_epsilon([*spent, *new], self.delta)
            if total <= budget * (1 + _RTOL):
                continue
            reasons = "; ".join(dict.fromkeys(m.reason for m in [*spent, *new] if isinstance(m, Vacuous)))
            alone = epsilon_of(new[0], self.delta) if len(new) == 1 else composed_epsilon(new, self.delta)
            message = (f"privacy budget exceeded on unit {unit!r} of data set {self.dataset!r}: spent epsilon "
                       f"{_eps(composed_epsilon(spent, self.delta))} over {len(charges)} charges, {label} alone "
                       f"{_eps(alone)}, composed {_eps(total)} > budget {budget:.4g} "
                       f"(PLD at delta {self.delta:g}){f' (vacuous: {reasons})' if reasons else ''}; "
                       f"ledger {self.location}")
            return re.sub(r"\s*[\r\n]+\s*", " ", message)
        return None


def _eps(value: float) -> str:
    return "vacuous" if math.isinf(value) else f"{value:.4g}"


def _table(rows: list[list[str]]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]


def format_report(report: LedgerReport) -> str:
    """One line per unit (PLD epsilon, RDP bound, basic sum, delta, budget, remaining, charges),
    the reasons of vacuous units, then one line per charge with its own epsilon on each unit."""
    lines = [f"privacy ledger of data set {report.dataset!r}: {report.location}"]
    rows = [["unit", "epsilon (pld)", "rdp bound", "basic sum", "delta", "budget", "remaining", "charges"]]
    for u in report.units:
        s = u.spend
        rows.append([u.unit, _eps(s.epsilon), _eps(s.epsilon_rdp), _eps(s.epsilon_basic), f"{s.delta:g}",
                     "-" if u.budget is None else f"{u.budget:.4g}",
                     "-" if u.remaining is None else f"{u.remaining:.4g}", str(s.n)])
    lines += _table(rows)
    lines += [f"  {u.unit}: vacuous: {u.spend.vacuous_reason}" for u in report.units if u.spend.vacuous_reason]
    if report.charges:
        units = [u.unit for u in report.units]
        rows = [["charged at", "mode", "description", "key", *units]]
        for c in report.charges:
            own = [_eps(epsilon_of(c.mechanisms[u], report.delta)) if u in c.mechanisms else "-" for u in units]
            rows.append([c.charged_at, c.mode, c.description, c.key[:12], *own])
        lines += ["", *_table(rows)]
    else:
        lines.append("no charges")
    return "\n".join(lines)
