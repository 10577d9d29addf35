"""Stage ``features``: calendar features, the window index, and the raw targets.

Models train on the series :func:`training_series` names (the noisy release in ``ip``
mode); ``targets.parquet`` keeps the raw counts, against which the test block is scored.
On a local clock both hold counts per nominal interval (:mod:`dpforecast.features.rates`),
so the scores are too.
Its columns are the modelled zones: the data set's zones, less those with no count in
the training period when the spec lets such zones be dropped. ``summary.json`` says
which zones were dropped and how many windows a gap or a missing count removed.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from dpforecast.config import Params
from dpforecast.features.calendar import add_calendar_features
from dpforecast.features.rates import per_nominal_interval
from dpforecast.features.windows import make_windows, split_counts
from dpforecast.features.zones import SplitError, modelled_zones
from dpforecast.runtime.io import atomic_dir, write_json, write_parquet
from dpforecast.runtime.paths import Paths
from dpforecast.stages.release import training_series


def build_features(paths: Paths, params: Params) -> dict[str, int]:
    """Write the feature table, the raw targets and the window index; return windows per split."""
    series = pl.read_parquet(training_series(paths, params))
    raw = pl.read_parquet(paths.series)
    if not series["timestamp"].equals(raw["timestamp"]):
        raise ValueError("the training series and the validated series have different timestamps")
    spec = params.data_set
    zones, dropped = modelled_zones(raw, params)
    series = series.drop(dropped)
    table = add_calendar_features(per_nominal_interval(series, zones, spec.clock), params.features.week_period_days)
    test_days, validation_days, history_days = params.protocol()
    common = (params.features.window, params.features.horizon, params.data.contiguous, test_days,
              validation_days, spec.clock)
    windows = make_windows(table, *common, zones, history_days)
    counts = split_counts(windows)
    if counts["train"] == 0 or counts["test"] == 0:
        raise SplitError(f"{spec.path}: the split leaves no training or no test window ({counts}; protocol "
                         f"test {test_days} days, validation {validation_days}, history {history_days}); a window "
                         f"touching a missing count is dropped, so a zone with no count in the test block removes "
                         f"every test window")
    summary: dict[str, Any] = {
        **spec.summary(),
        "modelled_zones": zones,
        "dropped_zones": dropped,
        "windows": counts,
        # Windows the same split would have without the missing-count rule.
        "windows_dropped_for_missing_counts": int(make_windows(table, *common, [], history_days).height - windows.height),
        "missing_counts": {z: int(n) for z in zones if (n := raw[z].null_count())},
        "rows": raw.height,
        "protocol": {"test_days": test_days, "validation_days": validation_days, "history_days": history_days},
    }
    # One folder swapped in whole: a table never sits beside another run's windows.
    folder = paths.feature_table.parent
    assert paths.targets.parent == folder and paths.windows.parent == folder
    with atomic_dir(folder) as tmp:
        write_parquet(tmp / paths.feature_table.name, table)
        write_parquet(tmp / paths.targets.name, per_nominal_interval(raw, zones, spec.clock).select(zones))
        write_parquet(tmp / paths.windows.name, windows)
        write_json(tmp / paths.feature_summary.name, summary)
    return counts

