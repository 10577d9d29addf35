"""The privacy ledger: budgets, idempotent keys, concurrency, kills, locks and refusals, on SQLite and PostgreSQL."""

from __future__ import annotations

import multiprocessing as mp
import os
import random
import signal
import sqlite3
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from dpforecast.privacy.charges import (
    GaussianRelease,
    Mechanism,
    Vacuous,
    compose,
    gaussian_epsilon,
)
from dpforecast.privacy.ledger import (
    BudgetExceededError,
    LedgerError,
    PrivacyLedger,
    format_report,
    ledger_location,
)

DATASET = "montreuil"
DELTA = 1e-7
SIGMA = 10.0
PG_URL = os.environ.get("DPFORECAST_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


def release(sigma: float = SIGMA) -> dict[str, Mechanism]:
    """Gaussian noisy counts: one event changes one count, one day 48 of them."""
    return {"event": GaussianRelease(sigma, 1.0), "day": GaussianRelease(sigma, 48**0.5)}


def event_epsilon(charges: int) -> float:
    """Exact epsilon on an event of ``charges`` releases (they compose into one Gaussian)."""
    return gaussian_epsilon(charges**0.5 / SIGMA, DELTA)


def budget_for(charges: int) -> float:
    """An event budget that admits exactly ``charges`` releases."""
    return (event_epsilon(charges) + event_epsilon(charges + 1)) / 2


@dataclass(frozen=True)
class Backend:
    name: str
    location: str
    table: str

    def ledger(self, event_budget: float | None = 10.0, dataset: str = DATASET, **kwargs) -> PrivacyLedger:
        return PrivacyLedger(self.location, dataset, {"event": event_budget, "day": None}, DELTA, table=self.table,
                             **kwargs)


def _pg_unreachable() -> str | None:
    try:
        import psycopg2

        psycopg2.connect(PG_URL, connect_timeout=3).close()
    except Exception as exc:  # any failure means: no server to test against
        return f"PostgreSQL not reachable at {PG_URL} ({type(exc).__name__}); set DPFORECAST_TEST_PG"
    return None


def _pg(*statements: str) -> list[tuple]:
    import psycopg2

    conn = psycopg2.connect(PG_URL)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            for statement in statements:
                cur.execute(statement)
            return cur.fetchall() if cur.description else []
    finally:
        conn.close()


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request, tmp_path: Path) -> Iterator[Backend]:
    if request.param == "sqlite":
        yield Backend("sqlite", str(tmp_path / "ledgers" / f"{DATASET}.sqlite"), "privacy_charges")
        return
    reason = _pg_unreachable()
    if reason:
        pytest.skip(reason)
    table = f"test_ledger_{uuid.uuid4().hex[:12]}"
    yield Backend("postgres", PG_URL, table)
    _pg(f"DROP TABLE IF EXISTS {table}", f"DROP TABLE IF EXISTS {table}_schema")


# ---------------------------------------------------------------- budgets and keys


def test_budget_binds_with_a_one_line_message(backend: Backend):
    ledger = backend.ledger(event_budget=budget_for(2))
    ledger.charge("a", release(), "ip", "counts a", "v1")
    ledger.charge("b", release(), "ip", "counts b", "v1")
    ledger.check("a", release())  # a known key is free
    with pytest.raises(BudgetExceededError) as info:
        ledger.check("c", release())
    message = str(info.value)
    assert "\n" not in message
    for part in ("unit 'event'", f"spent epsilon {ledger.spend('event').epsilon:.4g} over 2 charges",
                 f"this charge alone {event_epsilon(1):.4g}", f"budget {budget_for(2):.4g}", ledger.location):
        assert part in message, part
    composed = compose([GaussianRelease(SIGMA, 1.0)] * 3, DELTA).epsilon
    assert f"composed {composed:.4g}" in message
    with pytest.raises(BudgetExceededError, match="unit 'event'"):
        ledger.charge("c", release(), "ip", "counts c", "v1")
    assert [c.key for c in ledger.charges()] == ["a", "b"]
    spend = ledger.spend("event")
    assert spend.n == 2 and spend.epsilon == pytest.approx(event_epsilon(2), abs=1e-3)
    assert spend.epsilon <= budget_for(2)


def test_tight_composition_admits_more_than_the_basic_sum(backend: Backend):
    # Four releases cost 2 x one release when composed, against 4 x (at delta/4) when summed.
    ledger = backend.ledger(event_budget=event_epsilon(4) + 0.01)
    for key in "abcd":
        ledger.charge(key, release(), "ip", key, "v1")
    spend = ledger.spend("event")
    assert spend.epsilon <= ledger.budgets["event"] < spend.epsilon_basic


