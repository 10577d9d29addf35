"""The privacy budget ledger of one data set: what has been spent, per privacy unit.

The ledger is a JSON file beside the data (the project uses ``<root>/privacy_ledger.json``)::

    {"format": 1, "total_epsilon": 1000.0,
     "entries": [{"key": ..., "epsilon": ..., "delta": ..., "unit": ..., "mode": ...,
                  "description": ..., "data_version": ..., "charged_at": ...}, ...]}

Rules
-----
* **Charge before touching data.** :meth:`PrivacyLedger.check` raises
  :class:`BudgetExceededError` if a charge would exceed the total; callers check while
  planning, then :meth:`PrivacyLedger.charge` before the mechanism reads the data (``charge``
  checks again, under the lock, so two runs cannot both take the last of the budget). A
  release or training killed after its charge keeps it: whatever it had disclosed is paid
  for, and repeating it (same key) costs nothing more.
* **Idempotent per key.** The caller derives ``key`` from the data version, the
  configuration and the seed: running the same deterministic release again discloses
  nothing new, so charging an existing key costs nothing and returns the first entry.
  A key charged again with a different epsilon, delta or unit is refused (``ValueError``):
  the key derivation is then missing something.
* **Basic composition per unit.** ``spent(unit)`` is the sum of the epsilons charged for
  that unit (and ``spent_delta`` the sum of deltas): valid for any sequence of releases,
  adaptive ones included, and loose. Both mechanisms state the declared privacy unit in the
  same words (:meth:`dpforecast.privacy.unit.PrivacyUnit.describe`), so an IP release and a
  DP-SGD training of the same data on the same unit add up on one line; different units
  (an event, a day, the study's window) are tracked separately, since converting one into
  another needs an assumption about how many of them a person touches. The total applies
  to each unit.
* **Safe writes.** Every change is written with :func:`dpforecast.io.write_json` (temporary
  file, then ``os.replace``) while holding an exclusive ``fcntl.flock`` on
  ``<ledger>.lock``; readers take a shared lock. Concurrent writers on one machine do not
  lose entries. (``flock`` is not reliable on network file systems.)
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import math
import os
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from dpforecast.io import write_json

FORMAT = 1
#: Relative slack when comparing sums of floats with the total.
_RTOL = 1e-12


class BudgetExceededError(RuntimeError):
    """A charge would take the ledger's spending for one unit past its total."""


@dataclass(frozen=True)
class Entry:
    key: str
    epsilon: float
    delta: float
    unit: str
    mode: str
    description: str
    data_version: str
    charged_at: str


