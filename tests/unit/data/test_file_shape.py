"""A counts file's shape read from the file alone: delimiter, layout, zone and count columns."""

from __future__ import annotations

from pathlib import Path

import pytest

from dpforecast.data.file_shape import read_shape, sniff_delimiter
from dpforecast.errors import DataFileError


def _write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n")
    return path


def test_the_delimiter_is_the_one_that_splits_every_line_alike(tmp_path: Path):
    tab = _write(tmp_path / "t.tsv", ["when\ta\tb", "2024-01-01 00:00\t1\t2", "2024-01-01 01:00\t3\t4"])
    assert sniff_delimiter(tab) == "\t"
    with pytest.raises(DataFileError, match=r"one.txt: line 1: none of ',', ';', '\\t', '\|' splits"):
        sniff_delimiter(_write(tmp_path / "one.txt", ["just words", "and more words"]))


def test_a_long_file_with_numbered_sites_and_a_name_column(tmp_path: Path):
    rows = ["site,site_name,time,count"] + [f"{s},Site {s},13/01/2024 {h:02d}:00,{h * s}"
                                             for h in range(6) for s in (10, 2, 1)]
    shape, _ = read_shape(_write(tmp_path / "sites.csv", rows))
    lay = shape.layout
    assert (lay.kind, lay.zone, lay.count, lay.timestamp, lay.timestamp_format) == (
        "long", "site", "count", "time", "%d/%m/%Y %H:%M")
    assert shape.zones == ("1", "2", "10") and lay.ignored == ("site_name",)  # in natural order


def test_a_wide_file_with_one_repeated_row_stays_wide(tmp_path: Path):
    rows = ["timestamp,north,south"] + [f"2024-01-01T{h:02d}:00:00+01:00,{h},{h + 1}" for h in range(12)]
    shape, _ = read_shape(_write(tmp_path / "w.csv", [*rows, rows[-1]]))
    assert shape.layout.kind == "wide" and shape.zones == ("north", "south") and shape.total is None
