"""The Polars engine gives GX's own results, on tables with every kind of failure.

Each case runs the same expectations through GX on pandas (as ``run._run_phase`` does)
and through :func:`dpforecast.validation.polars_engine.run_suite`, then compares the
fields that ``outcomes.py``, ``released.py`` and ``report.py`` read, and the outcomes
themselves. The expectations are those the suites build (same types, kwargs and
regexes), written out here so that the cases do not depend on a data set's spec.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import polars as pl
import pytest

from dpforecast.data.schema import ROW
from dpforecast.validation.outcomes import outcomes
from dpforecast.validation.polars_engine import UnsupportedExpectation, run_suite
from dpforecast.validation.run import _context, _run_phase

gx = pytest.importorskip("great_expectations")
E = gx.expectations
# GX's own call to pandas' str.contains warns about groups in a pattern
pytestmark = pytest.mark.filterwarnings("ignore:This pattern is interpreted as a regular expression")

DATE_REGEX = r"^[0-9]{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])$"
HOUR_REGEX = r"^(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]$"
COUNT_REGEX = r"^[0-9]+$"
RESULT_FIELDS = (
    "element_count", "unexpected_count", "unexpected_percent",
    "partial_unexpected_list", "partial_unexpected_index_list", "observed_value",
)
PARIS = "Europe/Paris"


def _with_meta(expectations: list[Any]) -> list[Any]:
    for i, exp in enumerate(expectations):
        exp.meta = {"order": i, "problem": f"problem {i}"}
    return expectations


def _exception(result: dict[str, Any]) -> str | None:
    info = result.get("exception_info") or {}
    if "raised_exception" not in info:  # GX keys errors by metric configuration
        info = next(iter(info.values()), {})
    return info.get("exception_message") if info.get("raised_exception") else None


def _fields(gx_json: dict[str, Any], values_not_compared: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    out = []
    for r in sorted(gx_json["results"], key=lambda r: r["expectation_config"]["meta"]["order"]):
        cfg = r["expectation_config"]
        out.append({
            "type": cfg["type"],
            "kwargs": {k: v for k, v in cfg["kwargs"].items() if k != "batch_id"},
            "meta": cfg["meta"],
            "success": r["success"],
            "result": {
                k: v for k, v in r["result"].items()
                if k in RESULT_FIELDS and not (k == "partial_unexpected_list" and cfg["type"] in values_not_compared)
            },
            "exception": _exception(r),
        })
    return out


def _both(frame: pl.DataFrame, make: Callable[[], list[Any]]) -> tuple[dict[str, Any], dict[str, Any]]:
    """GX's and the engine's JSON; ``make`` builds fresh expectations (GX binds them to its suite)."""
    expected = _run_phase(_context(), "case", frame, _with_meta(make()))
    return expected, run_suite(frame, _with_meta(make()), "case")


def assert_same_as_gx(
    frame: pl.DataFrame, make: Callable[[], list[Any]], phase: int = 1, values_not_compared: tuple[str, ...] = ()
) -> dict[str, Any]:
    """``values_not_compared``: expectation types whose example values are not compared."""
    expected, actual = _both(frame, make)
    assert _fields(actual, values_not_compared) == _fields(expected, values_not_compared)
    assert actual["success"] == expected["success"]
    assert actual["statistics"] == expected["statistics"]
    # repr: examples may hold NaN, which is not equal to itself
    assert repr(outcomes(actual, frame, phase=phase)) == repr(outcomes(expected, frame, phase=phase))
    return actual


def _rows(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.with_columns(pl.int_range(2, frame.height + 2, dtype=pl.Int64).alias(ROW))


RAW_COLUMNS = ["Date", "Hour", "Zone A", "Zone B", "Total"]


def _raw() -> pl.DataFrame:
    n = 12
    date = [f"2020-08-{1 + i // 4:02d}" for i in range(n)]
    hour = [f"{(i % 4) // 2:02d}:{30 * (i % 2):02d}:00" for i in range(n)]
    a = [str(10 + i) for i in range(n)]
    b = [str(i) for i in range(n)]
    date[3], date[5], date[6] = "2020-13-01", None, "2020-8-3"
    hour[4] = "24:00:00"
    a[1], a[2], a[7], a[8], a[9], a[10] = "abc", "-5", " 12", "12\n", None, "1.5"
    b[11] = "١٢"  # Arabic-Indic digits: not [0-9]
    total = [str(i) for i in range(n)]
    frame = pl.DataFrame({"Date": date, "Hour": hour, "Zone A": a, "Zone B": b, "Total": total})
    return _rows(frame.with_columns(pl.lit(None, dtype=pl.String).alias("Zone C")))  # all-null column


def _phase1(columns: list[str]) -> Callable[[], list[Any]]:
    def make() -> list[Any]:
        present = [c for c in RAW_COLUMNS + ["Zone C"] if c in columns]
        regexes = {"Date": DATE_REGEX, "Hour": HOUR_REGEX}
        return [
            E.ExpectTableColumnsToMatchOrderedList(column_list=RAW_COLUMNS),
            E.ExpectTableRowCountToBeBetween(min_value=48),
            *(E.ExpectColumnValuesToNotBeNull(column=c) for c in present),
            *(E.ExpectColumnValuesToMatchRegex(column=c, regex=regexes.get(c, COUNT_REGEX)) for c in present),
        ]

    return make


def test_raw_strings_with_empty_cells_bad_formats_wrong_columns_and_too_few_rows() -> None:
    raw = _raw()
    result = assert_same_as_gx(raw, _phase1(raw.columns))
    assert not result["success"] and result["statistics"]["unsuccessful_expectations"] >= 8


def test_valid_table_passes() -> None:
    n = 48
    frame = _rows(pl.DataFrame({
        "Date": [f"2020-08-{1 + i // 24:02d}" for i in range(n)],
        "Hour": [f"{(i % 24) // 2:02d}:{30 * (i % 2):02d}:00" for i in range(n)],
        **{c: [str(i * 7 % 13) for i in range(n)] for c in RAW_COLUMNS[2:]},
    }))
    result = assert_same_as_gx(frame, _phase1(frame.columns))
    assert result["success"] and result["statistics"]["success_percent"] == 100.0


def test_header_only_table() -> None:
    empty = _raw().clear()
    result = assert_same_as_gx(empty, _phase1(empty.columns))
    observed = {r["expectation_config"]["type"]: r["result"].get("observed_value") for r in result["results"]}
    assert observed["expect_table_row_count_to_be_between"] == 0


def test_regex_dialect_matches_pandas() -> None:
    """Patterns pyarrow's RE2 cannot run (lookaround, backreference) and a bad pattern."""
    frame = _rows(pl.DataFrame({"c": ["ab", "ac", "aa", "12\n", None, "b"]}))
    assert_same_as_gx(frame, lambda: [
        E.ExpectColumnValuesToMatchRegex(column="c", regex=r"a(?=b)"),
        E.ExpectColumnValuesToMatchRegex(column="c", regex=r"(a)\1"),
        E.ExpectColumnValuesToMatchRegex(column="c", regex=r"^\d+$"),
        E.ExpectColumnValuesToMatchRegex(column="c", regex=r"[a"),
        E.ExpectColumnValuesToMatchRegex(column="c", regex=r"b", mostly=0.5),
    ])


