"""Where the privacy ledger lives: a SQLite file (default) or a PostgreSQL database.

Both hold the same two tables: ``<table>`` (one row per charge, ``UNIQUE (dataset, key)``,
so one database can hold many data sets' ledgers) and ``<table>_schema`` (the schema
version). Budgets are not stored as state (they come from the parameters on every run);
each charge records the budgets and delta in force when it was made, for the audit trail.

Every charge is one transaction that reads the data set's charges, lets the caller decide,
and inserts, holding a write lock throughout: SQLite ``BEGIN IMMEDIATE`` (rollback journal,
``synchronous=FULL``), PostgreSQL ``LOCK TABLE ... IN SHARE ROW EXCLUSIVE MODE`` (which
conflicts with itself, not with readers). Two processes charging at once are therefore
serialised, and a process killed at any point leaves either its whole charge or nothing.
Anything unexpected (not a database, another schema, another version) is refused with a
:class:`LedgerError` and never modified.
"""

from __future__ import annotations

import abc
import contextlib
import json
import os
import re
import sqlite3
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from dpforecast.privacy.charges import Mechanism, mechanism_from_json

SCHEMA_VERSION = 1
COLUMNS = ("id", "dataset", "key", "mode", "description", "data_version", "charged_at", "delta", "budgets",
           "mechanisms")
_DDL = (
    "CREATE TABLE {t} (id {id_type} PRIMARY KEY, dataset TEXT NOT NULL, key TEXT NOT NULL, mode TEXT NOT NULL, "
    "description TEXT NOT NULL, data_version TEXT NOT NULL, charged_at TEXT NOT NULL, "
    "delta DOUBLE PRECISION NOT NULL, budgets TEXT NOT NULL, mechanisms TEXT NOT NULL, UNIQUE (dataset, key))",
    "CREATE TABLE {t}_schema (version INTEGER NOT NULL)",
    f"INSERT INTO {{t}}_schema (version) VALUES ({SCHEMA_VERSION})",
)


class LedgerError(RuntimeError):
    """The ledger cannot be opened, stays locked, or is not a ledger this code can read."""


@dataclass(frozen=True)
class Charge:
    """One recorded release: its mechanism on each unit, and the budgets it was checked against."""

    key: str
    mode: str
    description: str
    data_version: str
    charged_at: str
    delta: float
    budgets: Mapping[str, float | None]
    mechanisms: Mapping[str, Mechanism]


def _encode(dataset: str, charge: Charge) -> tuple[Any, ...]:
    mechanisms = {unit: m.to_json() for unit, m in charge.mechanisms.items()}
    return (dataset, charge.key, charge.mode, charge.description, charge.data_version, charge.charged_at,
            charge.delta, json.dumps(dict(charge.budgets), sort_keys=True), json.dumps(mechanisms, sort_keys=True))


@dataclass
class Transaction:
    """The data set's charges as of the lock, and how to add one (committed on leaving)."""

    charges: list[Charge]
    insert: Callable[[Charge], None]


