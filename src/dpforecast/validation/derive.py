"""The typed table the second phase checks: parsed values plus derived check columns.

Built with Polars from a raw table whose cells already passed the format checks, so
parsing can only fail for values a regular expression cannot rule out (a date such as
2020-02-30, a wall-clock time skipped by the start of summer time, a count too large for
64 bits); those rows get a ``parse_problem`` instead of an exception. A long file is
pivoted to one row per interval here (its line number is the interval's first line).

Rows the spec declares gaps are removed first and returned beside the table, with the
reason, so the report can count them: a local time skipped by a change of time
(``nonexistent_times: gap``) and every row of a repeated timestamp
(``duplicate_times: gap``). Everything else stays for the checks.

Derived columns (each checked by one expectation):

* ``parse_problem``: null, or why the row's time or counts could not be parsed;
* ``unexpected_step_minutes``: null where the step from the previous row is one interval,
  ``interval * (missing + 1)`` right after a declared gap, or any whole number of
  intervals if the spec lets undeclared gaps be gaps; otherwise the step in minutes
  between instants (so the end of summer time is measured correctly). On a local clock
  an interval lasts from one wall-clock start to the next (:mod:`dpforecast.data.clock`),
  so the expected step is the previous interval's own duration;
* ``total_minus_zones``: the total column minus the sum of the zones (expected 0);
* ``foreign_offset``: the offset an ISO 8601 cell is written with, where the spec's time
  zone has another at that instant (:func:`dpforecast.data.timestamps.foreign_offsets`);
* ``step_minutes``: minutes since the previous row, whatever the policies: the most
  common one is the file's interval, which must be the spec's.
"""

from __future__ import annotations

import operator
from functools import reduce

import numpy as np
import polars as pl

from dpforecast.data.ingest import series_from_typed
from dpforecast.data.schema import ROW, TIMESTAMP
from dpforecast.data.spec import DatasetSpec, DeclaredGap
from dpforecast.data.timestamps import foreign_offsets, instants, skipped_local

PARSE_PROBLEM = "parse_problem"
UNEXPECTED_STEP = "unexpected_step_minutes"
RESIDUAL = "total_minus_zones"
FOREIGN_OFFSET = "foreign_offset"
STEP_MINUTES = "step_minutes"
REASON = "reason"


def expected_steps(gaps: tuple[DeclaredGap, ...], interval: int) -> dict[str, int]:
    """Local wall-clock ``YYYY-MM-DD HH:MM`` of a row -> expected minutes to the next row."""
    return {g.after: interval * (g.missing + 1) for g in gaps}


def local_steps(stamps: pl.Series, spec: DatasetSpec) -> pl.Series:
    """On a local clock, True where a row starts the interval after the previous row's (the
    previous interval's duration later, 1 or 3 hours at a change of time for 2-hour counts),
    ``missing + 1`` intervals on after a declared gap, or any later start if undeclared gaps
    are gaps; null where either time is unknown (reported as a parse problem)."""
    at = spec.clock.positions(stamps)
    missing = {g.after: g.missing for g in spec.declared_gaps}
    walls = stamps.dt.strftime("%Y-%m-%d %H:%M").to_list()
    skip = np.array([missing.get(w, 0) if w else 0 for w in walls], np.int64)
    prev, cur = np.arange(len(walls) - 1), np.arange(1, len(walls))
    both = at.on_grid[prev] & at.on_grid[cur]
    ahead = at.index[cur] - at.index[prev]
    ok = both & (ahead == skip[prev] + 1)
    if spec.undeclared_gaps == "gap":
        ok |= both & (ahead > 0)
    known = stamps.is_not_null().to_numpy()
    values = [None, *(bool(v) if known[i] and known[i + 1] else None for i, v in enumerate(ok))]
    return pl.Series("on_grid", values[:len(walls)], dtype=pl.Boolean)


def count_columns(spec: DatasetSpec) -> list[str]:
    """The typed table's count columns: the zones as the file names them, then the total."""
    return [z.source for z in spec.zones] + ([spec.total] if spec.total else [])


