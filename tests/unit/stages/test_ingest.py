"""dpforecast.stages.ingest: the base file and its increments into one Parquet table, every cell as written."""

from __future__ import annotations

import polars as pl
import pytest

from dpforecast.data.ingest import RawFormatError
from dpforecast.stages.ingest import ingest


def test_the_files_are_concatenated_as_text_and_written(tmp_path):
    base, day = tmp_path / "base.csv", tmp_path / "2024-01-02.csv"
    base.write_text("timestamp,a\n2024-01-01T23:00:00+00:00,007\n")
    day.write_text("timestamp,a\n2024-01-02T00:00:00+00:00,\n")
    out = tmp_path / "artifacts" / "raw.parquet"
    table = ingest(base, out, [day])
    assert pl.read_parquet(out).equals(table)
    assert table.to_dicts() == [{"timestamp": "2024-01-01T23:00:00+00:00", "a": "007", "row": 2},
                                {"timestamp": "2024-01-02T00:00:00+00:00", "a": None, "row": 3}]


def test_another_delimiter_is_read_and_a_foreign_header_refused(tmp_path):
    base, other = tmp_path / "base.csv", tmp_path / "other.csv"
    base.write_text("timestamp;a\n2024-01-01T00:00:00+00:00;5\n")
    assert ingest(base, tmp_path / "raw.parquet", delimiter=";")["a"].to_list() == ["5"]
    other.write_text("timestamp;b\n2024-01-01T01:00:00+00:00;6\n")
    with pytest.raises(RawFormatError, match="other.csv: header \\['timestamp', 'b'\\] differs"):
        ingest(base, tmp_path / "again.parquet", [other], delimiter=";")
    assert not (tmp_path / "again.parquet").exists()
