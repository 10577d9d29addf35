"""dpforecast.data.ingest: CSV cells read as written, numbered by source line; the typed series from validation's table."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from zoneinfo import ZoneInfo

import polars as pl
import pytest

from dpforecast.data.ingest import (
    RawFormatError,
    drop_total,
    increments,
    read_raw,
    read_raw_files,
    series_from_typed,
    source_files,
)

from synthetic_project import synthetic_spec


def test_cells_are_kept_as_written_and_rows_numbered_from_line_two(write_csv):
    path = write_csv(" timestamp , a ,b\r\n2024-01-01T00:00:00+01:00,007,\r\n2024-01-01T01:00:00+01:00,1.0,x\r\n")
    raw = read_raw(path)
    assert raw.columns == ["timestamp", "a", "b", "row"]  # header names stripped, the line number appended
    assert raw.schema["a"] == pl.String and raw.schema["row"] == pl.Int64
    assert raw.rows() == [("2024-01-01T00:00:00+01:00", "007", None, 2), ("2024-01-01T01:00:00+01:00", "1.0", "x", 3)]


def test_another_delimiter_is_read_when_named(write_csv):
    path = write_csv("timestamp;a\n2024-01-01;5\n")
    assert read_raw(path, ";")["a"].to_list() == ["5"]
    assert read_raw(path).columns == ["timestamp;a", "row"]  # the default delimiter sees one column


def test_a_missing_or_empty_file_is_refused_by_name(tmp_path, write_csv):
    with pytest.raises(RawFormatError, match=r"nowhere\.csv: no such file"):
        read_raw(tmp_path / "nowhere.csv")
    with pytest.raises(RawFormatError, match=r"blank\.csv: the file is empty \(expected a header and data rows\)"):
        read_raw(write_csv(" \n\n", "blank.csv"))


def test_a_file_that_is_not_utf8_names_the_line_and_byte(tmp_path):
    path = tmp_path / "latin.csv"
    path.write_bytes(b"timestamp,zone\n2024-01-01,1\n2024-01-02,caf\xe9\n")
    with pytest.raises(RawFormatError) as refused:
        read_raw(path)
    assert str(refused.value) == (f"{path}: line 3: not a readable UTF-8 text file (byte 0xe9 at offset 42); "
                                  "save it as UTF-8")


def test_a_table_polars_cannot_read_is_refused_with_its_delimiter(write_csv):
    path = write_csv('timestamp,a\n"2024-01-01,1\n', "quote.csv")
    with pytest.raises(RawFormatError, match=r"quote\.csv: not a readable ','-separated UTF-8 file"):
        read_raw(path)


def test_files_are_numbered_as_one_file_in_the_order_given(tmp_path):
    base, day = tmp_path / "base.csv", tmp_path / "2024-01-02.csv"
    base.write_text("timestamp,a\nt1,1\nt2,2\n")
    day.write_text("timestamp,a\nt3,3\n")
    table = read_raw_files([base, day])
    assert table.rows() == [("t1", "1", 2), ("t2", "2", 3), ("t3", "3", 4)]
    assert read_raw_files([day, base])["a"].to_list() == ["3", "1", "2"]


def test_files_with_another_header_or_none_at_all_are_refused(tmp_path):
    base, other = tmp_path / "base.csv", tmp_path / "other.csv"
    base.write_text("timestamp,a\nt1,1\n")
    other.write_text("timestamp,b\nt2,2\n")
    with pytest.raises(RawFormatError, match=r"other\.csv: header \['timestamp', 'b'\] differs from .*base\.csv's "
                                             r"\['timestamp', 'a'\]"):
        read_raw_files([base, other])
    with pytest.raises(RawFormatError, match="no raw data file given"):
        read_raw_files([])


def test_increments_are_the_folders_csv_files_in_name_order(tmp_path):
    folder = tmp_path / "increments"
    assert increments(folder) == []  # no folder yet: no delivery accepted
    folder.mkdir()
    for name in ("2024-01-10.csv", "2024-01-02.csv", "notes.txt"):
        (folder / name).write_text("")
    assert [p.name for p in increments(folder)] == ["2024-01-02.csv", "2024-01-10.csv"]


def test_source_files_are_the_base_file_then_the_increments(tmp_path):
    spec = synthetic_spec()
    assert source_files(tmp_path, spec) == [tmp_path / spec.raw]
    folder = tmp_path / "data" / "added"
    folder.mkdir(parents=True)
    (folder / "2024-02-01.csv").write_text("")
    with_increments = replace(spec, increments="data/added")
    assert source_files(tmp_path, with_increments) == [tmp_path / spec.raw, folder / "2024-02-01.csv"]


def test_the_series_takes_zone_ids_and_the_total_from_the_typed_table():
    spec = synthetic_spec()
    zones = tuple(replace(z, source=f"Zone {z.id}") for z in spec.zones)
    spec = replace(spec, zones=zones, total="All")
    stamp = datetime(2024, 1, 1, tzinfo=ZoneInfo("Europe/Paris"))
    typed = pl.DataFrame({"row": [2], "timestamp": [stamp], "Zone z0001": [1], "Zone z0002": [2], "Zone z0003": [3],
                          "All": [6], "parse_problem": [None]})
    series = series_from_typed(typed, spec)
    assert series.columns == ["timestamp", "z0001", "z0002", "z0003", "total"]
    assert series.row(0) == (stamp, 1, 2, 3, 6)
    assert series_from_typed(typed, replace(spec, total=None)).columns == ["timestamp", "z0001", "z0002", "z0003"]


def test_drop_total_removes_only_the_total():
    series = pl.DataFrame({"timestamp": [1], "z0001": [2], "total": [2]})
    assert drop_total(series).columns == ["timestamp", "z0001"]
    assert drop_total(series.drop("total")).equals(series.drop("total"))
