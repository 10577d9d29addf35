"""dpforecast.validation.released: the noisy release checked against the input's timestamps and the asked post-processing.

The synthetic tests run on a small hourly series; the moved real-data ones (from the release
stage's tests) on the first two days of Montreuil."""

from __future__ import annotations

import math
from pathlib import Path

import polars as pl
import pytest

from dpforecast.data import synthetic
from dpforecast.data.ingest import drop_total, read_raw
from dpforecast.data.schema import TIMESTAMP
from dpforecast.validation.derive import to_series
from dpforecast.validation.released import DERIVED, released_suite, validate_released

from montreuil_spec import SPEC, ZONES

TOWN = ["z0001", "z0002", "z0003"]


@pytest.fixture(scope="module")
def small(raw_csv_path: Path) -> pl.DataFrame:
    """Montreuil's validated series, its first 96 intervals."""
    return drop_total(to_series(read_raw(raw_csv_path), SPEC)).head(96)


@pytest.fixture(scope="module")
def town() -> pl.DataFrame:
    """Two days of three disjoint hourly zones, integer counts."""
    return synthetic.generate(zones=3, days=2, interval_minutes=60, hierarchy=False)


def _failed(report) -> set[tuple[str, str | None]]:
    return {(f.expectation, f.column) for f in report.failures}


@pytest.mark.real_data
def test_suite_accepts_negative_counts_unless_clipping_was_asked(small: pl.DataFrame) -> None:
    noisy = small.with_columns(pl.col("r5") - 100_000)  # legitimately negative noisy counts
    report = validate_released(noisy, clip_at_zero=False, rounded=True, reference_timestamps=small[TIMESTAMP], zones=ZONES)
    assert report.passed, report.message()
    report = validate_released(noisy, clip_at_zero=True, rounded=True, reference_timestamps=small[TIMESTAMP], zones=ZONES)
    assert _failed(report) == {("expect_column_values_to_be_between", "r5")}
    assert report.failures[0].unexpected_count == 96


@pytest.mark.real_data
def test_suite_checks_integers_only_when_rounded(small: pl.DataFrame) -> None:
    floats = small.with_columns(pl.col(z).cast(pl.Float64) + 0.25 for z in ZONES)
    assert validate_released(floats, False, False, small[TIMESTAMP], zones=ZONES).passed
    report = validate_released(floats, False, True, small[TIMESTAMP], zones=ZONES)
    assert _failed(report) == {("expect_column_values_to_be_in_type_list", z) for z in ZONES}


@pytest.mark.real_data
def test_suite_checks_timestamps_against_the_input(small: pl.DataFrame) -> None:
    ref = small[TIMESTAMP]
    shifted = small.with_columns(pl.col(TIMESTAMP).dt.offset_by("30m"))
    assert ("expect_column_pair_values_to_be_equal", TIMESTAMP) in _failed(validate_released(shifted, False, True, ref, zones=ZONES))
    utc = small.with_columns(pl.col(TIMESTAMP).dt.convert_time_zone("UTC"))
    assert ("expect_column_values_to_be_in_set", "_timestamp_dtype") in _failed(validate_released(utc, False, True, ref, zones=ZONES))
    short = small.head(95)
    report = validate_released(short, False, True, ref, zones=ZONES)
    assert _failed(report) == {("expect_table_row_count_to_equal", None)}
    assert "the input has 96" in report.message()
    extra = small.with_columns(pl.lit(1).alias("total"))
    assert ("expect_table_columns_to_match_ordered_list", None) in _failed(validate_released(extra, False, True, ref, zones=ZONES))


@pytest.mark.real_data
def test_suite_rejects_infinite_values(small: pl.DataFrame) -> None:
    inf = small.with_columns(pl.col(z).cast(pl.Float64) for z in ZONES).with_columns(
        pl.when(pl.int_range(pl.len()) == 3).then(float("inf")).otherwise(pl.col("r2")).alias("r2")
    )
    report = validate_released(inf, False, False, small[TIMESTAMP], zones=ZONES)
    assert _failed(report) == {("expect_column_values_to_be_null", "_non_finite")}
    assert report.failures[0].examples[0]["row"] == 4


# --------------------------------------------------------------------------- synthetic


def _suite(town: pl.DataFrame, clip_at_zero: bool, rounded: bool, columns: list[str] | None = None,
           nullable: frozenset[str] = frozenset()) -> list[tuple[str, str | None]]:
    suite = released_suite(columns or town.columns, town.height, str(town.schema[TIMESTAMP]), clip_at_zero, rounded,
                           TOWN, nullable)
    assert [e.meta["order"] for e in suite] == list(range(len(suite)))
    return [(e.expectation_type, getattr(e, "column", None)) for e in suite]


