"""The features of one series, in memory: calendar table, raw targets, window index, summary.

Models train on the training series (the noisy release in ``ip`` mode); the targets keep
the raw counts, against which the test block is scored. On a local clock both hold counts
per nominal interval (:mod:`dpforecast.features.rates`), so the scores are too. Their columns are the modelled
zones: the data set's zones, less those with no count in the training period when the
spec lets such zones be dropped. The ``features`` stage writes a :class:`FeatureSet` to
files; the experiments (frontier's baselines) use it as it is.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import polars as pl

from dpforecast.config import Params
from dpforecast.features.calendar import add_calendar_features
from dpforecast.features.known_future import add_known_future
from dpforecast.features.periods import split_periods
from dpforecast.features.rates import per_nominal_interval
from dpforecast.features.windows import make_windows, removed_windows, split_counts
from dpforecast.features.zones import SplitError, modelled_zones


@dataclass(frozen=True)
class FeatureSet:
    """``table``: timestamp, the modelled zones' training counts, the calendar features (and
    the known-future ones ``features.known_future`` asks for);
    ``targets``: the raw counts of the same zones and rows; ``windows``: one row per window
    (start_row, target_row, target_time, split); ``summary``: what was dropped and why."""

    table: pl.DataFrame
    targets: pl.DataFrame
    windows: pl.DataFrame
    summary: dict[str, Any]

    @property
    def counts(self) -> dict[str, int]:
        return split_counts(self.windows)


def build_feature_set(raw: pl.DataFrame, series: pl.DataFrame, params: Params) -> FeatureSet:
    """The features of ``series`` (the training series) over the raw validated ``raw``."""
    if not series["timestamp"].equals(raw["timestamp"]):
        raise ValueError("the training series and the validated series have different timestamps")
    spec = params.data_set
    zones, dropped = modelled_zones(raw, params)
    series = series.drop(dropped)
    table = add_known_future(
        add_calendar_features(per_nominal_interval(series, zones, spec.clock), params.features.week_period_days),
        params.features.known_future, params.features.horizon, spec.clock, spec.calendar)
    test_days, validation_days, history_days = params.protocol()
    common = (params.features.window, params.features.horizon, params.data.contiguous, test_days,
              validation_days, spec.clock)
    windows = make_windows(table, *common, zones, history_days)
    counts = split_counts(windows)
    if counts["train"] == 0 or counts["test"] == 0:
        raise SplitError(f"{spec.path}: the split leaves no training or no test window ({counts}; protocol "
                         f"test {test_days} days, validation {validation_days}, history {history_days}); a window "
                         f"touching a missing count is dropped, so a zone with no count in the test block removes "
                         f"every test window; a longer file, or shorter protocol.test_days / protocol.validation_days "
                         f"(the spec), split.* or features.window / features.horizon (params.yaml) fix it")
    removed = removed_windows(table, *common, zones, history_days)
    summary: dict[str, Any] = {
        **spec.summary(),
        "modelled_zones": zones,
        "dropped_zones": dropped,
        "windows": counts,
        # Each split's first and last target time, in the data set's time zone.
        "periods": {split: asdict(p) for split, p in split_periods(table, windows, params.features.horizon).items()},
        # Windows left out, each by the first rule that removes it (features.windows.removed_windows).
        "windows_removed": removed,
        # Windows the same split would have without the missing-count rule.
        "windows_dropped_for_missing_counts": removed["missing_count"],
        "missing_counts": {z: int(n) for z in zones if (n := raw[z].null_count())},
        "rows": raw.height,
        "protocol": {"test_days": test_days, "validation_days": validation_days, "history_days": history_days},
    }
    return FeatureSet(table, per_nominal_interval(raw, zones, spec.clock).select(zones), windows, summary)
