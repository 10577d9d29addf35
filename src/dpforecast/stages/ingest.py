"""Stage ``ingest``: the operator's files into one Parquet table, every cell as written.

The data set's base file and its accepted increments (its spec's ``files.increments``,
one file per delivered day) are read in order; none of them is ever modified.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import polars as pl

from dpforecast.data.ingest import read_raw_files
from dpforecast.runtime.io import write_parquet


def ingest(
    raw_csv: str | Path, out: str | Path, increments: Sequence[str | Path] = (), delimiter: str = ",",
) -> pl.DataFrame:
    """Read ``raw_csv`` then ``increments`` as text and write them to ``out`` as one table."""
    raw = read_raw_files([raw_csv, *increments], delimiter)
    write_parquet(out, raw)
    return raw