def _count(column: str, spec: DatasetSpec) -> pl.Expr:
    """A count cell as Int64 (null if empty or unreadable), as the spec says it is written."""
    text = pl.col(column).str.strip_chars()
    if spec.layout.count_format == "whole_decimal":
        text = text.str.replace(r"\.0+$", "")
    return text.cast(pl.Int64, strict=False)


def _typed_rows(raw: pl.DataFrame, spec: DatasetSpec) -> pl.DataFrame:
    """One typed row per source row (wide) or per interval (long). A time column the file
    itself names ``timestamp`` gives way to the parsed one."""
    lay = spec.layout
    time_cols = [c for c in lay.time_columns() if c]
    shown = [c for c in time_cols if c != TIMESTAMP]
    ts = instants(spec).alias(TIMESTAMP)
    skipped = skipped_local(spec).alias("_skipped")
    text = pl.concat_str([pl.col(c) for c in time_cols], separator=" ").alias("_time_text")
    foreign = foreign_offsets(spec).alias(FOREIGN_OFFSET)
    if lay.kind == "wide":
        counts = [_count(c, spec).alias(c) for c in count_columns(spec)]
        bad = [pl.col(c).is_not_null() & _count(c, spec).is_null() for c in count_columns(spec)]
        typed = raw.select(pl.col(ROW), *shown, ts, skipped, text, foreign, *counts,
                           *(b.alias(f"_bad{i}") for i, b in enumerate(bad)))
        return typed.with_columns(pl.lit(0, pl.Int64).alias("_dups"))
    return _long_to_wide(raw, spec, time_cols, shown, [ts, skipped, text, foreign])


def _long_to_wide(raw: pl.DataFrame, spec: DatasetSpec, time_cols: list[str], shown: list[str],
                  parsed: list[pl.Expr]) -> pl.DataFrame:
    """A long file as one row per distinct time cell: each time read once, the counts
    scattered into a (times x zones) array (the first of repeated zone rows kept, the
    repetition reported), the row number the time's first line."""
    lay = spec.layout
    zones = [z.source for z in spec.zones]
    cells = raw.select(
        pl.col(ROW), *time_cols,
        pl.col(lay.zone).str.strip_chars().replace_strict(zones, list(range(len(zones))), default=None,
                                                          return_dtype=pl.Int64).alias("_z"),
        _count(lay.count, spec).alias("_count"),
        (pl.col(lay.count).is_not_null() & _count(lay.count, spec).is_null()).alias("_bad"),
    ).filter(pl.col("_z").is_not_null())
    times = cells.select(time_cols).unique(maintain_order=True).with_row_index("_t")
    cells = cells.join(times, on=time_cols, how="left", nulls_equal=True, maintain_order="left")
    per_time = cells.group_by("_t").agg(
        pl.col(ROW).min(), pl.col("_bad").any().alias("_bad0"), (pl.len() - pl.col("_z").n_unique()).alias("_dups"))
    n_times, n_zones = times.height, len(zones)
    flat = cells["_t"].cast(pl.Int64).to_numpy() * n_zones + cells["_z"].to_numpy()
    values = np.zeros(n_times * n_zones, np.int64)
    present = np.zeros(n_times * n_zones, bool)
    # Written last to first, so where a zone repeats at one time its first row is kept.
    values[flat[::-1]] = cells["_count"].fill_null(0).to_numpy()[::-1]
    present[flat[::-1]] = cells["_count"].is_not_null().to_numpy()[::-1]
    values, present = values.reshape(n_times, n_zones), present.reshape(n_times, n_zones)
    columns = [pl.Series(z, values[:, j]).scatter(np.flatnonzero(~present[:, j]), None) for j, z in enumerate(zones)]
    wide = times.with_columns(parsed).join(per_time, on="_t", how="left", maintain_order="left")
    return pl.concat([wide.select(ROW, *shown, TIMESTAMP, "_skipped", "_time_text", FOREIGN_OFFSET, "_bad0", "_dups"),
                      pl.DataFrame(columns)],
                     how="horizontal").sort(ROW)


