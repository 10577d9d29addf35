"""The spec key, and its value, that would read a file a check refused.

A file that contradicts its spec (another delimiter, counts written ``18.0``, another
interval, another time zone's offsets, gaps or repeated times the spec refuses) fails a
check of the suite. Where one key of the spec explains the whole failure, the report says
which key and what value would read the file, e.g. ``layout.delimiter: ';'``; the user
then decides whether the spec or the file is wrong. Where no key would (a negative count,
offsets no time zone has), nothing is suggested.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from dpforecast.data.file_shape import DELIMITERS
from dpforecast.data.schema import ROW, TIMESTAMP
from dpforecast.data.spec import DatasetSpec
from dpforecast.data.zone_offsets import offset_text, shown_zones, written_minutes, zones_with_offsets
from dpforecast.validation.derive import FOREIGN_OFFSET, STEP_MINUTES, UNEXPECTED_STEP, count_columns
from dpforecast.validation.outcomes import COLUMNS_EXPECTATION, Details, table_details


def delimiter_hint(columns: list[str], delimiter: str) -> str | None:
    """A header read as one column holding another delimiter: the file uses that one."""
    found = [c for c in columns if c != ROW]
    if len(found) != 1:
        return None
    other = next((d for d in DELIMITERS if d != delimiter and d in found[0]), None)
    if other is None:
        return None
    return (f"the header (line 1) is a single column containing {other!r}: the file seems to use {other!r} as "
            f"delimiter, {delimiter!r} is expected (the spec's layout.delimiter: {other!r} reads it)")


def details_for(spec: DatasetSpec) -> Details:
    """:func:`~dpforecast.validation.outcomes.table_details`, then the key that would fix
    the failure, if one would."""

    def details(kind: str, cfg: dict[str, Any], res: dict[str, Any], frame: pl.DataFrame) -> str:
        if kind == COLUMNS_EXPECTATION:
            hint = delimiter_hint(frame.columns, spec.layout.delimiter)
            if hint:
                return hint
        found = table_details(kind, cfg, res, frame)
        hint = _hint(spec, kind, cfg.get("kwargs", {}), res, frame)
        return "; ".join(p for p in (found, hint) if p)

    return details


def _hint(spec: DatasetSpec, kind: str, kwargs: dict[str, Any], res: dict[str, Any], frame: pl.DataFrame) -> str:
    column = kwargs.get("column")
    counts = {*count_columns(spec), spec.layout.count}
    if kind == "expect_column_values_to_match_regex" and column in counts and spec.layout.count_format == "integer":
        return _whole_decimals(frame, column)
    if kind == "expect_column_values_to_not_be_null" and column in counts and spec.missing_values == "refuse":
        return "missing_values: gap reads an empty count as missing (the windows touching it are dropped)"
    if kind == "expect_column_values_to_be_unique" and column == TIMESTAMP and spec.duplicate_times == "refuse":
        return "duplicate_times: gap leaves every row of a repeated time out, as a gap"
    if kind == "expect_column_values_to_be_null" and column == UNEXPECTED_STEP and spec.undeclared_gaps == "refuse":
        return _missing_intervals(frame, spec.interval_minutes)
    if kind == "expect_column_most_common_value_to_be_in_set" and column == STEP_MINUTES:
        return _interval(res.get("observed_value") or [], spec.interval_minutes)
    if kind == "expect_column_values_to_be_null" and column == FOREIGN_OFFSET:
        return _time_zone(frame, spec.timezone)
    return ""


def _whole_decimals(frame: pl.DataFrame, column: str) -> str:
    values = frame.get_column(column).drop_nulls().str.strip_chars()
    bad = values.filter(~values.str.contains(r"^[0-9]+$"))
    if bad.len() and bad.str.contains(r"^[0-9]+\.0+$").all():
        return f"the counts are whole numbers written as decimals ({bad[0]!r}): layout.count_format: whole_decimal reads them"
    return ""


def _missing_intervals(frame: pl.DataFrame, interval: int) -> str:
    steps = frame.get_column(UNEXPECTED_STEP).drop_nulls()
    if steps.len() and ((steps > 0) & (steps % interval == 0)).all():
        return ("each is a whole number of intervals, so intervals are missing: declare them (declared_gaps), "
                "or undeclared_gaps: gap reads them as gaps")
    return ""


def _minutes(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def _interval(modes: list[float], interval: int) -> str:
    if not modes:
        return "the file has no two consecutive times to measure its step"
    steps = " and ".join(_minutes(m) for m in modes)
    said = f"the file's steps are {steps} minutes; the spec says {interval}"
    step = modes[0]
    if len(modes) == 1 and float(step).is_integer() and step > 0 and 1440 % int(step) == 0:
        return f"{said} (interval_minutes: {int(step)} reads it)"
    return said


def _zone_minutes(stamps: pl.Expr) -> pl.Expr:
    return (stamps.dt.base_utc_offset() + stamps.dt.dst_offset()).dt.total_minutes()


def _time_zone(frame: pl.DataFrame, timezone: str) -> str:
    """The offsets seen against the spec zone's, and the zones whose offsets they are."""
    rows = frame.filter(pl.col(TIMESTAMP).is_not_null()).select(
        ROW, pl.col(TIMESTAMP).dt.convert_time_zone("UTC").alias("utc"), FOREIGN_OFFSET,
        _zone_minutes(pl.col(TIMESTAMP)).alias("spec"))
    # What each row says its offset is: the one written where it is not the spec zone's.
    rows = rows.with_columns(
        pl.when(pl.col(FOREIGN_OFFSET).is_null()).then(pl.col("spec"))
        .otherwise(written_minutes(pl.col(FOREIGN_OFFSET))).alias("seen"))
    foreign = rows.filter(pl.col(FOREIGN_OFFSET).is_not_null())
    seen = foreign.group_by(FOREIGN_OFFSET).agg(pl.len(), pl.col(ROW).min()).sort(ROW)
    written = "; ".join(f"{o} on {n} row(s) from line {r}" for o, n, r in seen.iter_rows())
    theirs = ", ".join(offset_text(m) for m in foreign.get_column("spec").unique(maintain_order=True).to_list())
    said = f"offsets written: {written}; {timezone} is at {theirs} at those instants"
    zones = zones_with_offsets(rows.get_column("utc"), rows.get_column("seen"))
    if not zones:
        return f"{said}; no IANA time zone has these offsets at these instants"
    if len(zones) == 1:
        return f"{said}; timezone: {zones[0]} reads them"
    return f"{said}; timezone: any of {shown_zones(zones)} reads them (each has these offsets at these instants)"
