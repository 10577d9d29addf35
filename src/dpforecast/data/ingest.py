"""Read the operator's CSV into Polars: first exactly as written, then as a typed series.

Reading every cell as text first lets validation report bad cells (text in a count, an
empty cell) with their row numbers instead of failing inside a CSV parser.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import polars as pl

from dpforecast.data.schema import COUNT_COLUMNS, DATE, HOUR, TIMESTAMP, TOTAL, ZONE_NAMES

ROW = "row"  # line number in the source file (the header is line 1)


class RawFormatError(ValueError):
    """The file cannot be read as a table at all (missing, empty, not CSV)."""


def read_raw(path: str | Path) -> pl.DataFrame:
    """Every cell as a string, plus the source line number of each row."""
    path = Path(path)
    if not path.is_file():
        raise RawFormatError(f"{path}: no such file")
    if path.stat().st_size == 0 or not path.read_bytes().strip():
        raise RawFormatError(f"{path}: the file is empty (expected a header and data rows)")
    try:
        frame = pl.read_csv(path, infer_schema=False)
    except pl.exceptions.PolarsError as exc:
        raise RawFormatError(f"{path}: not a readable comma-separated file: {exc}") from exc
    frame = frame.rename({c: c.strip() for c in frame.columns})
    return frame.with_columns(pl.int_range(2, frame.height + 2, dtype=pl.Int64).alias(ROW))


def read_raw_files(paths: Sequence[str | Path]) -> pl.DataFrame:
    """The delivered files in order (the base file, then each accepted increment), as one
    table of strings. ``row`` numbers the concatenation as if it were one file (header = 1);
    each file must have the first file's header."""
    if not paths:
        raise RawFormatError("no raw data file given")
    frames = [read_raw(paths[0])]
    for path in paths[1:]:
        frame = read_raw(path)
        if frame.columns != frames[0].columns:
            raise RawFormatError(f"{path}: header {frame.columns[:-1]} differs from {paths[0]}'s {frames[0].columns[:-1]}")
        frames.append(frame)
    table = pl.concat(frames).drop(ROW)
    return table.with_columns(pl.int_range(2, table.height + 2, dtype=pl.Int64).alias(ROW))


def increments(folder: str | Path) -> list[Path]:
    """Accepted increments (one operator file per delivery), in name order (``YYYY-MM-DD.csv``)."""
    folder = Path(folder)
    return sorted(folder.glob("*.csv")) if folder.is_dir() else []


def parse_timestamps(raw: pl.DataFrame, timezone: str) -> pl.Series:
    """Local wall-clock ``Date`` + ``Hour`` as timezone-aware instants.

    At the end of summer time a wall-clock hour happens twice; the file holds it once,
    and we read it as its first occurrence (summer time), so the repeated hour is a
    declared gap of two intervals rather than a silent duplicate.
    """
    local = (pl.col(DATE) + " " + pl.col(HOUR)).str.strptime(
        pl.Datetime("us"), "%Y-%m-%d %H:%M:%S", strict=True
    )
    return raw.select(
        local.dt.replace_time_zone(timezone, ambiguous="earliest", non_existent="raise").alias(
            TIMESTAMP
        )
    ).to_series()


def to_series(raw: pl.DataFrame, timezone: str) -> pl.DataFrame:
    """Typed table: one timestamp, six zone counts with short names, and ``total``.

    Call on a table that passed validation; a bad cell here raises Polars' strict error.
    """
    counts = [pl.col(c).str.strip_chars().cast(pl.Int64, strict=True) for c in COUNT_COLUMNS]
    typed = raw.select(*counts)
    typed = typed.rename({**{v: k for k, v in ZONE_NAMES.items()}, TOTAL: "total"})
    return typed.insert_column(0, parse_timestamps(raw, timezone))


def drop_total(series: pl.DataFrame) -> pl.DataFrame:
    """The modelled table: ``total`` is redundant once validation checked it."""
    return series.drop("total")
