"""The privacy budget ledger: charges, idempotent keys, refusals, persistence, concurrency."""

from __future__ import annotations

import json
import multiprocessing as mp
from pathlib import Path

import pytest

from dpforecast.privacy.ledger import BudgetExceededError, Entry, PrivacyLedger

WINDOW = "one training window (6 input intervals and the target interval)"
COUNT = "one person's presence in one zone during one 30-minute interval"


def _charge(ledger: PrivacyLedger, key: str, epsilon: float, unit: str = WINDOW) -> Entry:
    return ledger.charge(key, epsilon, 1e-7, unit, "gp", f"run {key}", "v1")


def test_charge_and_spent(tmp_path: Path):
    ledger = PrivacyLedger(tmp_path / "privacy_ledger.json", total_epsilon=1.0)
    assert ledger.spent(WINDOW) == 0.0
    entry = _charge(ledger, "a", 0.25)
    assert entry.key == "a" and entry.epsilon == 0.25 and entry.unit == WINDOW and entry.data_version == "v1"
    _charge(ledger, "b", 0.5)
    assert ledger.spent(WINDOW) == pytest.approx(0.75)
    assert ledger.spent_delta(WINDOW) == pytest.approx(2e-7)
    assert ledger.remaining(WINDOW) == pytest.approx(0.25)
    data = json.loads((tmp_path / "privacy_ledger.json").read_text())
    assert [e["key"] for e in data["entries"]] == ["a", "b"] and data["total_epsilon"] == 1.0


def test_same_key_costs_nothing(tmp_path: Path):
    ledger = PrivacyLedger(tmp_path / "l.json", total_epsilon=1.0)
    first = _charge(ledger, "k", 0.6)
    again = _charge(ledger, "k", 0.6)  # would exceed the total if it were charged twice
    assert again == first
    assert ledger.spent(WINDOW) == pytest.approx(0.6)
    assert len(ledger.entries()) == 1
    assert not ledger.would_exceed(0.6, WINDOW, key="k")
    ledger.check(0.6, WINDOW, key="k")


def test_same_key_with_another_release_is_refused(tmp_path: Path):
    ledger = PrivacyLedger(tmp_path / "l.json", total_epsilon=10.0)
    _charge(ledger, "k", 0.6)
    with pytest.raises(ValueError, match="key 'k'"):
        _charge(ledger, "k", 0.7)


def test_refused_before_exceeding_and_file_unchanged(tmp_path: Path):
    path = tmp_path / "l.json"
    ledger = PrivacyLedger(path, total_epsilon=1.0)
    _charge(ledger, "a", 0.75)
    before = path.read_bytes()
    assert ledger.would_exceed(0.5, WINDOW)
    assert not ledger.would_exceed(0.25, WINDOW)  # exactly the total is allowed
    with pytest.raises(BudgetExceededError) as info:
        ledger.check(0.5, WINDOW)
    message = str(info.value)
    for part in ("spent 0.75", "requested 0.5", "total 1", WINDOW):
        assert part in message
    assert path.read_bytes() == before
    with pytest.raises(BudgetExceededError):
        _charge(ledger, "b", 0.5)
    assert path.read_bytes() == before


def test_check_on_a_missing_ledger_writes_nothing(tmp_path: Path):
    path = tmp_path / "l.json"
    ledger = PrivacyLedger(path, total_epsilon=1.0)
    with pytest.raises(BudgetExceededError):
        ledger.check(2.0, WINDOW)
    assert not path.exists()


def test_persistence_across_instances(tmp_path: Path):
    path = tmp_path / "l.json"
    _charge(PrivacyLedger(path, 5.0), "a", 1.5)
    other = PrivacyLedger(path, 5.0)
    assert other.spent(WINDOW) == pytest.approx(1.5)
    _charge(other, "b", 1.0)
    assert PrivacyLedger(path, 5.0).spent(WINDOW) == pytest.approx(2.5)
    # The budget enforced is the caller's: a smaller one refuses what a larger one allowed.
    assert PrivacyLedger(path, 3.0).would_exceed(1.0, WINDOW)


def test_units_are_tracked_separately(tmp_path: Path):
    ledger = PrivacyLedger(tmp_path / "l.json", total_epsilon=1.0)
    _charge(ledger, "gp", 0.9, WINDOW)
    _charge(ledger, "ip", 0.9, COUNT)
    assert ledger.spent(WINDOW) == pytest.approx(0.9)
    assert ledger.spent(COUNT) == pytest.approx(0.9)
    assert ledger.would_exceed(0.2, WINDOW) and ledger.would_exceed(0.2, COUNT)
    assert set(ledger.to_json()["spent"]) == {WINDOW, COUNT}


def test_bad_values_refused(tmp_path: Path):
    ledger = PrivacyLedger(tmp_path / "l.json", total_epsilon=1.0)
    with pytest.raises(ValueError, match="non-private"):
        _charge(ledger, "x", float("inf"))
    with pytest.raises(ValueError):
        _charge(ledger, "x", -0.1)
    with pytest.raises(ValueError, match="budget_epsilon"):
        PrivacyLedger(tmp_path / "l.json", total_epsilon=0.0)


def test_not_a_ledger_is_not_overwritten(tmp_path: Path):
    path = tmp_path / "l.json"
    path.write_text("{not json")
    with pytest.raises(ValueError, match="not a privacy ledger"):
        _charge(PrivacyLedger(path, 1.0), "a", 0.1)
    assert path.read_text() == "{not json"


def _worker(path: str, prefix: str, count: int, barrier) -> None:
    ledger = PrivacyLedger(path, total_epsilon=1000.0)
    barrier.wait()  # start together, so the charges really interleave
    for i in range(count):
        ledger.charge(f"{prefix}-{i}", 0.01, 1e-7, WINDOW, "gp", "concurrent", "v1")


def test_concurrent_charges_lose_nothing(tmp_path: Path):
    """Two processes charge at once. Without the lock this loses about half the entries
    (checked by hand: 25-27 of 50 survive, each writer replacing the other's file)."""
    path = str(tmp_path / "l.json")
    ctx = mp.get_context("spawn")
    count = 25
    barrier = ctx.Barrier(2)
    procs = [ctx.Process(target=_worker, args=(path, p, count, barrier)) for p in ("p", "q")]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    entries = PrivacyLedger(path, 1000.0).entries()
    assert len(entries) == 2 * count
    assert len({e.key for e in entries}) == 2 * count
    assert PrivacyLedger(path, 1000.0).spent(WINDOW) == pytest.approx(0.5)
