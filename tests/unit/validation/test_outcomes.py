"""dpforecast.validation.outcomes: GX's result JSON as outcomes, in suite order, with source lines and exact examples."""

from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl

from dpforecast.validation.outcomes import (
    COLUMNS_EXPECTATION,
    ROW_COUNT_EXPECTATION,
    columns_details,
    outcomes,
    plain_value,
    table_details,
)
from dpforecast.validation.report import MAX_EXAMPLES

FRAME = pl.DataFrame({
    "row": list(range(2, 10)),
    "Date": ["2020-08-24"] * 8,
    "Hour": [f"0{h}:00:00" for h in range(8)],
    "r1": ["1", "x", "3", "", "5", "6", "7", "8"],
})


def _result(kind: str, order: int, success: bool, kwargs: dict[str, Any] | None = None,
            result: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    """One result as GX's ``ValidationResult.to_json_dict()`` writes it."""
    config = {"type": kind, "kwargs": kwargs or {}, "meta": {"order": order, "problem": f"problem {order}"}}
    return {"expectation_config": config, "success": success, "result": result or {}, **extra}


def test_plain_values_are_json_safe():
    assert plain_value(dt.datetime(2020, 8, 24, 4, 30)) == "2020-08-24T04:30:00"
    assert plain_value(dt.date(2020, 8, 24)) == "2020-08-24" and plain_value(dt.time(4, 30)) == "04:30:00"
    assert plain_value("x") == "x" and plain_value(3) == 3 and plain_value(None) is None


def test_columns_details_say_what_is_missing_extra_or_out_of_order():
    assert columns_details(["Date", "r2", "row"], ["Date", "r1"]) == (
        "header (line 1) lacks column(s) 'r1'; unexpected column(s) 'r2'; expected ['Date', 'r1'], found ['Date', 'r2']")
    assert columns_details(["r1", "Date"], ["Date", "r1"]) == (
        "header (line 1) has the expected columns in the wrong order; expected ['Date', 'r1'], found ['r1', 'Date']")


def test_table_details_describe_the_columns_and_the_row_count():
    columns = {"kwargs": {"column_list": ["Date", "Hour", "r1", "r2"]}}
    assert table_details(COLUMNS_EXPECTATION, columns, {}, FRAME) == (
        "header (line 1) lacks column(s) 'r2'; expected ['Date', 'Hour', 'r1', 'r2'], found ['Date', 'Hour', 'r1']")
    rows = {"kwargs": {"min_value": 48}}
    assert table_details(ROW_COUNT_EXPECTATION, rows, {"observed_value": 8}, FRAME) == (
        "found 8 data row(s), at least 48 expected")
    assert table_details("expect_column_values_to_be_unique", {"kwargs": {}}, {}, FRAME) == ""


def test_outcomes_follow_the_suite_order_with_line_numbers_and_values():
    gx_json = {"results": [
        _result("expect_column_values_to_match_regex", 1, False, {"column": "r1"},
                {"unexpected_count": 2, "partial_unexpected_index_list": [3, 5]}),
        _result(ROW_COUNT_EXPECTATION, 0, False, {"min_value": 48}, {"observed_value": 8}),
        _result("expect_column_values_to_not_be_null", 2, True, {"column": "r1"}, {"unexpected_count": 0}),
    ]}
    count, regex, not_null = outcomes(gx_json, FRAME, phase=1, time_columns=["Date", "Hour"])
    assert (count.expectation, count.column, count.success, count.phase) == (ROW_COUNT_EXPECTATION, None, False, 1)
    assert count.details == "found 8 data row(s), at least 48 expected" and count.problem == "problem 0"
    assert regex.unexpected_count == 2 and regex.details == ""
    # phase 1: the offending cell only, by its source line
    assert regex.examples == [{"row": 3, "r1": "x"}, {"row": 5, "r1": ""}]
    assert not_null.success and not_null.examples == [] and not_null.details == ""


def test_phase_2_examples_show_the_time_columns_and_at_most_five_rows():
    gx_json = {"results": [_result("expect_column_values_to_be_between", 0, False, {"column": "r1"},
                                   {"unexpected_count": 7, "partial_unexpected_index_list": [2, 3, 4, 5, 6, 7, 8]})]}
    (outcome,) = outcomes(gx_json, FRAME, phase=2, time_columns=["Date", "Hour"])
    assert len(outcome.examples) == MAX_EXAMPLES
    assert outcome.examples[1] == {"row": 3, "Date": "2020-08-24", "Hour": "01:00:00", "r1": "x"}
    # an index the frame does not hold still names its line
    gx_json["results"][0]["result"]["partial_unexpected_index_list"] = [99]
    assert outcomes(gx_json, FRAME, phase=2)[0].examples == [{"row": 99}]


def test_an_expectation_that_raised_is_reported_as_not_evaluated():
    direct = _result("expect_column_values_to_match_regex", 0, False, {"column": "r9"},
                     exception_info={"raised_exception": True, "exception_message": "column r9 missing"})
    keyed = _result("expect_column_pair_values_to_be_equal", 1, False, {"column_A": "r1", "column_B": "r2"},
                    exception_info={"metric-1": {"raised_exception": True, "exception_message": "no r2"},
                                    "metric-2": {"raised_exception": False, "exception_message": None}})
    first, second = outcomes({"results": [direct, keyed]}, FRAME, phase=1)
    assert first.details == "could not be evaluated: column r9 missing"
    assert second.column == "r1" and second.details == "could not be evaluated: no r2"


def test_other_suites_give_their_own_details_and_examples():
    gx_json = {"results": [_result("expect_x", 0, False, {"column": "r1"}, {"partial_unexpected_index_list": [4]})]}
    (outcome,) = outcomes(gx_json, FRAME, phase=1,
                          details=lambda kind, cfg, res, frame: f"{kind} on {frame.height} rows",
                          examples=lambda frame, kwargs, index: [{"row": i, "column": kwargs["column"]} for i in index])
    assert outcome.details == "expect_x on 8 rows" and outcome.examples == [{"row": 4, "column": "r1"}]
    assert outcomes({}, FRAME, phase=1) == []
