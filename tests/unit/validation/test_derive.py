"""Validation of local-clock files: exactly the intervals the clock implies, in both
hemispheres, at 30, 60, 120 and 180 minutes, wide and long; anything else refused by line."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import polars as pl
import pytest

from dpforecast.config import Params, resolve
from dpforecast.data import synthetic
from dpforecast.data.spec import DatasetSpec, Layout, SpecError, load_spec, spec_from_dict
from dpforecast.validation import validate_csv
from dpforecast.validation.derive import to_series

# A local week around each change of time of each hemisphere's clocks.
CHANGES = {"Pacific/Auckland": ("2024-04-05", "2024-09-27"), "Europe/Paris": ("2024-03-29", "2024-10-25")}


def _written(tmp: Path, zone: str, start: str, interval: int, layout: str) -> tuple[pl.DataFrame, Params, Path]:
    frame = synthetic.generate(3, 7, interval, start=start, timezone=zone, interval_clock="local")
    csv, spec_path = synthetic.write(frame, tmp / "data", "city", layout, root=tmp, interval_clock="local")
    return frame, _params(load_spec(spec_path)), csv


def _params(spec: DatasetSpec) -> Params:
    return resolve(Params(dataset=spec.name), spec)


@pytest.mark.parametrize("layout", ["wide", "long"])
@pytest.mark.parametrize("interval", [30, 60, 120, 180])
@pytest.mark.parametrize("zone", sorted(CHANGES))
def test_a_local_clock_file_passes_across_both_changes_and_an_absolute_reading_sees_its_odd_intervals(
        tmp_path, zone, interval, layout):
    for i, start in enumerate(CHANGES[zone]):
        frame, params, csv = _written(tmp_path / str(i), zone, start, interval, layout)
        report = validate_csv(csv, params)
        assert report.passed, report.message()
        assert report.dropped_rows == {} and report.typed is not None and report.typed.height == frame.height
        odd = set((frame["timestamp"].diff().dt.total_minutes().drop_nulls()).to_list()) - {interval}
        absolute = validate_csv(csv, _params(replace(params.data_set, interval_clock="absolute")))
        # 30 and 60 minutes going forward: the same grid as real time; otherwise one odd step the absolute clock refuses
        assert absolute.passed == (not odd), (start, odd)


def _lines(frame: pl.DataFrame, zone: str) -> pl.DataFrame:
    """A long local-clock file's rows as strings, as a feed writes them."""
    return frame.select(pl.col("timestamp").dt.strftime("%Y-%m-%dT%H:%M:%S%:z").alias("ds"), pl.col("z0001"))


def test_a_missing_interval_or_a_start_off_the_local_clock_is_refused_by_line(tmp_path):
    frame, params, csv = _written(tmp_path, "Pacific/Auckland", "2024-09-27", 120, "long")
    text = csv.read_text().splitlines()
    # 2024-09-29 02:00 NZST is skipped: the 1-hour interval starts at 03:00 NZDT (14:00 UTC)
    change = [i for i, line in enumerate(text) if "2024-09-29T03:00:00+13:00" in line]
    assert len(change) == 3  # one line per zone
    shifted = [line.replace("2024-09-29T03:00:00+13:00", "2024-09-29T02:00:00+13:00") for line in text]
    (tmp_path / "shifted.csv").write_text("\n".join(shifted) + "\n")
    report = validate_csv(tmp_path / "shifted.csv", params)
    assert not report.passed
    message = report.message()
    assert "off the 120-minute local-clock grid" in message and f"line {change[0] + 1}: 60.0" in message
    holed = [line for i, line in enumerate(text) if i not in change]
    (tmp_path / "holed.csv").write_text("\n".join(holed) + "\n")
    report = validate_csv(tmp_path / "holed.csv", params)
    assert not report.passed and "previous interval's duration" in report.message() and ": 180.0" in report.message()
    gaps = _params(replace(params.data_set, undeclared_gaps="gap"))
    assert validate_csv(tmp_path / "holed.csv", gaps).passed  # a whole interval missing is a gap when the spec says so


def test_naive_local_times_read_the_skipped_start_as_the_change_of_time(tmp_path):
    """A feed writing wall-clock labels without offsets: 02:00 on the day 02:00 is skipped
    starts the 1-hour interval; at 60 minutes the same label is an empty interval."""
    frame = synthetic.generate(2, 4, 120, start="2024-09-27", timezone="Pacific/Auckland", hierarchy=False,
                               interval_clock="local")
    spec = spec_from_dict(synthetic.spec_dict(frame, "city", "city.csv", interval_clock="local"), "city.yaml")
    spec = replace(spec, layout=Layout(kind="wide", timestamp="timestamp", timestamp_format="%Y-%m-%d %H:%M"))
    raw = frame.with_columns(pl.col("timestamp").dt.strftime("%Y-%m-%d %H:%M"), pl.exclude("timestamp").cast(pl.String))
    labels = raw["timestamp"].to_list()
    assert "2024-09-29 02:00" not in labels and "2024-09-29 03:00" in labels
    raw = raw.with_columns(pl.col("timestamp").str.replace("2024-09-29 03:00", "2024-09-29 02:00"))
    series = to_series(raw.with_row_index("row", offset=2).with_columns(pl.col("row").cast(pl.Int64)), spec)
    assert series["timestamp"].equals(frame["timestamp"])


def test_a_local_clock_reads_a_repeated_time_as_its_first_showing_only():
    frame = synthetic.generate(2, 1, 120, timezone="Pacific/Auckland", hierarchy=False)
    raw = synthetic.spec_dict(frame, "city", "city.csv", interval_clock="local")
    with pytest.raises(SpecError, match="ambiguous_times: 'latest' contradicts interval_clock: local"):
        spec_from_dict({**raw, "ambiguous_times": "latest"}, "city.yaml")


def test_an_impossible_date_in_a_local_clock_file_is_a_parse_problem_not_a_crash(tmp_path):
    _, params, csv = _written(tmp_path, "Pacific/Auckland", "2024-09-27", 120, "long")
    lines = csv.read_text().splitlines()
    lines[3] = lines[3].replace("2024-09-27T04:00:00", "2024-02-30T04:00:00")
    assert "2024-02-30" in lines[3]
    (tmp_path / "bad.csv").write_text("\n".join(lines) + "\n")
    report = validate_csv(tmp_path / "bad.csv", params)
    assert not report.passed and "is not a valid local time in Pacific/Auckland" in report.message()
