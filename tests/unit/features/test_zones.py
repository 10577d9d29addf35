"""A zone with no count in the training period: refused by name, or dropped as the spec says."""

from __future__ import annotations

from dataclasses import replace

import polars as pl
import pytest

from dpforecast.config import Params, resolve
from dpforecast.data import synthetic
from dpforecast.data.spec import spec_from_dict
from dpforecast.features.zones import EmptyZoneError, modelled_zones


def _case(policy: str) -> tuple[pl.DataFrame, Params]:
    frame = synthetic.generate(zones=3, days=30, interval_minutes=60, hierarchy=False)
    spec = replace(spec_from_dict(synthetic.spec_dict(frame, "town", "town.csv"), "town.yaml"), empty_zones=policy)
    # z0003 reads nothing before the last 10 days (the test and validation blocks: 7 + 7 days)
    silent = frame.with_columns(pl.when(pl.col("timestamp") < frame["timestamp"][-240]).then(None)
                                .otherwise(pl.col("z0003")).alias("z0003"))
    return silent, resolve(Params(dataset="town"), spec)


def test_an_empty_zone_is_refused_by_default_and_dropped_when_the_spec_says_so():
    series, params = _case("refuse")
    with pytest.raises(EmptyZoneError, match=r"z0003 \(Synthetic zone 0003\) have no count in the training period"):
        modelled_zones(series, params)
    series, params = _case("drop")
    assert modelled_zones(series, params) == (["z0001", "z0002"], ["z0003"])
