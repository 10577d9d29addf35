"""Data validation: the real file passes; each kind of damage is reported precisely.

Malformed files are built from the real CSV text. Each file is validated once per module
(GX is slowish), and the stage is checked not to touch an existing good series.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, replace
from pathlib import Path

import polars as pl
import pytest

from dpforecast.cli import main
from dpforecast.config import load_params
from dpforecast.data.ingest import RawFormatError, read_raw
from dpforecast.stages.ingest import ingest
from dpforecast.stages.validate import validate
from dpforecast.validation import (
    DataValidationError,
    ExpectationOutcome,
    ValidationReport,
    validate_csv,
    validate_raw,
)
from dpforecast.validation.derive import to_series, typed_table

from montreuil_spec import RAW_COLUMNS, SPEC

PARAMS_YAML = Path(__file__).resolve().parents[2] / "params.yaml"

# --------------------------------------------------------------------------- variants


def _lines(text: str) -> list[str]:
    return text.splitlines(keepends=True)


def _eol(line: str) -> tuple[str, str]:
    body = line.rstrip("\r\n")
    return body, line[len(body) :]


def _set_cell(text: str, line_no: int, column: str, value: str) -> str:
    """Replace one cell; ``line_no`` counts from 1 (the header)."""
    lines = _lines(text)
    idx = RAW_COLUMNS.index(column)
    body, end = _eol(lines[line_no - 1])
    cells = body.split(",")
    cells[idx] = value
    lines[line_no - 1] = ",".join(cells) + end
    return "".join(lines)


def _cell(text: str, line_no: int, column: str) -> str:
    return _eol(_lines(text)[line_no - 1])[0].split(",")[RAW_COLUMNS.index(column)]


def missing_column(text: str) -> str:
    idx = RAW_COLUMNS.index("IRIS 930480205")
    out = []
    for line in _lines(text):
        body, end = _eol(line)
        cells = body.split(",")
        del cells[idx]
        out.append(",".join(cells) + end)
    return "".join(out)


def renamed_column(text: str) -> str:
    lines = _lines(text)
    lines[0] = lines[0].replace("IRIS 930480205", "IRIS 930480299")
    return "".join(lines)


def duplicated_row(text: str) -> str:
    lines = _lines(text)
    lines.insert(6, lines[5])  # source line 6 repeated as line 7
    return "".join(lines)


def negative_count(text: str) -> str:
    return _set_cell(text, 7, "IRIS 930480205", "-5")


def empty_cell(text: str) -> str:
    return _set_cell(text, 9, "Commune Montreuil", "")


def text_in_count(text: str) -> str:
    return _set_cell(text, 7, "IRIS 930480205", "abc")


def swapped_rows(text: str) -> str:
    lines = _lines(text)
    lines[9], lines[10] = lines[10], lines[9]  # source lines 10 and 11
    return "".join(lines)


def wrong_total(text: str) -> str:
    return _set_cell(text, 12, "Total", str(int(_cell(text, 12, "Total")) + 1))


def missing_row(text: str) -> str:
    lines = _lines(text)
    del lines[19]  # source line 20 removed: line 20 now follows line 19 by an hour
    return "".join(lines)


def empty_file(text: str) -> str:
    return ""


def semicolons(text: str) -> str:
    return text.replace(",", ";")


VARIANTS: dict[str, Callable[[str], str]] = {
    "missing_column": missing_column,
    "renamed_column": renamed_column,
    "duplicated_row": duplicated_row,
    "negative_count": negative_count,
    "empty_cell": empty_cell,
    "text_in_count": text_in_count,
    "swapped_rows": swapped_rows,
    "wrong_total": wrong_total,
    "missing_row": missing_row,
    "empty_file": empty_file,
    "semicolons": semicolons,
}

# Fragments each failure message must contain: expectation/problem, column, source line.
EXPECTED_MESSAGE: dict[str, list[str]] = {
    "missing_column": [
        "expect_table_columns_to_match_ordered_list failed",
        "lacks column(s) 'IRIS 930480205'",
        "line 1",
    ],
    "renamed_column": [
        "expect_table_columns_to_match_ordered_list failed",
        "lacks column(s) 'IRIS 930480205'",
        "unexpected column(s) 'IRIS 930480299'",
        "line 1",
    ],
    "duplicated_row": [
        "expect_column_values_to_be_unique failed on column 'timestamp' (duplicated timestamps)",
        "2 bad value(s)",
        "line 6 (2020-08-24 02:00:00)",
        "line 7 (2020-08-24 02:00:00)",
    ],
    "negative_count": [
        "expect_column_values_to_match_regex failed on column 'IRIS 930480205'",
        "1 bad value(s), e.g. line 7: '-5'",
    ],
    "empty_cell": [
        "expect_column_values_to_not_be_null failed on column 'Commune Montreuil'",
        "1 bad value(s), e.g. line 9: empty",
    ],
    "text_in_count": [
        "expect_column_values_to_match_regex failed on column 'IRIS 930480205'",
        "1 bad value(s), e.g. line 7: 'abc'",
    ],
    "swapped_rows": [
        "expect_column_values_to_be_increasing failed on column 'timestamp' (rows out of time order",
        "1 bad value(s), e.g. line 11 (2020-08-24 04:00:00)",
    ],
    "wrong_total": [
        "expect_column_values_to_be_between failed on column 'total_minus_zones' (Total minus the sum",
        "1 bad value(s), e.g. line 12 (2020-08-24 05:00:00): 1",
    ],
    "missing_row": [
        "expect_column_values_to_be_null failed on column 'unexpected_step_minutes' (off the 30-minute grid",
        "1 bad value(s), e.g. line 20 (2020-08-24 09:30:00): 60",
    ],
    "empty_file": ["data validation failed", "empty"],
    "semicolons": [
        "expect_table_columns_to_match_ordered_list failed",
        "seems to use ';' as delimiter, ',' is expected",
    ],
}

# The single expectation (type, column) that must fail, or None for an unreadable file.
EXPECTED_FAILURE: dict[str, tuple[str, str | None] | None] = {
    "missing_column": ("expect_table_columns_to_match_ordered_list", None),
    "renamed_column": ("expect_table_columns_to_match_ordered_list", None),
    "duplicated_row": ("expect_column_values_to_be_unique", "timestamp"),
    "negative_count": ("expect_column_values_to_match_regex", "IRIS 930480205"),
    "empty_cell": ("expect_column_values_to_not_be_null", "Commune Montreuil"),
    "text_in_count": ("expect_column_values_to_match_regex", "IRIS 930480205"),
    "swapped_rows": ("expect_column_values_to_be_increasing", "timestamp"),
    "wrong_total": ("expect_column_values_to_be_between", "total_minus_zones"),
    "missing_row": ("expect_column_values_to_be_null", "unexpected_step_minutes"),
    "empty_file": None,
    "semicolons": ("expect_table_columns_to_match_ordered_list", None),
}


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def params():
    return load_params(PARAMS_YAML)


@pytest.fixture(scope="module")
def good_report(raw_csv_path: Path, params) -> ValidationReport:
    return validate_csv(raw_csv_path, params)


@pytest.fixture(scope="module")
def variant_files(raw_csv_text: str, tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("variants")
    files = {}
    for name, make in VARIANTS.items():
        files[name] = folder / f"{name}.csv"
        files[name].write_bytes(make(raw_csv_text).encode("utf-8"))  # line endings kept
    return files


@pytest.fixture(scope="module")
def variant_reports(variant_files: dict[str, Path], params) -> dict[str, ValidationReport]:
    return {name: validate_csv(path, params) for name, path in variant_files.items()}


@pytest.fixture(scope="module")
def good_series(raw_csv_path: Path, params, tmp_path_factory) -> bytes:
    """A series.parquet from a successful stage run: the 'previous good output'."""
    folder = tmp_path_factory.mktemp("good")
    raw_parquet = folder / "raw.parquet"
    ingest(raw_csv_path, raw_parquet)
    validate(raw_parquet, folder / "series.parquet", folder / "reports", params)
    return (folder / "series.parquet").read_bytes()


# --------------------------------------------------------------------------- the real file


@pytest.mark.real_data
def test_real_file_passes_every_expectation(good_report: ValidationReport):
    assert good_report.passed, good_report.message()
    assert good_report.rows == 3456
    assert good_report.phase2_run
    assert all(r.success for r in good_report.results)
    kinds = {r.expectation for r in good_report.results}
    assert {
        "expect_table_columns_to_match_ordered_list",
        "expect_table_row_count_to_be_between",
        "expect_column_values_to_not_be_null",
        "expect_column_values_to_match_regex",
        "expect_column_values_to_be_unique",
        "expect_column_values_to_be_increasing",
        "expect_column_values_to_be_null",
        "expect_column_values_to_be_between",
    } <= kinds
    assert {1, 2} == {r.phase for r in good_report.results}
    assert "valid (3456 rows" in good_report.message()


@pytest.mark.real_data
def test_report_json_and_markdown(good_report: ValidationReport):
    data = json.loads(json.dumps(good_report.to_json()))
    assert data["passed"] is True and data["rows"] == 3456
    assert len(data["results"]) == len(good_report.results)
    assert data["gx_result"]["phase1"]["success"] is True
    assert data["gx_result"]["phase2"]["success"] is True
    md = good_report.summary_markdown()
    assert "PASSED" in md
    assert md.count("| pass |") == len(good_report.results)
    assert "`expect_column_values_to_be_increasing`" in md


@pytest.mark.real_data
def test_typed_table_matches_to_series(raw_csv_path: Path, params):
    raw = read_raw(raw_csv_path)
    typed, dropped = typed_table(raw, SPEC)
    series = to_series(raw, SPEC)
    assert dropped.height == 0
    assert typed["timestamp"].equals(series["timestamp"])
    assert typed["Total"].equals(series["total"], check_names=False)
    assert typed["unexpected_step_minutes"].null_count() == raw.height
    assert typed["parse_problem"].null_count() == raw.height


@pytest.mark.real_data
def test_declared_gaps_are_required(raw_csv_path: Path, params):
    """Without the declared gaps, the two holes are grid errors at the rows after them."""
    raw = read_raw(raw_csv_path)
    typed, _ = typed_table(raw, replace(SPEC, declared_gaps=()))
    bad = typed.filter(pl.col("unexpected_step_minutes").is_not_null())
    assert bad.select("Date", "Hour", "unexpected_step_minutes").rows() == [
        ("2020-09-18", "00:00:00", 30 * 49),
        ("2020-10-25", "03:00:00", 30 * 3),
    ]


# --------------------------------------------------------------------------- malformed files


@pytest.mark.parametrize("name", list(VARIANTS))
@pytest.mark.real_data
def test_variant_fails_with_a_precise_message(name: str, variant_reports):
    report = variant_reports[name]
    assert not report.passed
    message = report.message()
    for fragment in EXPECTED_MESSAGE[name]:
        assert fragment in message, f"{fragment!r} not in:\n{message}"
    expected = EXPECTED_FAILURE[name]
    if expected is None:
        assert report.error and not report.results
        return
    failed = [(r.expectation, r.column) for r in report.results if not r.success]
    assert expected in failed, failed
    outcome = next(r for r in report.results if (r.expectation, r.column) == expected)
    assert isinstance(outcome, ExpectationOutcome)
    if outcome.column is not None:
        assert outcome.examples and all("row" in e for e in outcome.examples)


@pytest.mark.real_data
def test_exactly_the_right_expectations_fail(variant_reports):
    """Only the damaged thing fails (phase 2 never runs on a table whose cells are bad)."""
    only = {
        "negative_count": {("expect_column_values_to_match_regex", "IRIS 930480205")},
        "empty_cell": {("expect_column_values_to_not_be_null", "Commune Montreuil")},
        "text_in_count": {("expect_column_values_to_match_regex", "IRIS 930480205")},
        "wrong_total": {("expect_column_values_to_be_between", "total_minus_zones")},
        "missing_row": {("expect_column_values_to_be_null", "unexpected_step_minutes")},
        # the repeated row is also 0 minutes after its twin: off the grid as well
        "duplicated_row": {
            ("expect_column_values_to_be_unique", "timestamp"),
            ("expect_column_values_to_be_null", "unexpected_step_minutes"),
        },
        "swapped_rows": {
            ("expect_column_values_to_be_increasing", "timestamp"),
            ("expect_column_values_to_be_null", "unexpected_step_minutes"),
        },
    }
    for name, expected in only.items():
        report = variant_reports[name]
        assert {(r.expectation, r.column) for r in report.failures} == expected, name
    for name in ("negative_count", "empty_cell", "text_in_count", "missing_column", "semicolons"):
        assert not variant_reports[name].phase2_run
        assert variant_reports[name].gx_result["phase2"] is None
    swapped = next(r for r in variant_reports["swapped_rows"].failures if r.column == "unexpected_step_minutes")
    assert [e["row"] for e in swapped.examples] == [10, 11, 12]


@pytest.mark.real_data
def test_failed_summary_lists_failures(variant_reports):
    md = variant_reports["text_in_count"].summary_markdown()
    assert "FAILED" in md and "**FAIL**" in md and "line 7: 'abc'" in md
    assert "Phase 2" in md


@pytest.mark.real_data
def test_out_of_range_counts(raw_csv_path: Path):
    params = load_params(PARAMS_YAML, validate={"max_count": 100_000})
    report = validate_raw(read_raw(raw_csv_path), params, source="capped")
    failed = {(r.expectation, r.column) for r in report.failures}
    assert failed == {("expect_column_values_to_be_between", "Commune Montreuil")}
    assert "count outside [0, 100000]" in report.message()


@pytest.mark.real_data
def test_unparseable_time_is_reported_by_line(raw_csv_text: str, params, write_csv):
    """2020-02-30 passes the format check but is no date: reported, not raised."""
    path = write_csv(_set_cell(raw_csv_text, 3, "Date", "2020-02-30"))
    report = validate_csv(path, params)
    assert not report.passed
    assert "column 'parse_problem'" in report.message()
    assert "line 3" in report.message()


# --------------------------------------------------------------------------- the stage


@pytest.mark.real_data
def test_stage_writes_series_and_reports(good_series: bytes, raw_csv_path: Path, params, tmp_path):
    raw_parquet = tmp_path / "raw.parquet"
    ingest(raw_csv_path, raw_parquet)
    report = validate(raw_parquet, tmp_path / "series.parquet", tmp_path / "reports", params)
    assert report.passed
    series = pl.read_parquet(tmp_path / "series.parquet")
    assert series.columns == ["timestamp", "r1", "r2", "r3", "r4", "r5", "r6"]
    assert series.height == 3456
    assert (tmp_path / "series.parquet").read_bytes() == good_series  # deterministic
    result = json.loads((tmp_path / "reports" / "result.json").read_text())
    assert result["passed"] is True and result["gx_result"]["phase2"]["success"] is True
    assert "PASSED" in (tmp_path / "reports" / "summary.md").read_text()


@pytest.mark.parametrize("name", [n for n in VARIANTS if n != "empty_file"])
@pytest.mark.real_data
def test_stage_failure_keeps_previous_series(name: str, variant_files, good_series: bytes, params, tmp_path):
    series = tmp_path / "series.parquet"
    series.write_bytes(good_series)
    raw_parquet = tmp_path / "raw.parquet"
    ingest(variant_files[name], raw_parquet)
    with pytest.raises(DataValidationError) as info:
        validate(raw_parquet, series, tmp_path / "reports", params)
    assert series.read_bytes() == good_series
    assert not info.value.report.passed
    assert isinstance(info.value, ValueError)
    assert EXPECTED_MESSAGE[name][0] in str(info.value)
    result = json.loads((tmp_path / "reports" / "result.json").read_text())
    assert result["passed"] is False
    assert "FAILED" in (tmp_path / "reports" / "summary.md").read_text()
    assert not list(tmp_path.glob(".series.parquet.*"))  # no temporary file left behind


@pytest.mark.real_data
def test_stage_on_empty_file_never_reaches_validation(variant_files, good_series: bytes, tmp_path):
    series = tmp_path / "series.parquet"
    series.write_bytes(good_series)
    with pytest.raises(RawFormatError, match="empty"):
        ingest(variant_files["empty_file"], tmp_path / "raw.parquet")
    assert series.read_bytes() == good_series


# --------------------------------------------------------------------------- the command


@pytest.mark.real_data
def test_cli_validate_good_file(raw_csv_path: Path, capsys):
    assert main(["validate", str(raw_csv_path), "--params", str(PARAMS_YAML)]) == 0
    out = capsys.readouterr()
    assert "valid (3456 rows" in out.out
    assert out.err == ""


@pytest.mark.parametrize("name", ["text_in_count", "semicolons", "empty_file"])
@pytest.mark.real_data
def test_cli_validate_bad_file(name: str, variant_files, capsys):
    assert main(["validate", str(variant_files[name]), "--params", str(PARAMS_YAML)]) == 1
    err = capsys.readouterr().err
    for fragment in EXPECTED_MESSAGE[name]:
        assert fragment in err


def test_gx_is_not_imported_with_the_package():
    import subprocess
    import sys

    code = "import sys, dpforecast.validation, dpforecast.stages.validate; print('great_expectations' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# --------------------------------------------------------------------------- both engines


@pytest.mark.real_data
def test_gx_on_pandas_and_the_polars_engine_agree_on_every_variant(variant_files, raw_csv_path: Path, params):
    """The default engine evaluates the same GX suite as GX itself, outcome for outcome."""
    gx = replace(params, validate=replace(params.validate, engine="gx"))
    assert params.validate.engine == "polars"
    for path in [raw_csv_path, *variant_files.values()]:
        ours, theirs = validate_csv(path, params), validate_csv(path, gx)
        assert ours.passed == theirs.passed and ours.error == theirs.error, path.name
        assert [asdict(r) for r in ours.results] == [asdict(r) for r in theirs.results], path.name