def test_same_key_costs_nothing(backend: Backend):
    ledger = backend.ledger(event_budget=budget_for(1))
    first = ledger.charge("k", release(), "ip", "counts", "v1")
    again = ledger.charge("k", release(), "ip", "another description", "v2")
    assert again == first and len(ledger.charges()) == 1
    assert first.budgets == {"event": budget_for(1), "day": None} and first.delta == DELTA


def test_same_key_with_other_records_is_refused(backend: Backend):
    ledger = backend.ledger()
    ledger.charge("k", release(), "ip", "counts", "v1")
    with pytest.raises(ValueError, match="key 'k'"):
        ledger.charge("k", release(sigma=5.0), "ip", "counts", "v1")
    with pytest.raises(ValueError, match="key 'k'"):
        ledger.check("k", release(sigma=5.0))


def test_every_tracked_unit_needs_a_record(backend: Backend):
    ledger = backend.ledger()
    with pytest.raises(ValueError, match=r"missing \['day'\]"):
        ledger.charge("k", {"event": GaussianRelease(SIGMA, 1.0)}, "ip", "counts", "v1")


def test_vacuous_is_refused_on_a_budget_and_reported_where_unlimited(backend: Backend):
    ledger = backend.ledger()
    every_window = Vacuous("DP-SGD: every window holds this day")
    with pytest.raises(BudgetExceededError, match="vacuous: DP-SGD: every window"):
        ledger.charge("v", {"event": every_window, "day": every_window}, "gp", "training", "v1")
    ledger.charge("w", {"event": GaussianRelease(SIGMA, 1.0), "day": every_window}, "gp", "training", "v1")
    report = ledger.report()
    day = next(u for u in report.units if u.unit == "day")
    assert day.spend.vacuous_reason == every_window.reason and day.remaining is None
    text = format_report(report)
    assert "day: vacuous: DP-SGD: every window holds this day" in text


def test_a_fresh_clone_sees_the_spend_and_datasets_are_separate(backend: Backend):
    backend.ledger().charge("a", release(), "ip", "counts", "v1")
    clone = backend.ledger()  # another process, another clone: same location
    assert [c.key for c in clone.charges()] == ["a"]
    assert clone.spend("event").epsilon == pytest.approx(event_epsilon(1), abs=1e-3)
    other = backend.ledger(dataset="another-city")
    assert other.charges() == [] and other.spend("event").n == 0


def test_report_and_format(backend: Backend):
    ledger = backend.ledger(event_budget=5.0)
    ledger.charge("0123456789abcdef", release(), "ip", "noisy counts", "v1")
    report = ledger.report()
    event = report.units[0]
    assert (event.unit, event.budget, event.spend.n) == ("event", 5.0, 1)
    assert event.remaining == pytest.approx(5.0 - event.spend.epsilon)
    lines = format_report(report).splitlines()
    assert lines[0].endswith(ledger.location)
    assert lines[1].split() == ["unit", "epsilon", "(pld)", "rdp", "bound", "basic", "sum", "delta", "budget", "remaining",
                                "charges"]
    assert lines[2].split()[0] == "event" and lines[2].split()[-1] == "1"
    assert "noisy counts" in lines[-1] and "0123456789ab" in lines[-1] and "0123456789abc" not in lines[-1]


# ---------------------------------------------------------------- processes


def _charge_in_child(backend: Backend, budget: float, key: str, barrier, results) -> None:
    ledger = backend.ledger(event_budget=budget)
    compose(list(release().values()), DELTA)  # import and warm up before the race
    barrier.wait()
    try:
        ledger.charge(key, release(), "ip", key, "v1")
        results.put((key, "charged"))
    except BudgetExceededError:
        results.put((key, "refused"))


def test_concurrent_charges_never_overshoot(backend: Backend):
    ctx = mp.get_context("spawn")
    processes, admitted = 3, 2
    barrier, results = ctx.Barrier(processes), ctx.Queue()
    children = [ctx.Process(target=_charge_in_child, args=(backend, budget_for(admitted), f"p{i}", barrier, results))
                for i in range(processes)]
    for child in children:
        child.start()
    outcomes = dict(results.get(timeout=60) for _ in children)
    for child in children:
        child.join(timeout=30)
        assert child.exitcode == 0
    ledger = backend.ledger(event_budget=budget_for(admitted))
    charged = sorted(k for k, v in outcomes.items() if v == "charged")
    assert len(charged) == admitted and sorted(c.key for c in ledger.charges()) == charged
    assert ledger.spend("event").epsilon <= budget_for(admitted)


