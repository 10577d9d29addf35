"""dpforecast.validation.run: the two phases on a raw table or a CSV file, with either engine, on a synthetic data set."""

from __future__ import annotations

from dataclasses import asdict, replace
from pathlib import Path

import polars as pl
import pytest

from dpforecast.config import Params, load_params
from dpforecast.data.ingest import read_raw
from dpforecast.validation.run import validate_csv, validate_raw

from synthetic_project import make_synthetic_root


@pytest.fixture(scope="module")
def town(tmp_path_factory) -> tuple[Params, Path]:
    """Two days of three hourly zones: the parameters and the CSV file."""
    root = make_synthetic_root(tmp_path_factory.mktemp("town"), zones=3, days=2)
    params = load_params(root / "params.yaml")
    return params, root / params.data_set.raw


def _with_cell(path: Path, out: Path, line: int, column: int, value: str) -> Path:
    """A copy of ``path`` with one cell replaced (``line`` counts from 1, the header)."""
    lines = path.read_text().splitlines(keepends=True)
    cells = lines[line - 1].rstrip("\n").split(",")
    cells[column] = value
    lines[line - 1] = ",".join(cells) + "\n"
    out.write_text("".join(lines))
    return out


def test_a_good_file_passes_both_phases_and_keeps_the_typed_table(town):
    params, csv = town
    report = validate_csv(csv, params)
    assert report.passed, report.message()
    assert report.source == str(csv) and report.rows == 48 and report.phase2_run and report.dropped_rows == {}
    assert {r.phase for r in report.results} == {1, 2}
    assert report.gx_result["phase1"]["success"] is True and report.gx_result["phase2"]["success"] is True
    assert report.typed["timestamp"].dtype == pl.Datetime("us", "Europe/Paris") and report.typed.height == 48


def test_a_table_without_line_numbers_is_numbered_as_the_file_would_be(town):
    params, csv = town
    raw = read_raw(csv)
    numbered, bare = validate_raw(raw, params, source="t"), validate_raw(raw.drop("row"), params, source="t")
    assert bare.passed and [asdict(r) for r in bare.results] == [asdict(r) for r in numbered.results]
    assert bare.typed["row"].to_list() == list(range(2, 50))


def test_a_phase_1_failure_names_the_line_and_skips_the_typed_checks(town, tmp_path):
    params, csv = town
    bad = _with_cell(csv, tmp_path / "bad.csv", 3, 2, "abc")
    report = validate_csv(bad, params)
    assert not report.passed and not report.phase2_run and report.typed is None
    assert report.gx_result["phase2"] is None and {r.phase for r in report.results} == {1}
    (failure,) = report.failures
    assert (failure.expectation, failure.column) == ("expect_column_values_to_match_regex", "z0002")
    assert "1 bad value(s), e.g. line 3: 'abc'" in report.message()
    assert "typed checks on timestamps, grid, totals and ranges not run" in report.message()


def test_a_phase_2_failure_shows_the_rows_time(town, tmp_path):
    params, csv = town
    early = _with_cell(csv, tmp_path / "early.csv", 4, 0, "2024-01-01T00:30:00+01:00")  # between lines 2 and 3
    report = validate_csv(early, params)
    assert report.phase2_run and not report.passed
    failed = {(f.expectation, f.column) for f in report.failures}
    assert ("expect_column_values_to_be_increasing", "timestamp") in failed
    increasing = next(f for f in report.failures if f.expectation == "expect_column_values_to_be_increasing")
    assert increasing.examples[0]["row"] == 4 and increasing.examples[0]["timestamp"] == "2024-01-01T00:30:00+01:00"


def test_an_unreadable_file_gives_a_failed_report_not_an_exception(town, tmp_path):
    params, _ = town
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    report = validate_csv(empty, params)
    assert not report.passed and report.rows == 0 and report.results == []
    assert report.message() == f"{empty}: data validation failed: the file is empty (expected a header and data rows)"
    missing = validate_csv(tmp_path / "nowhere.csv", params)
    assert missing.error == f"{tmp_path / 'nowhere.csv'}: no such file"


def test_an_unreadable_file_with_another_delimiter_says_which(town, tmp_path):
    params, _ = town
    latin = tmp_path / "latin.csv"
    latin.write_bytes(b"timestamp;z0001\n2024-01-01T00:00:00+01:00;caf\xe9\n")
    report = validate_csv(latin, params)
    assert report.error.startswith(f"{latin}: line 2: not a readable UTF-8 text file")
    assert report.error.endswith("; the file seems to use ';' as delimiter, ',' is expected "
                                 "(the spec's layout.delimiter: ';' reads it)")
    comma = tmp_path / "comma.csv"
    comma.write_bytes(b"timestamp,z0001\n2024-01-01T00:00:00+01:00,caf\xe9\n")
    assert "delimiter" not in validate_csv(comma, params).error


def test_both_engines_give_the_same_outcomes(town, tmp_path):
    params, csv = town
    gx = replace(params, validate=replace(params.validate, engine="gx"))
    assert params.validate.engine == "polars"
    for path in (csv, _with_cell(csv, tmp_path / "bad.csv", 5, 1, "-4")):
        ours, theirs = validate_csv(path, params), validate_csv(path, gx)
        assert ours.passed == theirs.passed and [asdict(r) for r in ours.results] == [asdict(r) for r in theirs.results]
    assert not ours.passed and ours.failures[0].examples == [{"row": 5, "z0001": "-4"}]
