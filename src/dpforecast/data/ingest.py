"""Read a data set's CSV files into Polars: first exactly as written, then as a typed series.

Reading every cell as text first lets validation report bad cells (text in a count, an
empty cell) with their row numbers instead of failing inside a CSV parser.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import polars as pl

from dpforecast.data.schema import ROW, TIMESTAMP
from dpforecast.data.spec import DatasetSpec


class RawFormatError(ValueError):
    """The file cannot be read as a table at all (missing, empty, not CSV)."""


def read_raw(path: str | Path, delimiter: str = ",") -> pl.DataFrame:
    """Every cell as a string, plus the source line number of each row."""
    path = Path(path)
    if not path.is_file():
        raise RawFormatError(f"{path}: no such file")
    data = path.read_bytes()
    if not data.strip():
        raise RawFormatError(f"{path}: the file is empty (expected a header and data rows)")
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise RawFormatError(
            f"{path}: line {line}: not a readable UTF-8 text file (byte 0x{data[exc.start]:02x} at offset "
            f"{exc.start}); save it as UTF-8") from exc
    try:
        frame = pl.read_csv(path, infer_schema=False, separator=delimiter)
    except pl.exceptions.PolarsError as exc:
        raise RawFormatError(f"{path}: not a readable {delimiter!r}-separated UTF-8 file: {exc}") from exc
    frame = frame.rename({c: c.strip() for c in frame.columns})
    return frame.with_columns(pl.int_range(2, frame.height + 2, dtype=pl.Int64).alias(ROW))


def read_raw_files(paths: Sequence[str | Path], delimiter: str = ",") -> pl.DataFrame:
    """The delivered files in order (the base file, then each accepted increment), as one
    table of strings. ``row`` numbers the concatenation as if it were one file (header = 1);
    each file must have the first file's header."""
    if not paths:
        raise RawFormatError("no raw data file given")
    frames = [read_raw(paths[0], delimiter)]
    for path in paths[1:]:
        frame = read_raw(path, delimiter)
        if frame.columns != frames[0].columns:
            raise RawFormatError(f"{path}: header {frame.columns[:-1]} differs from {paths[0]}'s {frames[0].columns[:-1]}")
        frames.append(frame)
    table = pl.concat(frames).drop(ROW)
    return table.with_columns(pl.int_range(2, table.height + 2, dtype=pl.Int64).alias(ROW))


def increments(folder: str | Path) -> list[Path]:
    """Accepted increments (one operator file per delivery), in name order (``YYYY-MM-DD.csv``)."""
    folder = Path(folder)
    return sorted(folder.glob("*.csv")) if folder.is_dir() else []


def source_files(root: Path, spec: DatasetSpec) -> list[Path]:
    """The data set's base file, then its accepted increments, in the order they are read."""
    return [root / spec.raw, *(increments(root / spec.increments) if spec.increments else [])]


def series_from_typed(typed: pl.DataFrame, spec: DatasetSpec) -> pl.DataFrame:
    """The series (``timestamp``, one Int64 column per zone, ``total`` if any) from the typed
    table validation built (:func:`dpforecast.validation.derive.typed_table`, the one reading
    of the cells, shared with the checks; no second parse)."""
    names = {z.source: z.id for z in spec.zones}
    columns = [TIMESTAMP, *(pl.col(s).alias(i) for s, i in names.items())]
    if spec.total:
        columns.append(pl.col(spec.total).alias("total"))
    return typed.select(columns)


def drop_total(series: pl.DataFrame) -> pl.DataFrame:
    """The modelled table: ``total`` is redundant once validation checked it."""
    return series.drop("total", strict=False)
