"""Stage ``features``: the feature set of the training series, written as one folder.

:func:`~dpforecast.features.feature_set.build_feature_set` computes it (calendar table,
raw targets, window index, ``summary.json``: dropped zones and the windows a gap or a
missing count removed); the stage reads the series and swaps the folder in whole.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from dpforecast.config import Params
from dpforecast.features.feature_set import build_feature_set
from dpforecast.features.periods import period_lines
from dpforecast.runtime.io import atomic_dir, write_json, write_parquet
from dpforecast.runtime.paths import Paths
from dpforecast.stages.release import training_series


def build_features(paths: Paths, params: Params) -> dict[str, int]:
    """Write the feature table, the raw targets and the window index; return windows per split."""
    features = build_feature_set(pl.read_parquet(paths.series), pl.read_parquet(training_series(paths, params)), params)
    # One folder swapped in whole: a table never sits beside another run's windows.
    folder = paths.feature_table.parent
    assert paths.targets.parent == folder and paths.windows.parent == folder
    with atomic_dir(folder) as tmp:
        write_parquet(tmp / paths.feature_table.name, features.table)
        write_parquet(tmp / paths.targets.name, features.targets)
        write_parquet(tmp / paths.windows.name, features.windows)
        write_json(tmp / paths.feature_summary.name, features.summary)
    return features.counts


def features_report(summary: dict[str, Any]) -> str:
    """What the stage prints: windows per split, each split's target period in the data
    set's time zone, and the windows removed, by reason."""
    w, r = summary["windows"], summary["windows_removed"]
    missing = summary["missing_counts"]
    lines = [f"features: windows train {w['train']}, validation {w['validation']}, test {w['test']}; target periods "
             f"({summary['timezone']}):", *period_lines(summary["periods"]),
             f"  removed: {r['gap_in_time']} straddling a gap in time, {r['two_blocks']} with targets in two blocks, "
             f"{r['missing_count']} touching a missing count ({sum(missing.values())} missing in {len(missing)} "
             f"zone(s))"]
    if r["before_history"]:
        lines.append(f"  not used: {r['before_history']} before the training history "
                     f"({summary['protocol']['history_days']} days)")
    if summary["dropped_zones"]:
        lines.append(f"  zones left out (no count in the training period): {', '.join(summary['dropped_zones'])}")
    return "\n".join(lines)
