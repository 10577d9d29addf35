"""Long frames (``unique_id, ds, y``) in and out, checked by the pipeline's own validation suite.

A frame is turned into the table of strings a long CSV file would give (the zone, an ISO
8601 time, the count) and validated against the data set's spec with its layout replaced
by that long one, so a notebook's frame meets exactly the rules a delivered file meets:
zones, grid, gaps, changes of time, missing values, plausible counts. ``ds`` may be
time-zone aware (any zone: converted) or naive (the data set's local wall clock, read as
its spec says for a repeated or skipped hour).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import polars as pl

from dpforecast.config import Params
from dpforecast.data.ingest import series_from_typed
from dpforecast.data.schema import ROW, TIMESTAMP
from dpforecast.data.spec import DatasetSpec, Layout
from dpforecast.data.time_formats import ISO8601
from dpforecast.validation import DataValidationError, validate_raw

ID, DS, Y = "unique_id", "ds", "y"
DURATION = "duration_minutes"  # a forecast's target interval, in minutes (longer or shorter on a local clock)


class FrameError(ValueError):
    """A frame is not a long frame of counts (the message names the column)."""


def as_polars(df: Any) -> pl.DataFrame:
    """A Polars frame from Polars or pandas (a pandas index named ``ds`` or ``unique_id`` kept)."""
    if isinstance(df, pl.DataFrame):
        return df
    try:
        import pandas as pd
    except ImportError:  # pragma: no cover - pandas ships with the stack
        pd = None
    if pd is not None and isinstance(df, pd.DataFrame):
        named = [n for n in df.index.names if n in (ID, DS)]
        df = df.reset_index() if named else df
        for column in df.columns:  # a column of mixed Python objects has no table type
            try:
                pl.from_pandas(df[[column]])
            except Exception as exc:  # noqa: BLE001 - pyarrow's many conversion errors
                raise FrameError(f"frame: column {column} cannot be read as one type ({exc})") from None
        return pl.from_pandas(df)
    raise FrameError(f"expected a Polars or pandas DataFrame with columns {ID}, {DS}, {Y}; got {type(df).__name__}")


def long_spec(spec: DatasetSpec) -> DatasetSpec:
    """``spec`` with a long layout (``unique_id`` the zone id, ``ds`` ISO 8601, ``y``)."""
    layout = Layout(kind="long", timestamp=DS, timestamp_format=ISO8601, zone=ID, count=Y)
    return replace(spec, layout=layout, zones=tuple(replace(z, source=z.id) for z in spec.zones), total=None,
                   path=f"{spec.path} (in-memory frame)")


def _strings(frame: pl.DataFrame, spec: DatasetSpec) -> pl.DataFrame:
    """The frame as the cells of a long CSV file: every value a string, ``row`` numbering
    the frame's rows from 1 (reported as the line)."""
    missing = [c for c in (ID, DS, Y) if c not in frame.columns]
    if missing:
        raise FrameError(f"frame: missing column(s) {', '.join(missing)} (a long frame has {ID}, {DS}, {Y})")
    ds = frame[DS]
    if isinstance(ds.dtype, pl.Datetime):
        if ds.dtype.time_zone is not None:
            text = pl.col(DS).dt.convert_time_zone(spec.timezone).dt.strftime("%Y-%m-%dT%H:%M:%S%:z")
        else:
            text = pl.col(DS).dt.strftime("%Y-%m-%dT%H:%M:%S")
    elif ds.dtype == pl.String:
        text = pl.col(DS)
    else:
        raise FrameError(f"frame: column {DS} is {ds.dtype}; expected datetimes (aware or the data set's local "
                         f"wall clock) or ISO 8601 strings")
    y = frame[Y]
    if y.dtype.is_float():  # NaN is pandas' missing value; a whole number is a count; anything else is refused
        whole = (pl.col(Y) == pl.col(Y).round(0)) & (pl.col(Y).abs() < 2.0**62)
        count = (pl.when(pl.col(Y).is_nan()).then(None)
                 .when(whole).then(pl.col(Y).cast(pl.Int64, strict=False).cast(pl.String))
                 .otherwise(pl.col(Y).cast(pl.String)))
    elif y.dtype.is_integer() or y.dtype == pl.String:
        count = pl.col(Y).cast(pl.String)
    else:
        raise FrameError(f"frame: column {Y} is {y.dtype}; expected counts (integers)")
    return frame.select(pl.col(ID).cast(pl.String), text.alias(DS), count.alias(Y),
                        pl.int_range(1, frame.height + 1, dtype=pl.Int64).alias(ROW))


def to_series(df: Any, params: Params) -> pl.DataFrame:
    """The validated series (``timestamp``, one Int64 column per zone id) of a long frame;
    :class:`DataValidationError` (every failed rule, with rows) if it breaks the spec."""
    spec = long_spec(params.data_set)
    raw = _strings(as_polars(df), spec)
    report = validate_raw(raw, replace(params, spec=spec), source="frame")
    if not report.passed:
        raise DataValidationError(report, report.message())
    return series_from_typed(report.typed, spec)


def to_long(series: pl.DataFrame, zones: list[str]) -> pl.DataFrame:
    """``unique_id, ds, y`` (one row per zone and interval, missing counts null) of a series."""
    return series.select(TIMESTAMP, *zones).unpivot(index=TIMESTAMP, on=zones, variable_name=ID, value_name=Y).rename(
        {TIMESTAMP: DS}).select(ID, DS, Y).sort(ID, DS)
