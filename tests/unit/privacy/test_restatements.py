"""dpforecast.privacy.restatements: keyed digests of what a release noised, to see a restated interval
without publishing anything about the raw counts."""

from __future__ import annotations

import fcntl
import os
import stat

import polars as pl
import pytest

from dpforecast.privacy.ledger import state_home
from dpforecast.privacy.restatements import release_lock, released_before, remember, restated

ZONES = ["a", "b"]


def _series(a: list[int | None], b: list[int | None]) -> pl.DataFrame:
    stamps = pl.datetime_range(pl.datetime(2024, 1, 1), pl.datetime(2024, 1, 1, len(a) - 1), "1h", eager=True,
                               time_zone="UTC")
    return pl.DataFrame({"timestamp": stamps, "a": a, "b": b}, schema_overrides={"a": pl.Int64, "b": pl.Int64})


def test_without_a_store_on_this_machine_the_check_cannot_be_made():
    assert restated("town", "r1", _series([1, 2], [3, 4]), ZONES) == ([], False)
    assert released_before("town", "r1", _series([1, 2], [3, 4])["timestamp"]) == []


def test_a_changed_count_is_a_restatement_and_the_same_counts_are_not():
    released = _series([987_654, 2, 3], [4, 5, 6])
    remember("town", "r1", released, ZONES)
    assert restated("town", "r1", released, ZONES) == ([], True)
    corrected = _series([987_654, 2, 30], [4, 5, None])  # 02:00 restated; nothing else
    assert restated("town", "r1", corrected, ZONES) == (["2024-01-01 02:00:00+00:00"], True)
    assert restated("town", "r2", corrected, ZONES) == ([], False)  # another release id: another store
    assert restated("town", "r1", released.head(1), ZONES) == ([], True)  # intervals no longer delivered


def test_a_count_missing_when_released_that_arrived_since_is_not_a_restatement():
    remember("town", "r1", _series([1, None], [None, 4]), ZONES)
    assert restated("town", "r1", _series([1, 2], [3, 4]), ZONES) == ([], True)
    assert restated("town", "r1", _series([1, 2], [3, 5]), ZONES) == (["2024-01-01 01:00:00+00:00"], True)


def test_the_store_is_owner_only_holds_no_count_and_names_what_was_released():
    remember("town", "r1", _series([987_654, 2], [3, 4]), ZONES)
    remember("town", "r1", _series([987_654, 2, 7], [3, 4, 8]), ZONES)  # extended by one interval
    path = state_home() / "releases" / "town" / "r1.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and "987654" not in path.read_text()
    asked = _series([0] * 4, [0] * 4)["timestamp"]
    assert released_before("town", "r1", asked) == ["2024-01-01 00:00:00+00:00", "2024-01-01 01:00:00+00:00",
                                                    "2024-01-01 02:00:00+00:00"]


def test_the_release_lock_is_exclusive_per_data_set():
    with release_lock("town"):
        fd = os.open(state_home() / "releases" / "town" / ".lock", os.O_RDWR)
        try:
            with pytest.raises(BlockingIOError):
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            with release_lock("city"):  # another data set's release is not held up
                pass
        finally:
            os.close(fd)
    fd = os.open(state_home() / "releases" / "town" / ".lock", os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # released on leaving
    finally:
        os.close(fd)