class _SqlStore(abc.ABC):
    """Schema checks, reads and the charge transaction, common to both databases."""

    location: str
    table: str
    placeholder = "?"
    id_type = "INTEGER"

    @abc.abstractmethod
    def _connect(self, create: bool) -> Any:
        """A connection, or None when ``create`` is false and there is no database yet."""

    @abc.abstractmethod
    def _tables(self, conn: Any) -> set[str]:
        """Tables that would clash with the ledger's (SQLite: all of them, its file is the ledger's)."""

    @abc.abstractmethod
    def _columns(self, conn: Any) -> tuple[str, ...]:
        """The charges table's columns, in order."""

    @abc.abstractmethod
    def _lock(self, conn: Any) -> None:
        """Begin the write transaction, create the tables if there are none, and hold the write lock."""

    @abc.abstractmethod
    def _errors(self) -> contextlib.AbstractContextManager[None]:
        """Turn the driver's errors into one-line :class:`LedgerError` messages."""

    def _has_schema(self, conn: Any) -> bool:
        """Whether the ledger's tables exist (and are this version); False if none; refuse anything else."""
        ours = {self.table, f"{self.table}_schema"}
        tables = self._tables(conn)
        if not tables:
            return False
        if tables & ours != ours:
            raise LedgerError(f"{self.location}: not a dpforecast privacy ledger (tables {sorted(tables)}); "
                              "refusing to use or modify it")
        columns = self._columns(conn)
        cur = conn.cursor()
        cur.execute(f"SELECT version FROM {self.table}_schema")
        versions = [row[0] for row in cur.fetchall()]
        if columns != COLUMNS or versions != [SCHEMA_VERSION]:
            raise LedgerError(f"{self.location}: privacy ledger schema {versions} with columns {list(columns)}, "
                              f"expected version {SCHEMA_VERSION}; refusing to use or modify it")
        return True

    def _select(self, conn: Any, dataset: str) -> list[Charge]:
        cur = conn.cursor()
        cur.execute(f"SELECT {', '.join(COLUMNS)} FROM {self.table} WHERE dataset = {self.placeholder} ORDER BY id",
                    (dataset,))
        return [self._decode(row) for row in cur.fetchall()]

    def _decode(self, row: tuple[Any, ...]) -> Charge:
        values = dict(zip(COLUMNS, row))
        try:
            mechanisms = {unit: mechanism_from_json(m) for unit, m in json.loads(values["mechanisms"]).items()}
            budgets = json.loads(values["budgets"])
        except (ValueError, TypeError, AttributeError) as exc:
            raise LedgerError(f"{self.location}: charge {values['id']} is unreadable ({exc})") from exc
        return Charge(key=values["key"], mode=values["mode"], description=values["description"],
                      data_version=values["data_version"], charged_at=values["charged_at"],
                      delta=float(values["delta"]), budgets=budgets, mechanisms=mechanisms)

    def read(self, dataset: str) -> list[Charge]:
        """The data set's charges in order; none (and nothing created) if there is no ledger yet."""
        with self._errors():
            conn = self._connect(create=False)
            if conn is None:
                return []
            try:
                return self._select(conn, dataset) if self._has_schema(conn) else []
            finally:
                conn.close()

    @contextlib.contextmanager
    def transaction(self, dataset: str) -> Iterator[Transaction]:
        """Lock the ledger, creating it if needed; commit on leaving, roll back on an exception."""
        with self._errors():
            conn = self._connect(create=True)
            try:
                self._lock(conn)
                cur = conn.cursor()
                marks = ", ".join([self.placeholder] * (len(COLUMNS) - 1))
                sql = f"INSERT INTO {self.table} ({', '.join(COLUMNS[1:])}) VALUES ({marks})"
                yield Transaction(self._select(conn, dataset), lambda c: cur.execute(sql, _encode(dataset, c)))
                conn.commit()
            except BaseException:
                with contextlib.suppress(Exception):  # a broken connection: the original error says more
                    conn.rollback()
                raise
            finally:
                conn.close()

    def _create(self, conn: Any) -> None:
        cur = conn.cursor()
        for statement in _DDL:
            cur.execute(statement.format(t=self.table, id_type=self.id_type))


class SqliteStore(_SqlStore):
    """A SQLite file; parent directories are created with mode 0o700 and the file with 0o600."""

    def __init__(self, path: str, table: str, lock_timeout: float) -> None:
        self.path = Path(path).expanduser().absolute()
        self.location, self.table, self.lock_timeout = str(self.path), table, lock_timeout

    def _connect(self, create: bool) -> sqlite3.Connection | None:
        if self.path.is_dir():
            raise LedgerError(f"cannot open privacy ledger {self.path}: it is a directory")
        if not self.path.exists():
            if not create:
                return None
            missing = [p for p in (self.path.parent, *self.path.parent.parents) if not p.exists()]
            try:
                for directory in reversed(missing):
                    directory.mkdir(mode=0o700, exist_ok=True)  # another process may race us
                os.close(os.open(self.path, os.O_WRONLY | os.O_CREAT, 0o600))
            except OSError as exc:
                raise LedgerError(f"cannot create privacy ledger {self.path}: {exc.strerror or exc}") from exc
        # isolation_level=None: transactions are opened explicitly (BEGIN IMMEDIATE), not by the module.
        conn = sqlite3.connect(self.path.as_uri() + "?mode=rw", uri=True, timeout=self.lock_timeout,
                               isolation_level=None)
        conn.execute("PRAGMA synchronous=FULL")
        return conn

    def _tables(self, conn: sqlite3.Connection) -> set[str]:
        return {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}

    def _columns(self, conn: sqlite3.Connection) -> tuple[str, ...]:
        return tuple(row[1] for row in conn.execute(f"PRAGMA table_info({self.table})"))

    def _lock(self, conn: sqlite3.Connection) -> None:
        conn.execute("BEGIN IMMEDIATE")
        if not self._has_schema(conn):
            self._create(conn)

    @contextlib.contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except sqlite3.Error as exc:
            name = getattr(exc, "sqlite_errorname", "")
            if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")):
                message = (f"privacy ledger {self.path} is locked: another process has held it for more than "
                           f"{self.lock_timeout:g} s (a charge in progress, or a stuck process)")
            elif name.startswith(("SQLITE_NOTADB", "SQLITE_CORRUPT")):
                message = f"privacy ledger {self.path} is not a SQLite database ({exc}); refusing to use or modify it"
            else:
                message = f"cannot use privacy ledger {self.path}: {exc}"
            raise LedgerError(message) from exc


