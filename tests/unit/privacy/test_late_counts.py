"""A count missing when its interval was released, delivered later, is a new count.

It was never released, so it is noised once (a draw of its own) and filled in; every value
released before stays as it was, and it is not taken for a restatement. A count that
changes after it was released (late or not) still is one.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import polars as pl
import pytest

from dpforecast.data.schema import TIMESTAMP
from dpforecast.privacy import randomness, restatements
from dpforecast.privacy.continual_release import ReleaseInfo, ReleaseTerms, extend
from dpforecast.privacy.randomness import PrivacyKey

ZONES = ["a", "b", "c"]
KEY = PrivacyKey(bytes(range(32)), "test")
TERMS = ReleaseTerms(dataset="toy", mechanism="discrete_gaussian", epsilon=1.0, delta=1e-7, unit="event",
                     unit_text="one event", sensitivity=1.0, clip_at_zero=False)
# a wide scale: no draw is 0
INFO = ReleaseInfo(release_id="r1", terms=TERMS, scale=1000.0, unit_epsilons={"event": 1.0}, randomness="owner key")


def _series(rows: int, **cells: dict[int, int | None]) -> pl.DataFrame:
    start = datetime(2024, 1, 1)
    data = {TIMESTAMP: [start + timedelta(minutes=30 * i) for i in range(rows)]}
    for z in ZONES:
        column = [100 + i for i in range(rows)]
        for i, v in cells.get(z, {}).items():
            column[i] = v
        data[z] = column
    return pl.DataFrame(data, schema={TIMESTAMP: pl.Datetime("us", "UTC"), **{z: pl.Int64 for z in ZONES}})


def test_a_late_count_is_noised_once_and_nothing_released_changes() -> None:
    first = _series(4, b={1: None})
    released, info = extend(first, ZONES, None, INFO, KEY)
    assert released["b"][1] is None
    restatements.remember("toy", "r1", first, ZONES)

    later = _series(6, b={1: 250})  # the missing count arrives, with two new intervals
    assert restatements.restated("toy", "r1", later, ZONES) == ([], True)
    out, info = extend(later, ZONES, released, info, KEY)
    assert out.height == 6 and out["b"][1] is not None and out["b"][1] != 250  # noised
    kept = out.head(4).with_columns(pl.when(pl.int_range(4) == 1).then(None).otherwise(pl.col("b")).alias("b"))
    assert kept.equals(released)  # every released value byte-identical
    assert (info.deliveries[-1].intervals, info.deliveries[-1].late_counts) == (2, 1)

    # replayed by the owner: the same draw; the late draw is not one of the first release's
    again, _ = extend(later, ZONES, released, INFO, KEY)
    assert again.equals(out)
    restatements.remember("toy", "r1", later, ZONES)

    # once released, a changed late count is a restatement
    assert restatements.restated("toy", "r1", _series(6, b={1: 251}), ZONES) == ([str(later[TIMESTAMP][1])], True)


def test_a_changed_released_count_is_still_a_restatement() -> None:
    first = _series(3, c={2: None})
    restatements.remember("toy", "r2", first, ZONES)
    changed = _series(3, a={0: 7}, c={2: 5})
    assert restatements.restated("toy", "r2", changed, ZONES) == ([str(first[TIMESTAMP][0])], True)
    gone = _series(3, a={1: None}, c={2: None})  # a released count that went missing
    assert restatements.restated("toy", "r2", gone, ZONES) == ([str(first[TIMESTAMP][1])], True)


def test_late_draws_are_their_own(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two late fills of different counts in the same span draw differently (the context names
    the cells); through the public seam the draw is replayable by anyone, which the attack
    tests show is what the key prevents."""
    base = _series(3, a={0: None}, b={0: None})
    released, info = extend(base, ZONES, None, INFO, KEY)
    one, _ = extend(_series(3, b={0: None}), ZONES, released, info, KEY)
    other, _ = extend(_series(3, a={0: None}), ZONES, released, info, KEY)
    assert one["a"][0] != other["b"][0]  # both were 100 before their draws
    monkeypatch.setattr(randomness, "_public_seed", 0)
    x, _ = extend(_series(3, b={0: None}), ZONES, released, info, None)
    y, _ = extend(_series(3, b={0: None}), ZONES, released, info, None)
    assert np.array_equal(x["a"].to_numpy(), y["a"].to_numpy())
