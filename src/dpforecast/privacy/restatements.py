"""Detect a restated interval: raw counts that changed after they were released.

A continual release noises each interval once. If a delivery restates an interval already
released (the operator corrected its counts), releasing the new counts would be a second
mechanism on that event, and keeping the old noisy values would hide the correction; the
release stage refuses it instead, naming the interval. To see a restatement the release
must remember what it released without publishing anything about the raw counts: a keyed
digest per interval, under a random secret, in a private file beside the ledger (the data
owner's state, mode 0600, never in the repository, the DVC remote or a release). Where that
file is absent (another machine), restatements cannot be seen, and the stage says so.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import hmac
import json
import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import polars as pl

from dpforecast.data.schema import TIMESTAMP
from dpforecast.io import write_json
from dpforecast.privacy.ledger import state_home


@contextlib.contextmanager
def release_lock(dataset: str) -> Iterator[None]:
    """An exclusive lock on the data set's release on this machine: two extensions of one
    release (Dagster's sensor and schedule, Dagster and ``dvc repro``) run one after the other."""
    path = state_home() / "releases" / dataset / ".lock"
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def _store(dataset: str, release_id: str) -> Path:
    return state_home() / "releases" / dataset / f"{release_id}.json"


def _digests(secret: bytes, frame: pl.DataFrame, zones: list[str]) -> dict[str, str]:
    rows = frame.select(TIMESTAMP, *zones).rows()
    return {str(r[0]): hmac.new(secret, json.dumps([str(v) for v in r]).encode(), hashlib.sha256).hexdigest()[:32]
            for r in rows}


def restated(dataset: str, release_id: str, series: pl.DataFrame, zones: list[str]) -> tuple[list[str], bool]:
    """Released intervals whose counts in ``series`` differ from what was released, and
    whether the check could be made (False: no private store on this machine)."""
    path = _store(dataset, release_id)
    if not path.is_file():
        return [], False
    store = json.loads(path.read_text())
    known = store["digests"]
    now = _digests(bytes.fromhex(store["secret"]), series, zones)
    return sorted(t for t, d in known.items() if t in now and now[t] != d), True


def released_before(dataset: str, release_id: str, timestamps: pl.Series) -> list[str]:
    """Of ``timestamps`` (intervals the release artifact lacks), those this machine released
    before under ``release_id``: a rolled-back or concurrently extended artifact, whose
    intervals must not be noised a second time."""
    path = _store(dataset, release_id)
    if not path.is_file():
        return []
    known = json.loads(path.read_text())["digests"]
    return sorted(str(t) for t in timestamps.to_list() if str(t) in known)


def remember(dataset: str, release_id: str, series: pl.DataFrame, zones: list[str]) -> None:
    """Record the digests of every interval of ``series`` now released (owner-only file)."""
    path = _store(dataset, release_id)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    store = json.loads(path.read_text()) if path.is_file() else {"secret": secrets.token_hex(32), "digests": {}}
    store["digests"].update(_digests(bytes.fromhex(store["secret"]), series, zones))
    write_json(path, store)
    os.chmod(path, 0o600)