def _without_password(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


class PostgresStore(_SqlStore):
    """A PostgreSQL database (``postgresql://`` URL) through psycopg2; the password is never printed."""

    placeholder = "%s"
    id_type = "BIGSERIAL"

    def __init__(self, url: str, table: str, lock_timeout: float) -> None:
        self.url, self.table, self.lock_timeout = url, table, lock_timeout
        self.location = f"{_without_password(url)} (table {table})"

    def _connect(self, create: bool) -> Any:
        import psycopg2

        try:
            return psycopg2.connect(self.url, connect_timeout=10)
        except psycopg2.Error as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise LedgerError(f"cannot connect to privacy ledger {self.location}: {first}") from exc

    def _tables(self, conn: Any) -> set[str]:
        cur = conn.cursor()
        cur.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() "
                    "AND table_name IN (%s, %s)", (self.table, f"{self.table}_schema"))
        return {row[0] for row in cur.fetchall()}

    def _columns(self, conn: Any) -> tuple[str, ...]:
        cur = conn.cursor()
        cur.execute("SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() "
                    "AND table_name = %s ORDER BY ordinal_position", (self.table,))
        return tuple(row[0] for row in cur.fetchall())

    def _lock(self, conn: Any) -> None:
        cur = conn.cursor()
        cur.execute(f"SET LOCAL lock_timeout = '{max(1, int(self.lock_timeout * 1000))}ms'")
        if not self._has_schema(conn):
            # Serialise the creation itself (CREATE TABLE IF NOT EXISTS races in PostgreSQL).
            cur.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (self.table,))
            if not self._has_schema(conn):
                self._create(conn)
        cur.execute(f"LOCK TABLE {self.table} IN SHARE ROW EXCLUSIVE MODE")

    @contextlib.contextmanager
    def _errors(self) -> Iterator[None]:
        import psycopg2
        from psycopg2 import errors

        try:
            yield
        except errors.LockNotAvailable as exc:
            raise LedgerError(f"privacy ledger {self.location} is locked: another process has held it for more "
                              f"than {self.lock_timeout:g} s (a charge in progress, or a stuck process)") from exc
        except psycopg2.Error as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise LedgerError(f"cannot use privacy ledger {self.location}: {first}") from exc


_TABLE = re.compile(r"[a-z_][a-z0-9_]{0,50}")


def open_store(location: str, table: str, lock_timeout: float) -> SqliteStore | PostgresStore:
    """The store of ``location``: a ``postgresql://`` URL, or else a SQLite file path."""
    if not _TABLE.fullmatch(table):
        raise ValueError(f"ledger table name must match {_TABLE.pattern}, got {table!r}")
    if not (lock_timeout > 0):
        raise ValueError(f"lock_timeout must be > 0 seconds, got {lock_timeout!r}")
    if location.startswith(("postgresql://", "postgres://")):
        return PostgresStore(location, table, lock_timeout)
    if not location:
        raise ValueError("ledger location is empty")
    return SqliteStore(location, table, lock_timeout)