def test_a_faithful_release_passes_every_expectation(town: pl.DataFrame) -> None:
    report = validate_released(town, clip_at_zero=True, rounded=True, reference_timestamps=town[TIMESTAMP], zones=TOWN)
    assert report.passed, report.message()
    assert report.rows == 48 and report.source == "released series" and report.phase2_run
    assert len(report.results) == len(_suite(town, True, True)) == 17
    assert list(report.gx_result) == ["released"] and report.gx_result["released"]["success"] is True
    assert report.message() == "released series: valid (48 rows, 17 expectations met)"


def test_the_suite_checks_integers_and_signs_only_as_asked(town: pl.DataFrame) -> None:
    strict = _suite(town, clip_at_zero=True, rounded=True)
    assert strict[:2] == [("expect_table_columns_to_match_ordered_list", None), ("expect_table_row_count_to_equal", None)]
    assert strict[-2:] == [("expect_column_values_to_be_in_type_list", "z0003"), ("expect_column_values_to_be_between", "z0003")]
    loose = _suite(town, clip_at_zero=False, rounded=False)
    assert len(loose) == len(strict) - 3 and ("expect_column_values_to_be_between", "z0001") not in loose
    # a zone with declared gaps has no not-null check; an absent zone no per-column check at all
    assert ("expect_column_values_to_not_be_null", "z0002") not in _suite(town, True, True, nullable=frozenset({"z0002"}))
    absent = _suite(town, True, True, columns=[TIMESTAMP, "z0001", "z0002"])
    assert not [c for _, c in absent if c == "z0003"] and len(absent) == len(strict) - 3


def test_nulls_pass_only_in_a_zone_that_had_them_in_the_input(town: pl.DataFrame) -> None:
    holes = town.with_columns(pl.when(pl.int_range(pl.len()) == 5).then(None).otherwise(pl.col("z0002")).alias("z0002"))
    refused = validate_released(holes, True, True, town[TIMESTAMP], zones=TOWN)
    # pandas, GX's input, also turns the integer column with a null into floats
    assert _failed(refused) == {("expect_column_values_to_not_be_null", "z0002"),
                                ("expect_column_values_to_be_in_type_list", "z0002")}
    not_null = next(f for f in refused.failures if f.expectation == "expect_column_values_to_not_be_null")
    assert [e["row"] for e in not_null.examples] == [6]  # rows counted from 1
    # declared, the null is the input's: neither check fails
    assert validate_released(holes, True, True, town[TIMESTAMP], zones=TOWN, nullable=frozenset({"z0002"})).passed


def test_shifted_or_extra_rows_are_shown_beside_the_inputs_timestamp(town: pl.DataFrame) -> None:
    shifted = validate_released(town.with_columns(pl.col(TIMESTAMP).dt.offset_by("1h")), True, True, town[TIMESTAMP],
                                zones=TOWN)
    (pair,) = shifted.failures
    assert pair.expectation == "expect_column_pair_values_to_be_equal" and pair.unexpected_count == 48
    assert pair.examples[0] == {"row": 1, "timestamp": "2024-01-01T01:00:00+01:00",
                                "_input_timestamp": "2024-01-01T00:00:00+01:00"}
    longer = validate_released(town, True, True, town[TIMESTAMP].head(47), zones=TOWN)
    assert _failed(longer) == {("expect_table_row_count_to_equal", None), ("expect_column_pair_values_to_be_equal", TIMESTAMP)}
    assert "found 48 row(s), the input has 47" in longer.message()
    assert longer.failures[1].examples == [{"row": 48, "timestamp": "2024-01-02T23:00:00+01:00", "_input_timestamp": None}]


def test_a_row_column_in_the_release_is_kept_visible_as_unexpected(town: pl.DataFrame) -> None:
    report = validate_released(town.with_columns(pl.lit(1).alias("row")), True, True, town[TIMESTAMP], zones=TOWN)
    (columns,) = report.failures
    assert columns.expectation == "expect_table_columns_to_match_ordered_list"
    assert columns.details == (f"expected {[TIMESTAMP, *TOWN]}, found {[TIMESTAMP, *TOWN, 'row (released)']}")
    assert not set(DERIVED) & set(columns.details.split("found")[1])


def test_nan_is_caught_by_the_finite_check_naming_the_zone(town: pl.DataFrame) -> None:
    floats = town.with_columns(pl.col(z).cast(pl.Float64) for z in TOWN).with_columns(
        pl.when(pl.int_range(pl.len()) == 0).then(math.nan).otherwise(pl.col("z0003")).alias("z0003"))
    report = validate_released(floats, False, False, town[TIMESTAMP], zones=TOWN)
    assert ("expect_column_values_to_be_null", "_non_finite") in _failed(report)
    finite = next(f for f in report.failures if f.column == "_non_finite")
    assert finite.examples == [{"row": 1, "timestamp": "2024-01-01T00:00:00+01:00", "_non_finite": "z0003"}]
