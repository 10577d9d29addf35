"""Detect a restated interval: raw counts that changed after they were released.

A continual release noises each interval once. If a delivery restates an interval already
released (the operator corrected its counts), releasing the new counts would be a second
mechanism on that event, and keeping the old noisy values would hide the correction; the
release stage refuses it instead, naming the interval. To see a restatement the release
must remember what it released without publishing anything about the raw counts: a keyed
digest per interval, under a random secret, in a private file beside the ledger (the data
owner's state, mode 0600, never in the repository, the DVC remote or a release). Where that
file is absent (another machine), restatements cannot be seen, and the stage says so.

A count that was missing when its interval was released and has arrived since is not a
restatement: it was never released, and the release noises it once, as a new count
(:func:`~dpforecast.privacy.continual_release.extend`). The store keeps which counts were
missing, so the digest of the interval as released can be recomputed without them.
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
from dpforecast.privacy.ledger import state_home
from dpforecast.runtime.io import write_json


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


def _digest(secret: bytes, row: tuple) -> str:
    return hmac.new(secret, json.dumps([str(v) for v in row]).encode(), hashlib.sha256).hexdigest()[:32]


def _digests(secret: bytes, frame: pl.DataFrame, zones: list[str]) -> dict[str, str]:
    return {str(r[0]): _digest(secret, r) for r in frame.select(TIMESTAMP, *zones).rows()}


def _missing(frame: pl.DataFrame, zones: list[str]) -> dict[str, list[int]]:
    """Interval -> positions (in ``zones``) of its missing counts, for intervals with any."""
    return {str(r[0]): [i for i, v in enumerate(r[1:]) if v is None]
            for r in frame.select(TIMESTAMP, *zones).rows() if any(v is None for v in r[1:])}


def restated(dataset: str, release_id: str, series: pl.DataFrame, zones: list[str]) -> tuple[list[str], bool]:
    """Released intervals whose counts in ``series`` differ from what was released, and
    whether the check could be made (False: no private store on this machine)."""
    path = _store(dataset, release_id)
    if not path.is_file():
        return [], False
    store = json.loads(path.read_text())
    secret, known, missing = bytes.fromhex(store["secret"]), store["digests"], store.get("missing", {})
    rows = {str(r[0]): r for r in series.select(TIMESTAMP, *zones).rows()}
    changed = []
    for t, digest in known.items():
        row = rows.get(t)
        if row is None or _digest(secret, row) == digest:
            continue
        # counts missing when released may have arrived since: the interval as released lacked them
        as_released = tuple(None if i - 1 in missing.get(t, ()) else v for i, v in enumerate(row))
        if _digest(secret, as_released) != digest:
            changed.append(t)
    return sorted(changed), True


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
    store["missing"] = _missing(series, zones)  # ``series`` holds every released interval
    write_json(path, store)
    os.chmod(path, 0o600)