def _charge_until_killed(backend: Backend, prefix: str, log: str, ready) -> None:
    ledger = backend.ledger(event_budget=1e6)
    ledger.charge(f"{prefix}-warm", release(), "ip", "warm", "v1")
    with open(log, "a") as out:
        out.write(f"{prefix}-warm\n")
        out.flush()
        ready.set()
        for i in range(100_000):
            key = f"{prefix}-{i}"
            ledger.charge(key, release(), "ip", key, "v1")
            out.write(key + "\n")  # only after the commit returned
            out.flush()


def test_a_kill_mid_charge_leaves_whole_charges(backend: Backend, tmp_path: Path):
    ctx = mp.get_context("spawn")
    log = tmp_path / "committed.txt"
    rng = random.Random(0)
    for round_ in range(3):
        ready = ctx.Event()
        child = ctx.Process(target=_charge_until_killed, args=(backend, f"r{round_}", str(log), ready))
        child.start()
        assert ready.wait(timeout=60)
        time.sleep(rng.uniform(0.05, 0.4))
        os.kill(child.pid, signal.SIGKILL)
        child.join(timeout=30)
    ledger = backend.ledger(event_budget=1e6, lock_timeout=5.0)
    keys = [c.key for c in ledger.charges()]  # readable, and the lock was released
    committed = log.read_text().split()
    assert set(committed) <= set(keys)  # no committed charge lost
    assert len(keys) <= len(committed) + 3  # at most the one in flight per round (committed, not yet logged)
    assert all(set(c.mechanisms) == {"event", "day"} for c in ledger.charges())  # whole records
    ledger.charge("after", release(), "ip", "after", "v1")  # still writable
    if backend.name == "sqlite":
        with sqlite3.connect(backend.location) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)


def _stall_after_insert(backend: Backend, inserted) -> None:
    """Charge "a", then charge "b" but stop between its INSERT and the COMMIT (a test-only patch)."""
    from dpforecast.privacy import ledger_store

    ledger = backend.ledger()
    ledger.charge("a", release(), "ip", "a", "v1")
    make = ledger_store.Transaction

    def stalling(charges, insert):
        def insert_then_stall(charge):
            insert(charge)
            inserted.set()
            time.sleep(600)

        return make(charges, insert_then_stall)

    ledger_store.Transaction = stalling
    ledger.charge("b", release(), "ip", "b", "v1")


def test_a_kill_between_insert_and_commit_leaves_nothing_half_done(backend: Backend):
    ctx = mp.get_context("spawn")
    inserted = ctx.Event()
    child = ctx.Process(target=_stall_after_insert, args=(backend, inserted))
    child.start()
    assert inserted.wait(timeout=60)
    os.kill(child.pid, signal.SIGKILL)
    child.join(timeout=30)
    if backend.name == "sqlite":  # the uncommitted insert is in the database file, its undo in the journal
        assert Path(backend.location + "-journal").exists()
    ledger = backend.ledger(lock_timeout=5.0)
    assert [c.key for c in ledger.charges()] == ["a"]
    ledger.charge("b", release(), "ip", "b again", "v1")
    assert [c.key for c in ledger.charges()] == ["a", "b"]


# ---------------------------------------------------------------- locks and refusals