def _typed() -> pl.DataFrame:
    start = dt.datetime(2020, 10, 24, 22, 0)
    local = [start + dt.timedelta(minutes=30 * i) for i in range(10)]
    local[4] = local[3]  # duplicate
    local[6], local[7] = local[7], local[6]  # out of order
    ts = pl.Series("timestamp", local).dt.replace_time_zone(PARIS, ambiguous="earliest")
    ts = ts.scatter([8], [None])  # a time that could not be parsed
    return _rows(pl.DataFrame({
        "timestamp": ts,
        "parse_problem": [None] * 8 + ["'2020-02-30 00:00:00' is not a valid local time", None],
        "unexpected_step_minutes": pl.Series([None, None, None, None, 0, None, 60, -30, None, None], dtype=pl.Int64),
        "total_minus_zones": pl.Series([0, 0, 1, 0, 0, -2, 0, 0, None, 0], dtype=pl.Int64),
        "Zone A": pl.Series([5, 1_000_001, 3, -1, 0, 7, 8, 9, None, 1_000_000], dtype=pl.Int64),
        "Zone B": pl.Series([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], dtype=pl.Int64),
    }))


def _phase2() -> list[Any]:
    return [
        E.ExpectColumnValuesToBeNull(column="parse_problem"),
        E.ExpectColumnValuesToBeUnique(column="timestamp"),
        E.ExpectColumnValuesToBeIncreasing(column="timestamp", strictly=False),
        E.ExpectColumnValuesToBeNull(column="unexpected_step_minutes"),
        E.ExpectColumnValuesToBeBetween(column="total_minus_zones", min_value=0, max_value=0),
        E.ExpectColumnValuesToBeBetween(column="Zone A", min_value=0, max_value=1_000_000),
        E.ExpectColumnValuesToBeBetween(column="Zone B", min_value=0, max_value=1_000_000),
    ]


