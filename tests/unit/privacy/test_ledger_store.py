"""dpforecast.privacy.ledger_store: the ledger's two tables in a SQLite file, one transaction per charge,
and what is refused before any database is touched (PostgreSQL: tests/unit/privacy/test_ledger.py)."""

from __future__ import annotations

import sqlite3
import stat

import pytest

from dpforecast.privacy.charges import GaussianRelease
from dpforecast.privacy.ledger_store import (
    COLUMNS,
    SCHEMA_VERSION,
    Charge,
    LedgerError,
    PostgresStore,
    SqliteStore,
    open_store,
)


def _charge(key: str) -> Charge:
    return Charge(key=key, mode="ip", description="a release", data_version="v1", charged_at="2024-01-01T00:00:00+00:00",
                  delta=1e-6, budgets={"event": 8.0, "day": None}, mechanisms={"event": GaussianRelease(10.0, 1.0)})


def test_the_location_picks_the_database_and_bad_settings_are_refused():
    store = open_store("postgresql://me:s3cret@db.example/ledgers", "privacy_charges", 5.0)
    assert isinstance(store, PostgresStore)
    assert store.location == "postgresql://me:***@db.example/ledgers (table privacy_charges)"
    assert isinstance(open_store("~/ledgers/town.sqlite", "privacy_charges", 5.0), SqliteStore)
    assert not open_store("~/ledgers/town.sqlite", "t", 1.0).location.startswith("~")
    with pytest.raises(ValueError, match="ledger table name must match .*got 'charges; drop'"):
        open_store("x.sqlite", "charges; drop", 5.0)
    with pytest.raises(ValueError, match="lock_timeout must be > 0 seconds, got 0"):
        open_store("x.sqlite", "t", 0)
    with pytest.raises(ValueError, match="ledger location is empty"):
        open_store("", "t", 5.0)


def test_a_charge_is_committed_into_an_owner_only_file_and_read_back(tmp_path):
    path = tmp_path / "ledgers" / "town.sqlite"
    store = open_store(str(path), "privacy_charges", 5.0)
    assert store.read("town") == [] and not path.parent.exists()  # reading creates nothing
    with store.transaction("town") as tx:
        assert tx.charges == []
        tx.insert(_charge("ip:1"))
    with store.transaction("town") as tx:
        assert tx.charges == [_charge("ip:1")]
        tx.insert(_charge("ip:2"))
    assert [c.key for c in store.read("town")] == ["ip:1", "ip:2"] and store.read("other") == []
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    with sqlite3.connect(path) as conn:
        assert [r[1] for r in conn.execute("PRAGMA table_info(privacy_charges)")] == list(COLUMNS)
        assert conn.execute("SELECT version FROM privacy_charges_schema").fetchall() == [(SCHEMA_VERSION,)]


def test_an_error_inside_the_transaction_rolls_the_charge_back(tmp_path):
    store = open_store(str(tmp_path / "town.sqlite"), "privacy_charges", 5.0)
    with pytest.raises(RuntimeError, match="stopped"), store.transaction("town") as tx:
        tx.insert(_charge("ip:1"))
        raise RuntimeError("stopped")
    assert store.read("town") == []


def test_a_key_is_unique_per_data_set_and_a_duplicate_is_a_ledger_error(tmp_path):
    store = open_store(str(tmp_path / "shared.sqlite"), "privacy_charges", 5.0)
    for dataset in ("town", "city"):
        with store.transaction(dataset) as tx:
            tx.insert(_charge("ip:1"))
    with pytest.raises(LedgerError, match=r"cannot use privacy ledger .*shared.sqlite: UNIQUE constraint failed"), \
            store.transaction("town") as tx:
        tx.insert(_charge("ip:1"))
    assert len(store.read("town")) == 1 and len(store.read("city")) == 1