def test_a_held_lock_times_out_naming_the_ledger(backend: Backend):
    backend.ledger().charge("a", release(), "ip", "counts", "v1")
    if backend.name == "sqlite":
        holder = sqlite3.connect(backend.location, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
    else:
        import psycopg2

        holder = psycopg2.connect(PG_URL)
        holder.cursor().execute(f"LOCK TABLE {backend.table} IN SHARE ROW EXCLUSIVE MODE")
    try:
        ledger = backend.ledger(lock_timeout=0.3)
        start = time.monotonic()
        with pytest.raises(LedgerError, match="is locked: another process") as info:
            ledger.charge("b", release(), "ip", "counts", "v1")
        assert time.monotonic() - start < 10
        assert ledger.location in str(info.value) and "\n" not in str(info.value)
        assert [c.key for c in ledger.charges()] == ["a"]  # readers are not blocked
    finally:
        holder.rollback()
        holder.close()


def test_wrong_schema_version_is_refused_untouched(backend: Backend):
    backend.ledger().charge("a", release(), "ip", "counts", "v1")
    update = f"UPDATE {backend.table}_schema SET version = 2"
    if backend.name == "sqlite":
        with sqlite3.connect(backend.location) as conn:
            conn.execute(update)
        before = Path(backend.location).read_bytes()
    else:
        _pg(update)
    ledger = backend.ledger()
    for action in (ledger.charges, lambda: ledger.charge("b", release(), "ip", "counts", "v1")):
        with pytest.raises(LedgerError, match=r"schema \[2\].*expected version 1; refusing"):
            action()
    if backend.name == "sqlite":
        assert Path(backend.location).read_bytes() == before
    else:
        assert _pg(f"SELECT count(*) FROM {backend.table}") == [(1,)]


def test_missing_ledger_reads_empty_and_creates_nothing(backend: Backend):
    ledger = backend.ledger()
    report = ledger.report()
    assert report.charges == () and all(u.spend.epsilon == 0.0 for u in report.units)
    if backend.name == "sqlite":
        assert not Path(backend.location).parent.exists()
    else:
        assert _pg(f"SELECT to_regclass('{backend.table}') IS NULL") == [(True,)]


def test_not_a_database_is_refused_untouched(tmp_path: Path):
    path = tmp_path / "ledger.sqlite"
    garbage = b"this is not a SQLite database\n" * 200
    path.write_bytes(garbage)
    ledger = PrivacyLedger(str(path), DATASET, {"event": 1.0}, DELTA)
    for action in (ledger.report, lambda: ledger.charge("a", {"event": GaussianRelease(SIGMA, 1)}, "ip", "",
                                                        "v1")):
        with pytest.raises(LedgerError, match="not a SQLite database.*refusing"):
            action()
    assert path.read_bytes() == garbage and sorted(os.listdir(tmp_path)) == ["ledger.sqlite"]


def test_foreign_sqlite_file_is_refused_untouched(tmp_path: Path):
    path = tmp_path / "other.sqlite"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE notes (text TEXT)")
    before = path.read_bytes()
    ledger = PrivacyLedger(str(path), DATASET, {"event": 1.0}, DELTA)
    with pytest.raises(LedgerError, match=r"not a dpforecast privacy ledger \(tables \['notes'\]\)"):
        ledger.charge("a", {"event": GaussianRelease(SIGMA, 1)}, "ip", "", "v1")
    assert path.read_bytes() == before


def test_an_unreadable_charge_is_a_ledger_error(tmp_path: Path):
    path = tmp_path / "ledger.sqlite"
    ledger = PrivacyLedger(str(path), DATASET, {"event": 1.0}, DELTA)
    ledger.charge("a", {"event": GaussianRelease(SIGMA, 1)}, "ip", "", "v1")
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE privacy_charges SET mechanisms = '{\"event\": {\"kind\": \"magic\"}}'")
    with pytest.raises(LedgerError, match="charge 1 is unreadable .*unknown mechanism kind 'magic'"):
        ledger.report()


def test_unopenable_locations(tmp_path: Path):
    records = {"event": GaussianRelease(SIGMA, 1)}
    with pytest.raises(LedgerError, match="is a directory"):
        PrivacyLedger(str(tmp_path), DATASET, {"event": 1.0}, DELTA).charge("a", records, "ip", "", "v1")
    (tmp_path / "file").write_text("")
    with pytest.raises(LedgerError, match="cannot create privacy ledger .*file/ledgers/x.sqlite"):
        PrivacyLedger(str(tmp_path / "file" / "ledgers" / "x.sqlite"), DATASET, {"event": 1.0}, DELTA).charge(
            "a", records, "ip", "", "v1")


def test_unreachable_postgres_is_a_ledger_error():
    ledger = PrivacyLedger("postgresql://someone:secret@127.0.0.1:1/db", DATASET, {"event": 1.0}, DELTA)
    with pytest.raises(LedgerError, match="cannot connect") as info:
        ledger.charges()
    assert "secret" not in str(info.value) and "***" in str(info.value)


def test_ledger_location(monkeypatch, tmp_path: Path):
    for name in ("DPFORECAST_LEDGER", "DPFORECAST_HOME", "XDG_DATA_HOME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert ledger_location("ds") == str(tmp_path / ".local/share/dpforecast/ledgers/ds.sqlite")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert ledger_location("ds") == str(tmp_path / "xdg/dpforecast/ledgers/ds.sqlite")
    monkeypatch.setenv("DPFORECAST_HOME", str(tmp_path / "home"))
    assert ledger_location("ds") == str(tmp_path / "home/ledgers/ds.sqlite")
    monkeypatch.setenv("DPFORECAST_LEDGER", "postgresql://db/ledgers")
    assert ledger_location("ds") == "postgresql://db/ledgers"
    with pytest.raises(ValueError, match="data set id"):
        ledger_location("../escape")
