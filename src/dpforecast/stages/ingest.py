"""Stage ``ingest``: copy the operator's CSV into a Parquet table, every cell as written."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from dpforecast.data.ingest import read_raw
from dpforecast.io import write_parquet


def ingest(raw_csv: str | Path, out: str | Path) -> pl.DataFrame:
    """Read ``raw_csv`` as text and write it to ``out``; the source file is never modified."""
    raw = read_raw(raw_csv)
    write_parquet(out, raw)
    return raw
