"""Great Expectations suite for the released (noisy) series of input perturbation.

The release must be a drop-in replacement for the validated series: the same columns, the
very same timestamps (values and time zone), and six numeric zone columns without nulls,
NaN or infinities. What else holds depends on the post-processing that was asked for:

* ``rounded``: zone columns are 64-bit integers;
* ``clip_at_zero``: no negative count. Without clipping, negative noisy counts are
  legitimate (small true counts plus noise) and are **not** a failure.

The plausible range of the raw table (``validate.min_count/max_count``) is deliberately
not checked: noise may leave it, and a check on the noisy values tells nothing about the
raw ones anyway.

Derived columns (computed with Polars, each checked by one expectation):

* ``_input_timestamp``: the input's timestamp at the same position (null past its end);
* ``_timestamp_dtype``: the Polars dtype of ``timestamp`` (time zone included);
* ``_non_finite``: null, or the zones whose value is NaN or infinite on that row.

GX reports offending rows by index: here the row's position in the series, from 1.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from dpforecast.data.schema import ROW, TIMESTAMP
from dpforecast.validation.outcomes import outcomes, plain_value
from dpforecast.validation.report import (
    MAX_EXAMPLES,
    ExpectationOutcome,
    ValidationReport,
)

INPUT_TIMESTAMP = "_input_timestamp"
TIMESTAMP_DTYPE = "_timestamp_dtype"
NON_FINITE = "_non_finite"
DERIVED = [INPUT_TIMESTAMP, TIMESTAMP_DTYPE, NON_FINITE]

INTEGER_TYPES = ["int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64"]
NUMERIC_TYPES = [*INTEGER_TYPES, "float32", "float64"]

SUITE_NAME = "released_series"


def _derived(frame: pl.DataFrame, reference_timestamps: pl.Series, zones: list[str]) -> pl.DataFrame:
    """``frame`` with a 1-based ``row`` and the derived columns appended."""
    n = frame.height
    ref = reference_timestamps.alias(INPUT_TIMESTAMP)
    if ref.len() >= n:
        ref = ref.head(n)
    else:
        ref = ref.extend(pl.Series(INPUT_TIMESTAMP, [None] * (n - ref.len()), dtype=ref.dtype))
    zones = [z for z in zones if z in frame.columns and frame.schema[z].is_numeric()]
    if zones:
        flags = [
            pl.when(~pl.col(z).cast(pl.Float64).is_finite()).then(pl.lit(z)) for z in zones
        ]
        non_finite = pl.concat_str(flags, separator=", ", ignore_nulls=True)
        non_finite = pl.when(non_finite == "").then(None).otherwise(non_finite)
    else:
        non_finite = pl.lit(None, dtype=pl.String)
    ts_dtype = str(frame.schema[TIMESTAMP]) if TIMESTAMP in frame.columns else "absent"
    return frame.with_columns(
        ref,
        pl.lit(ts_dtype, dtype=pl.String).alias(TIMESTAMP_DTYPE),
        non_finite.alias(NON_FINITE),
        pl.int_range(1, n + 1, dtype=pl.Int64).alias(ROW),
    )


def released_suite(
    columns: list[str], n_rows: int, reference_dtype: str, clip_at_zero: bool, rounded: bool,
    zones: list[str], nullable: frozenset[str] = frozenset(),
) -> list[Any]:
    """The expectations, each with ``meta = {"order", "problem"}`` like the raw suite.

    Per-column expectations are built only for expected columns that are present (the
    column-list expectation reports the others). A zone in ``nullable`` had missing counts
    in the input (a declared gap): its nulls are the input's, so no not-null check.
    """
    released_columns = [TIMESTAMP, *zones]
    import great_expectations as gx

    E = gx.expectations
    items: list[tuple[Any, str]] = [
        (
            E.ExpectTableColumnsToMatchOrderedList(column_list=[*released_columns, *DERIVED]),
            f"columns differ from {released_columns}",
        ),
        (E.ExpectTableRowCountToEqual(value=n_rows), f"row count differs from the input's {n_rows}"),
    ]
    present = [c for c in released_columns if c in columns]
    for c in (c for c in present if c not in nullable):
        items.append((E.ExpectColumnValuesToNotBeNull(column=c), "null (or NaN) value"))
    if TIMESTAMP in present:
        items += [
            (
                E.ExpectColumnPairValuesToBeEqual(column_A=TIMESTAMP, column_B=INPUT_TIMESTAMP),
                "timestamp differs from the input's at the same row",
            ),
            (
                E.ExpectColumnValuesToBeInSet(column=TIMESTAMP_DTYPE, value_set=[reference_dtype]),
                f"timestamp type differs from the input's {reference_dtype}",
            ),
            (E.ExpectColumnValuesToBeUnique(column=TIMESTAMP), "duplicated timestamps"),
            (
                E.ExpectColumnValuesToBeIncreasing(column=TIMESTAMP, strictly=False),
                "rows out of time order",
            ),
        ]
    items.append((E.ExpectColumnValuesToBeNull(column=NON_FINITE), "NaN or infinite noisy count"))
    for z in (c for c in present if c != TIMESTAMP):
        if rounded:
            items.append(
                (
                    E.ExpectColumnValuesToBeInTypeList(column=z, type_list=INTEGER_TYPES),
                    "not an integer column although round = true",
                )
            )
        else:
            items.append(
                (E.ExpectColumnValuesToBeInTypeList(column=z, type_list=NUMERIC_TYPES), "not a numeric column")
            )
        if clip_at_zero:
            items.append(
                (
                    E.ExpectColumnValuesToBeBetween(column=z, min_value=0),
                    "negative count although clip_at_zero = true",
                )
            )
    out = []
    for i, (exp, problem) in enumerate(items):
        exp.meta = {"order": i, "problem": problem}
        out.append(exp)
    return out


def _outcomes(gx_json: dict[str, Any], frame: pl.DataFrame, n_rows: int, expected: list[str]) -> list[ExpectationOutcome]:
    found = [c for c in frame.columns if c not in (*DERIVED, ROW)]

    def details(kind: str, cfg: dict[str, Any], res: dict[str, Any], _: pl.DataFrame) -> str:
        if kind == "expect_table_columns_to_match_ordered_list":
            return f"expected {expected}, found {found}"
        if kind == "expect_table_row_count_to_equal":
            return f"found {res.get('observed_value')} row(s), the input has {n_rows}"
        return f"observed {res.get('observed_value')}" if "observed_value" in res else ""

    def examples(f: pl.DataFrame, kwargs: dict[str, Any], index: list[Any]) -> list[dict[str, Any]]:
        rows = [int(i) for i in index[:MAX_EXAMPLES]]
        shown = (TIMESTAMP, kwargs.get("column") or kwargs.get("column_A"), kwargs.get("column_B"))
        wanted = [ROW] + [c for c in dict.fromkeys(shown) if c and c in f.columns and c != ROW]
        by_row = {d[ROW]: d for d in f.filter(pl.col(ROW).is_in(rows)).select(wanted).to_dicts()}
        return [{k: plain_value(v) for k, v in by_row.get(i, {ROW: i}).items()} for i in rows]

    return outcomes(gx_json, frame, phase=1, details=details, examples=examples)


def validate_released(
    frame: pl.DataFrame,
    clip_at_zero: bool,
    rounded: bool,
    reference_timestamps: pl.Series,
    zones: list[str],
    nullable: frozenset[str] = frozenset(),
    source: str = "released series",
    engine: str = "polars",
) -> ValidationReport:
    """Check a released (noisy) series against the input's timestamps; never raises on bad data.

    ``reference_timestamps`` is the ``timestamp`` column of the validated series that was
    perturbed, ``zones`` its zone columns, ``nullable`` those with missing counts there.
    ``report.gx_result["released"]`` holds GX's own JSON.
    """
    from dpforecast.validation.run import run_phase

    reference_timestamps = pl.Series(TIMESTAMP, reference_timestamps)
    if ROW in frame.columns:  # keep it visible to the column check; ROW becomes GX's index
        frame = frame.rename({ROW: f"{ROW} (released)"})
    table = _derived(frame, reference_timestamps, zones)
    # pandas, GX's input, turns an integer column with nulls into float64: the integer check
    # would fail on every zone with a missing count. Nulls are allowed there (no not-null
    # expectation) and the other checks skip them, so GX sees them as 0.
    table = table.with_columns(pl.col(z).fill_null(0) for z in sorted(nullable)
                               if z in table.columns and table.schema[z].is_integer())
    expectations = released_suite(
        frame.columns, reference_timestamps.len(), str(reference_timestamps.dtype), clip_at_zero, rounded,
        zones, nullable,
    )
    gx_json = run_phase(engine, SUITE_NAME, table, expectations)
    results = _outcomes(gx_json, table, reference_timestamps.len(), [TIMESTAMP, *zones])
    return ValidationReport(
        passed=all(r.success for r in results),
        rows=frame.height,
        source=source,
        results=results,
        gx_result={"released": gx_json},
        # One phase only: every check ran (ValidationReport would otherwise say that the
        # typed checks of the raw suite were skipped).
        phase2_run=True,
    )