def test_typed_table_with_duplicates_disorder_off_grid_steps_and_out_of_range_counts() -> None:
    result = assert_same_as_gx(_typed(), _phase2, phase=2)
    assert [r["success"] for r in result["results"]] == [False, False, False, False, False, False, True]


def _released() -> pl.DataFrame:
    ts = pl.datetime_range(
        dt.datetime(2021, 3, 1), dt.datetime(2021, 3, 1, 3, 30), "30m", time_zone=PARIS, eager=True
    ).alias("timestamp")
    reference = pl.concat([ts.head(6), ts.tail(1).dt.offset_by("1h"), pl.Series([None], dtype=ts.dtype)])
    return _rows(pl.DataFrame({
        "timestamp": ts,
        "r1": pl.Series([1, 2, -3, 4, 5, 6, 7, 8], dtype=pl.Int64),
        "r2": [1.5, float("nan"), -0.5, 2.0, None, 1.0, float("inf"), 0.0],
        "r3": pl.Series([1, None, 3, 4, 5, 6, 7, 8], dtype=pl.Int64),
        "r4": ["1", "2", "x", "4", "5", "6", "7", "8"],
        "_input_timestamp": reference.dt.convert_time_zone("UTC"),
        "_timestamp_dtype": ["datetime[μs, Europe/Paris]"] * 7 + ["datetime[μs, UTC]"],
        "_non_finite": [None, "r2", None, None, None, None, "r2", None],
    }))


def _released_suite() -> list[Any]:
    integers = ["int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64"]
    columns = ["timestamp", "r1", "r2", "r3", "r4", "_input_timestamp", "_timestamp_dtype", "_non_finite"]
    zones = ["r1", "r2", "r3", "r4"]
    return [
        E.ExpectTableColumnsToMatchOrderedList(column_list=columns[:2] + columns[5:]),
        E.ExpectTableRowCountToEqual(value=8),
        *(E.ExpectColumnValuesToNotBeNull(column=c) for c in ["timestamp", *zones]),
        E.ExpectColumnPairValuesToBeEqual(column_A="timestamp", column_B="_input_timestamp"),
        E.ExpectColumnValuesToBeInSet(column="_timestamp_dtype", value_set=["datetime[μs, Europe/Paris]"]),
        E.ExpectColumnValuesToBeUnique(column="timestamp"),
        E.ExpectColumnValuesToBeIncreasing(column="timestamp", strictly=False),
        E.ExpectColumnValuesToBeNull(column="_non_finite"),
        *(E.ExpectColumnValuesToBeInTypeList(column=z, type_list=integers) for z in zones),
        *(E.ExpectColumnValuesToBeInTypeList(column=z, type_list=[*integers, "float32", "float64"]) for z in zones),
        *(E.ExpectColumnValuesToBeBetween(column=z, min_value=0) for z in zones),
    ]


def test_released_series_checks() -> None:
    """GX lists a pair of aware timestamps as naive UTC numpy strings ('NaT' if missing),
    the engine as ISO strings with offset (as GX does for one column): nobody reads them."""
    result = assert_same_as_gx(
        _released(), _released_suite, values_not_compared=("expect_column_pair_values_to_be_equal",)
    )
    pair = next(r for r in result["results"] if r["expectation_config"]["type"].startswith("expect_column_pair"))
    assert pair["result"]["partial_unexpected_list"][1] == ["2021-03-01T03:30:00+01:00", None]


