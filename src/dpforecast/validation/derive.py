"""The typed table the second phase checks: parsed values plus derived check columns.

Built with Polars from a raw table whose cells already passed the format checks, so
parsing can only fail for values a regular expression cannot rule out (a date such as
2020-02-30, a wall-clock time skipped by the start of summer time, a count too large for
64 bits); those rows get a ``parse_problem`` instead of an exception. On a valid table
the ``timestamp`` and count columns equal :func:`dpforecast.data.ingest.to_series`.

Derived columns (each checked by one expectation):

* ``parse_problem``: null, or why the row's time or counts could not be parsed;
* ``unexpected_step_minutes``: null where the step from the previous row is 30 minutes,
  or ``30 * (missing + 1)`` right after a declared gap; otherwise the step, in minutes
  between instants (so the end of summer time is measured correctly);
* ``total_minus_zones``: ``Total`` minus the sum of the six zones (expected 0).
"""

from __future__ import annotations

import operator
from functools import reduce

import polars as pl

from dpforecast.config import DeclaredGap
from dpforecast.data.ingest import ROW
from dpforecast.data.schema import DATE, HOUR, INTERVAL_MINUTES, TIMESTAMP, TOTAL, ZONE_NAMES

PARSE_PROBLEM = "parse_problem"
UNEXPECTED_STEP = "unexpected_step_minutes"
RESIDUAL = "total_minus_zones"

_COUNTS = [*ZONE_NAMES.values(), TOTAL]


def expected_steps(gaps: tuple[DeclaredGap, ...]) -> dict[str, int]:
    """Local wall-clock ``YYYY-MM-DD HH:MM`` of a row -> expected minutes to the next row."""
    return {g.after: INTERVAL_MINUTES * (g.missing + 1) for g in gaps}


def typed_table(raw: pl.DataFrame, timezone: str, gaps: tuple[DeclaredGap, ...]) -> pl.DataFrame:
    """``row``, ``Date``, ``Hour`` as written, ``timestamp``, typed counts, derived columns."""
    local = (pl.col(DATE) + " " + pl.col(HOUR)).str.strptime(
        pl.Datetime("us"), "%Y-%m-%d %H:%M:%S", strict=False
    )
    # The same reading as ingest.parse_timestamps (repeated hour = summer time), but a
    # time that does not exist becomes null here and is reported by row.
    ts = local.dt.replace_time_zone(timezone, ambiguous="earliest", non_existent="null")
    counts = [pl.col(c).str.strip_chars().cast(pl.Int64, strict=False).alias(c) for c in _COUNTS]
    frame = raw.select(pl.col(ROW), pl.col(DATE), pl.col(HOUR), ts.alias(TIMESTAMP), *counts)

    problems = [
        pl.when(pl.col(TIMESTAMP).is_null()).then(
            pl.format(f"'{{}} {{}}' is not a valid local time in {timezone}", pl.col(DATE), pl.col(HOUR))
        )
    ]
    for c in _COUNTS:
        problems.append(
            pl.when(pl.col(c).is_null()).then(pl.lit(f"'{c}' does not fit a 64-bit integer"))
        )
    frame = frame.with_columns(pl.concat_str(problems, separator="; ", ignore_nulls=True).alias(PARSE_PROBLEM))
    frame = frame.with_columns(
        pl.when(pl.col(PARSE_PROBLEM) == "").then(None).otherwise(pl.col(PARSE_PROBLEM)).alias(PARSE_PROBLEM)
    )

    wall = pl.col(DATE) + " " + pl.col(HOUR).str.slice(0, 5)
    expected = (
        wall.shift(1)
        .replace_strict(expected_steps(gaps), default=INTERVAL_MINUTES, return_dtype=pl.Int64)
    )
    step = pl.col(TIMESTAMP).diff().dt.total_minutes()
    zones = reduce(operator.add, [pl.col(c) for c in ZONE_NAMES.values()])  # null if any is
    return frame.with_columns(
        pl.when(step != expected).then(step).otherwise(None).cast(pl.Int64).alias(UNEXPECTED_STEP),
        (pl.col(TOTAL) - zones).alias(RESIDUAL),
    )
