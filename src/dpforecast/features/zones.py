"""Which zones a data set's models forecast, and the refusals of a split that leaves nothing to learn.

A zone with no count at all in the training period cannot be learned; the spec says
whether such a zone is refused (the default) or dropped from the models.
"""

from __future__ import annotations

import polars as pl

from dpforecast.config import Params
from dpforecast.data.schema import TIMESTAMP
from dpforecast.features.windows import history_start, split_starts


class EmptyZoneError(ValueError):
    """A zone has no count at all in the training period and the spec does not drop it."""


class SplitError(ValueError):
    """The protocol leaves no training or no test window (too short a series, or a gap or
    missing counts over a whole block)."""


def modelled_zones(series: pl.DataFrame, params: Params) -> tuple[list[str], list[str]]:
    """The zones to model and those dropped for having no count in the training period."""
    spec = params.data_set
    test_days, validation_days, history_days = params.protocol()
    val_start, _ = split_starts(series, test_days, validation_days)
    period = pl.col(TIMESTAMP) < val_start
    first = history_start(val_start, history_days)
    if first is not None:
        period = period & (pl.col(TIMESTAMP) >= first)
    training = series.filter(period)
    if training.height == 0:
        raise SplitError(
            f"{spec.path}: the series ({series.height} intervals, from {series[TIMESTAMP].min()}) leaves no training "
            f"period before the protocol's {validation_days} validation and {test_days} test days (from {val_start}); "
            f"a longer file, or shorter protocol.test_days / protocol.validation_days (the spec) or split.* "
            f"(params.yaml) fix it")
    empty = [z for z in spec.zone_ids if training[z].null_count() == training.height]
    if empty and spec.empty_zones == "refuse":
        names = ", ".join(f"{z} ({spec.zone_names[z]})" for z in empty)
        raise EmptyZoneError(
            f"{spec.path}: zone(s) {names} have no count in the training period ({training.height} intervals "
            f"before {val_start}); set empty_zones: drop in the spec to model the others")
    return [z for z in spec.zone_ids if z not in empty], empty