def test_other_kwargs_mostly_strict_and_missing_rows() -> None:
    frame = _rows(pl.DataFrame({
        "x": [1.0, 2.0, 2.0, None, 1.5, 3.0, float("nan"), 4.0],
        "y": [1.0, 2.0, 3.0, None, None, 3.0, float("nan"), 5.0],
        "s": ["a", "b", None, "c", "a", "z", "b", "a"],
        "none": pl.Series([None] * 8, dtype=pl.String),
    }))
    assert_same_as_gx(frame, lambda: [
        E.ExpectTableRowCountToBeBetween(min_value=1, max_value=8, strict_max=True),
        E.ExpectTableRowCountToBeBetween(max_value=8),
        E.ExpectColumnValuesToBeIncreasing(column="x", strictly=True),
        E.ExpectColumnValuesToBeIncreasing(column="x", mostly=0.8),
        E.ExpectColumnValuesToBeBetween(column="x", min_value=1, max_value=4, strict_min=True, strict_max=True),
        E.ExpectColumnValuesToBeBetween(column="x", max_value=3, mostly=0.6),
        E.ExpectColumnValuesToBeBetween(column="x", min_value=3, max_value=1),
        E.ExpectColumnValuesToBeBetween(column="s", min_value=0),
        E.ExpectColumnValuesToBeBetween(column="none", min_value=0),
        E.ExpectColumnValuesToBeUnique(column="s", mostly=0.2),
        E.ExpectColumnValuesToBeInSet(column="x", value_set=[1, 2, 4]),
        E.ExpectColumnValuesToBeInSet(column="s", value_set=["a", "b", "c"], mostly=0.7),
        E.ExpectColumnValuesToNotBeNull(column="x", mostly=0.7),
        E.ExpectColumnValuesToBeNull(column="y", mostly=0.3),
        E.ExpectColumnPairValuesToBeEqual(column_A="x", column_B="y"),
        E.ExpectColumnPairValuesToBeEqual(column_A="x", column_B="y", ignore_row_if="either_value_is_missing"),
        E.ExpectColumnPairValuesToBeEqual(column_A="x", column_B="y", ignore_row_if="neither"),
        E.ExpectColumnPairValuesToBeEqual(column_A="x", column_B="missing"),
        E.ExpectColumnValuesToBeUnique(column="missing"),
        E.ExpectColumnValuesToBeIncreasing(column="missing"),
        E.ExpectColumnValuesToMatchRegex(column="missing", regex="a"),
        E.ExpectColumnValuesToBeBetween(column="missing", min_value=0),
        E.ExpectColumnValuesToBeInSet(column="missing", value_set=["a"]),
        E.ExpectColumnValuesToNotBeNull(column=ROW),  # the index, not a column
    ])


def test_more_than_twenty_failures_are_cut_like_gx() -> None:
    frame = _rows(pl.DataFrame({"n": [str(i) if i % 3 else "bad" for i in range(100)]}))
    result = assert_same_as_gx(frame, lambda: [E.ExpectColumnValuesToMatchRegex(column="n", regex=COUNT_REGEX)])
    res = result["results"][0]["result"]
    assert res["unexpected_count"] == 34 and len(res["partial_unexpected_index_list"]) == 20


def test_unknown_expectation_raises() -> None:
    frame = _rows(pl.DataFrame({"x": [1, 2]}))
    with pytest.raises(UnsupportedExpectation, match="expect_column_mean_to_be_between"):
        run_suite(frame, [E.ExpectColumnMeanToBeBetween(column="x", min_value=0)], "case")
    with pytest.raises(UnsupportedExpectation, match="row_condition"):
        run_suite(frame, [E.ExpectColumnValuesToNotBeNull(column="x", row_condition='col("x")>1',
                                                          condition_parser="great_expectations")], "case")


def test_most_common_value_with_ties_missing_values_and_an_empty_column() -> None:
    """The file's most common step: pandas' mode (every tied value) over the non-missing values."""
    frame = _rows(pl.DataFrame({
        "step": [None, 120.0, 120.0, 60.0, 120.0, float("nan"), 60.0, 240.0],
        "tie": [None, 60.0, 120.0, 60.0, 120.0, 30.0, None, None],
        "none": pl.Series([None] * 8, dtype=pl.Float64),
        "n": pl.Series([1, 2, 2, 3, 3, 3, None, 4], dtype=pl.Int64),
    }))
    result = assert_same_as_gx(frame, lambda: [
        E.ExpectColumnMostCommonValueToBeInSet(column="step", value_set=[60]),
        E.ExpectColumnMostCommonValueToBeInSet(column="step", value_set=[120], ties_okay=True),
        E.ExpectColumnMostCommonValueToBeInSet(column="tie", value_set=[60], ties_okay=True),
        E.ExpectColumnMostCommonValueToBeInSet(column="tie", value_set=[60]),
        E.ExpectColumnMostCommonValueToBeInSet(column="none", value_set=[60], ties_okay=True),
        E.ExpectColumnMostCommonValueToBeInSet(column="n", value_set=[3, 4]),
        E.ExpectColumnMostCommonValueToBeInSet(column="missing", value_set=[1]),
    ], phase=2)
    assert [r["success"] for r in result["results"]] == [False, True, True, False, False, True, False]
    assert result["results"][0]["result"]["observed_value"] == [120.0]
