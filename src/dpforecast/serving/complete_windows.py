"""Which recent counts a served model can forecast from: the last stretch of consecutive
intervals in which every zone has a count.

A model reads every zone at once, so a window is complete only where each of its
intervals is present with a count for every zone. A data file passed whole (or a window
file with a hole) has incomplete stretches: a gap, an empty count, a zone whose recent
rows are missing. The forecast starts from the last stretch at least a window long; when
it ends before the input's last interval, or when there is none, the zones and intervals
that stop a later window are named, never filled in or skipped silently.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
import polars as pl

from dpforecast.data.clock import Clock
from dpforecast.data.schema import TIMESTAMP
from dpforecast.features.windows import incomplete_rows
from dpforecast.serving.window import WindowInputError

_NAMED = 3  # zones named before "and N more"


@dataclass(frozen=True)
class CompleteStretch:
    """``counts``: the last run of consecutive complete intervals at least a window long
    (every complete window inside it can be forecast; the last one ends at its last row);
    ``note``: empty when that row is the input's last interval, else why it is not."""

    counts: pl.DataFrame
    note: str


def _run_lengths(counts: pl.DataFrame, zones: list[str], clock: Clock) -> np.ndarray:
    """For each row: how many consecutive complete intervals (of the data set's clock) end there."""
    complete = ~incomplete_rows(counts, zones)
    rows = np.arange(counts.height)
    follows = np.concatenate([[False], clock.consecutive(counts[TIMESTAMP], rows[:-1], rows[1:], 1)])
    runs = np.zeros(counts.height, dtype=np.int64)
    for i in range(counts.height):
        if complete[i]:
            runs[i] = runs[i - 1] + 1 if i and follows[i] and complete[i - 1] else 1
    return runs


def _missing(counts: pl.DataFrame, zones: list[str], names: dict[str, str], window: int, clock: Clock) -> str:
    """What the last ``window`` intervals up to the input's last one lack: the intervals with
    no row at all, and the zones with no count in some of them (by id and name)."""
    last: datetime = counts[TIMESTAMP][-1]
    if clock.local:  # the grid's own positions: a local-clock interval may be longer or shorter
        at = clock.positions(counts[TIMESTAMP])
        present = counts.filter(pl.Series(at.on_grid & (at.index > at.index[-1] - window)))
    else:  # in microseconds since the epoch: wall-clock arithmetic is wrong across a change of time
        end = int(counts[TIMESTAMP].dt.epoch("us")[-1])
        wanted = [end - k * clock.interval_minutes * 60_000_000 for k in range(window)]
        present = counts.filter(pl.col(TIMESTAMP).dt.epoch("us").is_in(wanted))
    absent = window - present.height
    parts = [f"no row for {absent} of them"] if absent else []
    short = [(z, present.height - present[z].null_count()) for z in zones if present[z].null_count()]
    for zone, n in short[:_NAMED]:
        when = present.filter(pl.col(zone).is_null())[TIMESTAMP][0]
        parts.append(f"zone {zone} ({names.get(zone, zone)}) has a count in {n} of the {present.height} present, "
                     f"none at {when.isoformat()}")
    if len(short) > _NAMED:
        parts.append(f"and {len(short) - _NAMED} more zone(s) lack counts")
    return (f"the last {window} intervals up to {last.isoformat()} are needed with a count for every zone; "
            + "; ".join(parts))


def last_complete_stretch(counts: pl.DataFrame, window: int, clock: Clock, names: dict[str, str],
                          source: str = "input") -> CompleteStretch:
    """The last stretch of ``counts`` (``timestamp`` sorted, aware; one column per zone,
    null where a count is missing) from which a model with a ``window`` of intervals of
    ``clock`` can forecast; refused, naming what is missing, if none."""
    if counts.height == 0:
        raise WindowInputError(f"{source}: no rows of counts")
    zones = [c for c in counts.columns if c != TIMESTAMP]
    runs = _run_lengths(counts, zones, clock)
    ends = np.flatnonzero(runs >= window)
    if not len(ends):
        raise WindowInputError(f"{source}: no {window} consecutive {clock.name} intervals with a count "
                               f"for every zone: {_missing(counts, zones, names, window, clock)}")
    end = int(ends[-1])
    stretch = counts.slice(end - int(runs[end]) + 1, int(runs[end]))
    if end == counts.height - 1:
        return CompleteStretch(stretch, "")
    return CompleteStretch(stretch, f"forecast from the last complete window, ending {counts[TIMESTAMP][end].isoformat()}"
                                    f": {_missing(counts, zones, names, window, clock)}")
