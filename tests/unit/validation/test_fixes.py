"""A file that contradicts its spec is refused at validation, and the message names the spec
key, and the value of it, that would read the file (synthetic files, both engines' suite)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import polars as pl
import yaml

from dpforecast.cli import main
from dpforecast.config import Params, resolve
from dpforecast.data import synthetic
from dpforecast.data.spec import load_spec
from dpforecast.validation import validate_csv

ISO = "%Y-%m-%dT%H:%M:%S%:z"


def _data_set(root: Path, name: str = "nz", interval: int = 120, days: int = 20, **spec_changes) -> tuple[Path, Params]:
    """An Auckland-clock synthetic file (offsets +13:00 in January) and its spec, with ``spec_changes``."""
    frame = synthetic.generate(zones=3, days=days, interval_minutes=interval, timezone="Pacific/Auckland")
    csv, spec_path = synthetic.write(frame, root / "data" / name, name, root=root)
    if spec_changes:
        doc = yaml.safe_load(spec_path.read_text())
        spec_path.write_text(yaml.safe_dump({**doc, **spec_changes}, sort_keys=False))
    return csv, resolve(Params(dataset=name), load_spec(spec_path))


def _message(csv: Path, params: Params) -> str:
    report = validate_csv(csv, params)
    assert not report.passed
    return report.message()


def test_offsets_of_another_time_zone_are_refused_with_the_rows_the_offsets_and_the_zone_that_has_them(tmp_path):
    csv, params = _data_set(tmp_path, timezone="Europe/London")
    message = _message(csv, params)
    assert "failed on column 'foreign_offset' (offsets written in the file that are not Europe/London's" in message
    assert "240 bad value(s), e.g. line 2: '+13:00'; line 3: '+13:00'" in message
    assert "offsets written: +13:00 on 240 row(s) from line 2; Europe/London is at +00:00 at those instants" in message
    assert "timezone: any of Pacific/Apia, Pacific/Auckland, Pacific/Fakaofo or 2 other(s) reads them" in message
    # The same file against UTC: the zone's offset is the only thing that differs.
    _, utc = _data_set(tmp_path, "nzutc", timezone="UTC")
    assert "UTC is at +00:00 at those instants" in _message(csv, utc)


def test_a_year_of_offsets_names_the_one_zone_that_has_them_all(tmp_path):
    csv, params = _data_set(tmp_path, interval=360, days=365, timezone="Australia/Sydney")
    message = _message(csv, params)
    assert "offsets written: +13:00 on" in message and "+12:00 on" in message
    assert message.endswith("timezone: Pacific/Auckland reads them")


def test_instants_written_in_utc_are_read_in_the_spec_zone(tmp_path):
    """``Z`` states an instant, not a local clock: the spec's zone gives the local calendar."""
    csv, params = _data_set(tmp_path, interval=60)
    frame = pl.read_csv(csv, infer_schema=False)
    utc = pl.col("timestamp").str.to_datetime(ISO, time_zone="UTC")
    frame.with_columns(utc.dt.strftime("%Y-%m-%dT%H:%M:%SZ").alias("timestamp")).write_csv(csv)
    report = validate_csv(csv, params)
    assert report.passed, report.message()
    assert str(report.typed["timestamp"][0]) == "2024-01-01 00:00:00+13:00"


def test_a_file_of_another_interval_is_refused_whatever_the_gap_policy(tmp_path):
    """With undeclared gaps as gaps, every other step of a 60-minute spec would be a gap."""
    csv, params = _data_set(tmp_path, interval_minutes=60, undeclared_gaps="gap")
    message = _message(csv, params)
    assert "expect_column_most_common_value_to_be_in_set failed on column 'step_minutes'" in message
    assert "the file's steps are 120 minutes; the spec says 60 (interval_minutes: 120 reads it)" in message
    refused = _message(csv, resolve(Params(dataset="nz"), replace(params.data_set, undeclared_gaps="refuse")))
    assert "the file's steps are 120 minutes; the spec says 60" in refused


def test_another_delimiter_names_layout_delimiter(tmp_path):
    csv, params = _data_set(tmp_path)
    csv.write_text(csv.read_text().replace(",", ";"))
    assert ("the file seems to use ';' as delimiter, ',' is expected (the spec's layout.delimiter: ';' reads it)"
            in _message(csv, params))


def test_counts_written_as_whole_decimals_name_count_format(tmp_path):
    csv, params = _data_set(tmp_path)
    frame = pl.read_csv(csv, infer_schema=False)
    frame.with_columns(pl.col("z0002") + ".0").write_csv(csv)
    message = _message(csv, params)
    assert "failed on column 'z0002' (not a non-negative integer): 240 bad value(s), e.g. line 2: '" in message
    assert "the counts are whole numbers written as decimals ('" in message
    assert "layout.count_format: whole_decimal reads them" in message
    frame.with_columns(pl.col("z0002") + ".5").write_csv(csv)  # not whole: no key reads them
    assert "count_format" not in _message(csv, params)


def test_empty_counts_repeated_times_and_missing_intervals_name_their_policies(tmp_path):
    csv, params = _data_set(tmp_path, interval=60)
    lines = csv.read_text().splitlines(keepends=True)
    csv.write_text("".join([*lines[:5], lines[5].rsplit(",", 1)[0] + ",\n", *lines[6:]]))  # an empty count
    assert "missing_values: gap reads an empty count as missing" in _message(csv, params)
    csv.write_text("".join([*lines[:5], lines[4], *lines[6:]]))  # line 5 twice, not line 6
    assert "duplicate_times: gap leaves every row of a repeated time out" in _message(csv, params)
    csv.write_text("".join([*lines[:5], *lines[9:]]))  # four intervals missing
    message = _message(csv, params)
    assert "e.g. line 6: 300.0" in message
    assert "declare them (declared_gaps), or undeclared_gaps: gap reads them as gaps" in message


def test_the_command_refuses_a_wrong_time_zone_in_one_message_without_traceback(tmp_path, capsys):
    csv, _ = _data_set(tmp_path, timezone="Europe/London")
    (tmp_path / "params.yaml").write_text("dataset: nz\n")
    assert main(["validate", str(csv), "--params", str(tmp_path / "params.yaml")]) == 1
    err = capsys.readouterr().err
    assert f"{csv}: data validation failed" in err and "timezone: any of" in err and "Traceback" not in err
