"""dpforecast.validation.report: one readable line per failed expectation, a Markdown table, JSON."""

from __future__ import annotations

import json

from dpforecast.validation.report import DataValidationError, ExpectationOutcome, ValidationReport

NOT_NULL = ExpectationOutcome("expect_column_values_to_not_be_null", "r1", True)
TEXT = ExpectationOutcome(
    "expect_column_values_to_match_regex", "r2", False, unexpected_count=2,
    examples=[{"row": 7, "r2": "abc"}, {"row": 9, "r2": None}], problem="not a non-negative integer")
COLUMNS = ExpectationOutcome("expect_table_columns_to_match_ordered_list", None, False,
                             problem="header differs", details="header (line 1) lacks column(s) 'r3'")
STEP = ExpectationOutcome("expect_column_values_to_be_null", "unexpected_step_minutes", False, unexpected_count=1,
                          examples=[{"row": 12, "Date": "2020-08-24", "Hour": "04:00:00", "unexpected_step_minutes": 90}],
                          phase=2)


def test_a_failure_names_its_expectation_column_problem_and_example_lines():
    assert TEXT.describe() == ("expect_column_values_to_match_regex failed on column 'r2' (not a non-negative integer): "
                               "2 bad value(s), e.g. line 7: 'abc'; line 9: empty")
    assert COLUMNS.describe() == ("expect_table_columns_to_match_ordered_list failed (header differs): "
                                  "header (line 1) lacks column(s) 'r3'")
    # typed checks show the row's date and hour as written
    assert STEP.describe() == ("expect_column_values_to_be_null failed on column 'unexpected_step_minutes': "
                               "1 bad value(s), e.g. line 12 (2020-08-24 04:00:00): 90")
    assert ExpectationOutcome("expect_x", None, False).describe() == "expect_x failed"


def test_a_passed_report_says_valid_with_its_counts():
    report = ValidationReport(passed=True, rows=48, source="town.csv", results=[NOT_NULL], phase2_run=True)
    assert report.failures == []
    assert report.message() == "town.csv: valid (48 rows, 1 expectations met)"
    assert ValidationReport(passed=True, rows=0).message() == "data: valid (0 rows, 0 expectations met)"


def test_a_failed_report_lists_each_failure_and_says_phase_2_did_not_run():
    report = ValidationReport(passed=False, rows=48, source="town.csv", results=[NOT_NULL, TEXT, COLUMNS])
    assert report.failures == [TEXT, COLUMNS]
    assert report.message().splitlines() == [
        "town.csv: data validation failed (2 of 3 expectations failed, 48 rows)",
        f"  - {TEXT.describe()}",
        f"  - {COLUMNS.describe()}",
        "  (typed checks on timestamps, grid, totals and ranges not run: fix the above first)",
    ]
    ran = ValidationReport(passed=False, rows=48, source="town.csv", results=[STEP], phase2_run=True)
    assert "typed checks" not in ran.message()


def test_an_unreadable_file_is_reported_without_repeating_its_name():
    report = ValidationReport(passed=False, rows=0, source="x.csv", error="x.csv: the file is empty")
    assert report.message() == "x.csv: data validation failed: the file is empty"
    markdown = report.summary_markdown()
    assert "**FAILED**: 0 rows, 0 of 0 expectations met." in markdown
    assert "The file could not be read as a table: x.csv: the file is empty" in markdown
    assert "| # |" not in markdown  # no table without results


def test_the_markdown_has_one_escaped_row_per_expectation_and_the_dropped_rows():
    report = ValidationReport(passed=False, rows=48, source="town.csv", results=[NOT_NULL, TEXT],
                              dropped_rows={"timestamp repeated in the file": 2, "local time skipped": 1})
    lines = report.summary_markdown().splitlines()
    assert lines[0] == "# Data validation: town.csv" and lines[2] == "**FAILED**: 48 rows, 1 of 2 expectations met."
    assert lines[6] == "| 1 | 1 | `expect_column_values_to_not_be_null` | r1 |  | pass | 0 |  |"
    assert lines[7] == ("| 2 | 1 | `expect_column_values_to_match_regex` | r2 | not a non-negative integer | **FAIL** | 2 | "
                        "line 7: 'abc'; line 9: empty |")
    assert "Phase 2 (typed checks) was not run because phase 1 failed." in lines
    assert lines[-2:] == ["- local time skipped: 1 row(s)", "- timestamp repeated in the file: 2 row(s)"]
    piped = ValidationReport(passed=False, rows=1, results=[ExpectationOutcome("e", "a|b", False, details="x\ny")],
                             phase2_run=True)
    assert "| 1 | 1 | `e` | a\\|b |  | **FAIL** | 0 | x y |" in piped.summary_markdown()


def test_the_json_holds_every_outcome_but_not_the_typed_table():
    report = ValidationReport(passed=False, rows=48, source="town.csv", results=[TEXT], gx_result={"phase1": {"a": 1}},
                              dropped_rows={"gap": 3}, typed=object())
    data = json.loads(json.dumps(report.to_json()))
    assert set(data) == {"passed", "rows", "source", "error", "phase2_run", "dropped_rows", "results", "gx_result"}
    assert data["results"] == [{"expectation": "expect_column_values_to_match_regex", "column": "r2", "success": False,
                                "unexpected_count": 2, "examples": [{"row": 7, "r2": "abc"}, {"row": 9, "r2": None}],
                                "phase": 1, "problem": "not a non-negative integer", "details": ""}]
    assert data["dropped_rows"] == {"gap": 3} and data["gx_result"] == {"phase1": {"a": 1}}


def test_the_error_carries_the_report_and_its_message():
    report = ValidationReport(passed=False, rows=48, source="town.csv", results=[TEXT])
    error = DataValidationError(report)
    assert isinstance(error, ValueError) and error.report is report and str(error) == report.message()
    assert str(DataValidationError(report, "refused")) == "refused"