class PrivacyLedger:
    """``PrivacyLedger(path, total_epsilon)``: the budget of the data set whose ledger is ``path``.

    ``total_epsilon`` is the caller's current budget per unit (``privacy.budget_epsilon``);
    it is recorded in the file on every charge, but the value passed here is the one
    enforced.
    """

    def __init__(self, path: str | Path, total_epsilon: float) -> None:
        total_epsilon = float(total_epsilon)
        if not (math.isfinite(total_epsilon) and total_epsilon > 0):
            raise ValueError(f"privacy.budget_epsilon: must be a positive finite number, got {total_epsilon!r}")
        self.path = Path(path)
        self.total_epsilon = total_epsilon
        self.lock_path = self.path.with_name(self.path.name + ".lock")

    # ------------------------------------------------------------------ storage

    @contextlib.contextmanager
    def _locked(self, exclusive: bool) -> Iterator[None]:
        self.lock_path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def _read(self) -> list[Entry]:
        if not self.path.exists():
            return []
        try:
            data = json.loads(self.path.read_text())
            return [Entry(**e) for e in data["entries"]]
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"{self.path}: not a privacy ledger ({exc}); refusing to overwrite it") from exc

    def _write(self, entries: list[Entry]) -> None:
        write_json(
            self.path,
            {"format": FORMAT, "total_epsilon": self.total_epsilon, "entries": [asdict(e) for e in entries]},
        )

    # ------------------------------------------------------------------ queries

    def entries(self) -> list[Entry]:
        with self._locked(exclusive=False):
            return self._read()

    def spent(self, unit: str) -> float:
        """Sum of the epsilons charged for ``unit`` (basic composition)."""
        return _spent(self.entries(), unit)

    def spent_delta(self, unit: str) -> float:
        return math.fsum(e.delta for e in self.entries() if e.unit == unit)

    def remaining(self, unit: str) -> float:
        return max(0.0, self.total_epsilon - self.spent(unit))

    def would_exceed(self, epsilon: float, unit: str, key: str | None = None) -> bool:
        """Whether charging ``epsilon`` for ``unit`` would exceed the total (a known ``key`` is free)."""
        return self._refusal(self.entries(), float(epsilon), unit, key) is not None

    def check(self, epsilon: float, unit: str, key: str | None = None) -> None:
        """Raise :class:`BudgetExceededError` if charging ``epsilon`` would exceed the total.

        Call it before touching the data. Reads only: the ledger file is not changed.
        """
        message = self._refusal(self.entries(), float(epsilon), unit, key)
        if message:
            raise BudgetExceededError(message)

    def _refusal(self, entries: list[Entry], epsilon: float, unit: str, key: str | None) -> str | None:
        _check_epsilon(epsilon)
        if key is not None and any(e.key == key for e in entries):
            return None
        spent = _spent(entries, unit)
        if spent + epsilon <= self.total_epsilon * (1 + _RTOL):
            return None
        return (
            f"privacy budget exceeded for unit {unit!r}: spent {spent:.6g} + requested {epsilon:.6g} "
            f"= {spent + epsilon:.6g} > total {self.total_epsilon:.6g} (privacy.budget_epsilon, "
            f"ledger {self.path})"
        )

    # ------------------------------------------------------------------ charge

    def charge(
        self,
        key: str,
        epsilon: float,
        delta: float,
        unit: str,
        mode: str,
        description: str,
        data_version: str,
    ) -> Entry:
        """Record a release; return its entry (the existing one if ``key`` was charged before).

        Raises :class:`BudgetExceededError` (nothing written) if it would exceed the total.
        """
        epsilon, delta = float(epsilon), float(delta)
        _check_epsilon(epsilon)
        if not (0.0 <= delta < 1.0):
            raise ValueError(f"delta must be in [0, 1), got {delta!r}")
        if not key or not unit:
            raise ValueError("a ledger entry needs a key and a unit")
        with self._locked(exclusive=True):
            entries = self._read()
            for e in entries:
                if e.key == key:
                    if (e.epsilon, e.delta, e.unit) != (epsilon, delta, unit):
                        raise ValueError(
                            f"ledger key {key!r} was charged with epsilon={e.epsilon}, delta={e.delta}, "
                            f"unit={e.unit!r}; now epsilon={epsilon}, delta={delta}, unit={unit!r}: the key "
                            f"must change when the release changes"
                        )
                    return e
            message = self._refusal(entries, epsilon, unit, None)
            if message:
                raise BudgetExceededError(message)
            entry = Entry(
                key=key,
                epsilon=epsilon,
                delta=delta,
                unit=unit,
                mode=mode,
                description=description,
                data_version=data_version,
                charged_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
            )
            self._write([*entries, entry])
            return entry

    def to_json(self) -> dict[str, Any]:
        entries = self.entries()
        units = sorted({e.unit for e in entries})
        return {
            "path": str(self.path),
            "total_epsilon": self.total_epsilon,
            "spent": {u: _spent(entries, u) for u in units},
            "entries": [asdict(e) for e in entries],
        }


def _spent(entries: list[Entry], unit: str) -> float:
    return math.fsum(e.epsilon for e in entries if e.unit == unit)


def _check_epsilon(epsilon: float) -> None:
    if not (math.isfinite(epsilon) and epsilon >= 0):
        raise ValueError(
            f"epsilon must be a finite number >= 0, got {epsilon!r} (a non-private run cannot be charged)"
        )