def typed_table(raw: pl.DataFrame, spec: DatasetSpec) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The checked table (``row``, the time cells, ``timestamp``, typed counts, derived
    columns) and the rows the spec's policies turned into gaps (``row``, ``reason``)."""
    typed = _typed_rows(raw, spec)
    dropped: list[pl.DataFrame] = []
    if spec.nonexistent_times == "gap":
        skipped = pl.col("_skipped")
        dropped.append(typed.filter(skipped).select(ROW, pl.lit("local time skipped by a change of time").alias(REASON)))
        typed = typed.filter(~skipped)
    if spec.duplicate_times == "gap":
        repeated = pl.col(TIMESTAMP).is_not_null() & pl.col(TIMESTAMP).is_duplicated()
        dropped.append(typed.filter(repeated).select(ROW, pl.lit("timestamp repeated in the file").alias(REASON)))
        typed = typed.filter(~repeated)

    tz = spec.timezone
    time_text = pl.col("_time_text")
    problems = [
        pl.when(pl.col(TIMESTAMP).is_null()).then(pl.format(f"'{{}}' is not a valid local time in {tz}", time_text)),
        pl.when(pl.col("_dups") > 0).then(pl.lit("a zone appears more than once at this time")),
    ]
    bad_cols = [c for c in typed.columns if c.startswith("_bad")]
    names = count_columns(spec) if spec.layout.kind == "wide" else [spec.layout.count]
    for flag, c in zip(bad_cols, names, strict=False):
        problems.append(pl.when(pl.col(flag)).then(pl.lit(f"'{c}' does not fit a 64-bit integer")))
    typed = typed.with_columns(pl.concat_str(problems, separator="; ", ignore_nulls=True).alias(PARSE_PROBLEM))
    typed = typed.with_columns(
        pl.when(pl.col(PARSE_PROBLEM) == "").then(None).otherwise(pl.col(PARSE_PROBLEM)).alias(PARSE_PROBLEM)
    ).drop("_skipped", "_time_text", "_dups", *bad_cols)

    interval = spec.interval_minutes
    step = pl.col(TIMESTAMP).diff().dt.total_microseconds()
    if spec.clock.local:
        on_grid: pl.Expr | pl.Series = local_steps(typed[TIMESTAMP], spec)
    else:
        wall = pl.col(TIMESTAMP).dt.strftime("%Y-%m-%d %H:%M")
        expected = wall.shift(1).replace_strict(
            expected_steps(spec.declared_gaps, interval), default=interval, return_dtype=pl.Int64)
        # In seconds: a row a few seconds off the grid is off the grid.
        on_grid = step == expected * 60_000_000
        if spec.undeclared_gaps == "gap":
            on_grid = on_grid | ((step > 0) & (step % (interval * 60_000_000) == 0))
    minutes = step.cast(pl.Float64) / 60_000_000
    derived = [pl.when(on_grid).then(None).otherwise(minutes).alias(UNEXPECTED_STEP)]
    derived.append(minutes.alias(STEP_MINUTES))
    if spec.total:
        zones = reduce(operator.add, [pl.col(z.source) for z in spec.zones])  # null if any is
        derived.append((pl.col(spec.total) - zones).alias(RESIDUAL))
    dropped_rows = pl.concat(dropped) if dropped else pl.DataFrame(schema={ROW: pl.Int64, REASON: pl.String})
    return typed.with_columns(derived), dropped_rows.sort(ROW)


def to_series(raw: pl.DataFrame, spec: DatasetSpec) -> pl.DataFrame:
    """The series of a raw table that passed validation: ``timestamp``, one Int64 column per
    zone (its id), and ``total`` if the data set has one; rows the spec makes gaps left out."""
    return series_from_typed(typed_table(raw, spec)[0], spec)
