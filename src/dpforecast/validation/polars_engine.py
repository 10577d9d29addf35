"""Evaluate a Great Expectations suite with Polars, returning GX's result JSON.

GX 1.x on pandas is far too slow for a city-scale table (1,000 count columns x 17,520
rows, see ``benchmarks/validation_engine.py``). GX still owns the suite (the expectation
objects with their kwargs and ``meta``) and the report format; Polars evaluates.
:func:`run_suite` returns the dict ``ValidationDefinition.run(...).to_json_dict()`` gives
for ``result_format`` SUMMARY with ``partial_unexpected_count`` 20, restricted to the
fields that :mod:`dpforecast.validation.outcomes` and :mod:`dpforecast.validation.released`
read; ``tests/unit/validation/test_polars_engine.py`` cross-checks it against GX on tables with every kind
of failure.

GX's pandas semantics, reproduced here:

* GX sees ``frame`` without its ``row`` column, which is the index: index lists hold
  ``row`` values, in frame order, and a check on ``row`` finds no such column;
* missing means null, or NaN in a float column (pandas makes no difference);
* map expectations other than ``not_be_null``/``be_null`` ignore missing values:
  ``unexpected_percent`` and ``mostly`` are relative to the non-missing values, and a
  column without any is vacuously valid;
* ``be_unique`` reports every occurrence of a repeated value; ``be_increasing`` compares
  a value with the previous non-missing one;
* ``match_regex`` runs pandas' own ``astype(str).str.contains`` (pyarrow's RE2, or
  Python's ``re`` where pandas falls back to it), once per pattern on the distinct values
  of all the columns it checks, so the regex dialect is GX's whatever the pattern;
* ``be_in_type_list`` checks the dtype pandas gives the column (an integer column with
  nulls is float64 there) with GX's own code.

An error GX reports in ``exception_info`` (a missing column, a bad pattern, bounds for a
string column) is reported the same way. Whatever this engine does not reproduce (an
unknown expectation type, ``row_condition``, suite parameters, a dtype for which GX's
behaviour is not emulated) raises :class:`UnsupportedExpectation`, never a silent pass.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from numbers import Real
from typing import Any

import polars as pl

from dpforecast.data.schema import ROW

PARTIAL_UNEXPECTED_COUNT = 20

Result = tuple[bool, dict[str, Any]]


class UnsupportedExpectation(NotImplementedError):
    """This engine cannot reproduce GX's result for an expectation."""


class _EvaluationError(Exception):
    """An error that GX reports in the expectation's ``exception_info``, once for each of
    the ``metrics`` it failed to compute."""

    def __init__(self, message: str, metrics: int = 1) -> None:
        super().__init__(message)
        self.metrics = metrics


@dataclass(frozen=True)
class _Table:
    """The frame, the columns GX sees (all but ``row``) with their dtypes, and for each
    regex of the suite the values it does not match (see :func:`_non_matching`)."""

    frame: pl.DataFrame
    dtypes: dict[str, pl.DataType]
    non_matching: dict[str, pl.Series | _EvaluationError]

    def column(self, name: str, metrics: int = 1) -> pl.DataType:
        """The dtype of a column GX sees, or GX's error for a missing one."""
        if name not in self.dtypes:
            raise _EvaluationError(f'Error: The column "{name}" in BatchData does not exist.', metrics)
        return self.dtypes[name]

    def missing(self, name: str) -> pl.Expr:
        """Missing as pandas sees it: null, or NaN in a float column."""
        col = pl.col(name)
        return col.is_null() | col.is_nan().fill_null(False) if self.dtypes[name].is_float() else col.is_null()

    def values(self, name: str) -> pl.Expr:
        """The column with its missing values as null."""
        return pl.when(~self.missing(name)).then(pl.col(name))


@dataclass(frozen=True)
class _MapCheck:
    """A map expectation; all of a suite's are evaluated together, in two Polars queries.

    ``unexpected`` flags the offending rows; ``considered`` the rows that success and
    ``unexpected_percent`` are relative to (``None``: all rows, as for ``not_be_null``);
    ``values`` are listed in ``partial_unexpected_list``.
    """

    values: list[pl.Expr]
    unexpected: pl.Expr
    considered: pl.Expr | None
    mostly: float

    def counts(self, k: int) -> list[pl.Expr]:
        return [
            (pl.len() if self.considered is None else self.considered.sum()).alias(f"{k}:base"),
            self.unexpected.sum().alias(f"{k}:count"),
        ]

    def first_unexpected(self, k: int) -> list[pl.Expr]:
        """The first rows' index (``k:0``) and values (``k:1``, ...)."""
        return [
            v.filter(self.unexpected).head(PARTIAL_UNEXPECTED_COUNT).implode().alias(f"{k}:{j}")
            for j, v in enumerate([pl.col(ROW), *self.values])
        ]

    def result(self, k: int, stats: dict[str, Any], element_count: int) -> Result:
        """GX's ``_format_map_output`` for SUMMARY."""
        from great_expectations.util import convert_to_json_serializable

        base, count = int(stats[f"{k}:base"]), int(stats[f"{k}:count"])
        shown = [stats.get(f"{k}:{j + 1}", []) for j in range(len(self.values))]
        partial = shown[0] if len(shown) == 1 else [list(t) for t in zip(*shown, strict=True)]
        return base == 0 or (base - count) / base >= self.mostly, {
            "element_count": element_count,
            "unexpected_count": count,
            "unexpected_percent": count / base * 100 if base > 0 else None,
            "partial_unexpected_list": convert_to_json_serializable(partial),
            "partial_unexpected_index_list": stats.get(f"{k}:0", []),
        }


Outcome = Result | _MapCheck


def _nonmissing_map(table: _Table, exp: Any, expected: Callable[[pl.Expr], pl.Expr]) -> _MapCheck:
    """A map expectation over the non-missing values: ``expected(values)``, with missing
    values as null, flags the expected ones (its value on missing rows is ignored).
    GX computes the missing values and the condition apart: a missing column fails both."""
    table.column(exp.column, metrics=2)
    present = ~table.missing(exp.column)
    values = table.values(exp.column)
    unexpected = present & ~expected(values).fill_null(True)
    return _MapCheck([values], unexpected, present, exp.mostly)


def _not_be_null(table: _Table, exp: Any) -> Outcome:
    table.column(exp.column)
    return _MapCheck([table.values(exp.column)], table.missing(exp.column), None, exp.mostly)


def _be_null(table: _Table, exp: Any) -> Outcome:
    table.column(exp.column)
    return _MapCheck([table.values(exp.column)], ~table.missing(exp.column), None, exp.mostly)


def _non_matching(frame: pl.DataFrame, columns: list[str], regex: str) -> pl.Series | _EvaluationError:
    """The distinct values of the String ``columns`` that ``regex`` does not match, by pandas'
    own ``str.contains`` as GX calls it, or the error it raises on the pattern. One call per
    pattern, on the values of all its columns together (a few thousand for counts)."""
    distinct = pl.concat([frame.get_column(c) for c in dict.fromkeys(columns)], rechunk=False).drop_nulls().unique()
    try:
        with warnings.catch_warnings():  # "has match groups": the pattern is only matched
            warnings.simplefilter("ignore", UserWarning)
            matches = distinct.to_pandas().astype(str).str.contains(regex).to_numpy(dtype=bool)
    except (re.error, ValueError) as exc:  # what GX reports: pandas' error on the pattern (Python's or RE2's)
        return _EvaluationError(str(exc))
    return distinct.filter(pl.Series(~matches, dtype=pl.Boolean))


def _match_regex(table: _Table, exp: Any) -> Outcome:
    dtype = table.column(exp.column, metrics=2)
    if dtype != pl.String:
        raise UnsupportedExpectation(f"match_regex on {exp.column!r} of type {dtype}: only String columns")
    bad = table.non_matching[exp.regex]
    if isinstance(bad, _EvaluationError):
        raise bad
    return _nonmissing_map(table, exp, lambda v: ~v.is_in(bad) if bad.len() else pl.lit(True))


def _be_unique(table: _Table, exp: Any) -> Outcome:
    return _nonmissing_map(table, exp, lambda v: ~v.is_duplicated())


def _be_increasing(table: _Table, exp: Any) -> Outcome:
    dtype = table.column(exp.column, metrics=2)
    if not (dtype.is_numeric() or dtype.is_temporal()):
        raise UnsupportedExpectation(f"be_increasing on {exp.column!r} of type {dtype}: only numbers and times")

    def expected(values: pl.Expr) -> pl.Expr:
        previous = values.forward_fill().shift(1)
        return values > previous if exp.strictly else values >= previous

    return _nonmissing_map(table, exp, expected)


def _be_between(table: _Table, exp: Any) -> Outcome:
    dtype = table.column(exp.column, metrics=2)
    low, high = exp.min_value, exp.max_value  # GX rejects both None, and bounds that are strings
    if low is not None and high is not None and low > high:
        raise _EvaluationError("min_value cannot be greater than max_value")
    if dtype == pl.String:  # GX compares each value, and fails on the first one
        if not table.frame.select(table.missing(exp.column).all()).item():
            raise _EvaluationError("Column values, min_value, and max_value must either be None or of the same type.")
        return _nonmissing_map(table, exp, lambda v: pl.lit(True))
    bounds = [b for b in (low, high) if b is not None]
    if dtype == pl.Boolean or not dtype.is_numeric() or not all(isinstance(b, Real) for b in bounds):
        raise UnsupportedExpectation(f"be_between on {exp.column!r} of type {dtype} with bounds {bounds}")

    def expected(values: pl.Expr) -> pl.Expr:
        ok = pl.lit(True)
        if low is not None:
            ok &= values > low if exp.strict_min else values >= low
        if high is not None:
            ok &= values < high if exp.strict_max else values <= high
        return ok

    return _nonmissing_map(table, exp, expected)


def _be_in_set(table: _Table, exp: Any) -> Outcome:
    dtype, value_set = table.column(exp.column, metrics=2), exp.value_set
    if value_set is None:
        return _nonmissing_map(table, exp, lambda v: pl.lit(True))
    kind = str if dtype == pl.String else Real if dtype.is_numeric() and dtype != pl.Boolean else None
    if kind is None or not all(isinstance(v, kind) for v in value_set):
        raise UnsupportedExpectation(f"be_in_set on {exp.column!r} of type {dtype} with values {value_set!r}")
    allowed = pl.Series(list(value_set)).cast(dtype)
    return _nonmissing_map(table, exp, lambda v: v.is_in(allowed))


def _be_in_type_list(table: _Table, exp: Any) -> Outcome:
    table.column(exp.column)
    dtype = table.frame.get_column(exp.column).to_pandas().dtype
    if dtype.type.__name__ == "object_" and exp.type_list is not None:
        raise UnsupportedExpectation(f"be_in_type_list on {exp.column!r}: pandas object columns are checked per value")
    out = exp._validate_pandas(actual_column_type=dtype, expected_types_list=exp.type_list)
    return bool(out["success"]), out["result"]


def _pair_values_equal(table: _Table, exp: Any) -> Outcome:
    (a, b), dtypes = (exp.column_A, exp.column_B), (table.column(exp.column_A), table.column(exp.column_B))
    right = table.values(b)
    if all(isinstance(d, pl.Datetime) for d in dtypes):
        zones = [d.time_zone for d in dtypes]  # type: ignore[attr-defined]
        if (zones[0] is None) != (zones[1] is None):
            raise UnsupportedExpectation(f"pair_values_equal on naive and aware {a!r}, {b!r}")
        if zones[0] is not None:
            right = right.dt.convert_time_zone(zones[0])
    elif dtypes[0] != dtypes[1] and not all(d.is_numeric() for d in dtypes):
        raise UnsupportedExpectation(f"pair_values_equal on {a!r} ({dtypes[0]}) and {b!r} ({dtypes[1]})")
    missing_a, missing_b = table.missing(a), table.missing(b)
    considered = {
        "both_values_are_missing": ~(missing_a & missing_b),
        "either_value_is_missing": ~(missing_a | missing_b),
        "neither": None,
    }[exp.ignore_row_if]
    unexpected = ~(~missing_a & ~missing_b & (pl.col(a) == right)).fill_null(False)
    if considered is not None:
        unexpected &= considered
    return _MapCheck([table.values(a), right], unexpected, considered, exp.mostly)


def _most_common_value_in_set(table: _Table, exp: Any) -> Outcome:
    """pandas' ``mode`` of the non-missing values (every tied value, sorted), as GX reads it."""
    dtype = table.column(exp.column)
    if dtype == pl.Boolean or not dtype.is_numeric():
        raise UnsupportedExpectation(f"most_common_value_to_be_in_set on {exp.column!r} of type {dtype}: only numbers")
    values = table.frame.select(table.values(exp.column).drop_nulls()).to_series()
    modes = sorted(values.mode().to_list()) if values.len() else []
    found = len(set(exp.value_set or []).intersection(modes))
    success = found > 0 if exp.ties_okay else len(modes) == 1 and found == 1
    return success, {"observed_value": modes}


def _columns_match_ordered_list(table: _Table, exp: Any) -> Outcome:
    columns = list(table.dtypes)
    return exp.column_list is None or columns == list(exp.column_list), {"observed_value": columns}


def _row_count_between(table: _Table, exp: Any) -> Outcome:
    n = table.frame.height
    above = exp.min_value is None or (n > exp.min_value if exp.strict_min else n >= exp.min_value)
    below = exp.max_value is None or (n < exp.max_value if exp.strict_max else n <= exp.max_value)
    return above and below, {"observed_value": n}


def _row_count_equal(table: _Table, exp: Any) -> Outcome:
    return table.frame.height == exp.value, {"observed_value": table.frame.height}


EVALUATORS: dict[str, Callable[[_Table, Any], Outcome]] = {
    "expect_table_columns_to_match_ordered_list": _columns_match_ordered_list,
    "expect_table_row_count_to_be_between": _row_count_between,
    "expect_table_row_count_to_equal": _row_count_equal,
    "expect_column_values_to_not_be_null": _not_be_null,
    "expect_column_values_to_be_null": _be_null,
    "expect_column_values_to_match_regex": _match_regex,
    "expect_column_values_to_be_unique": _be_unique,
    "expect_column_values_to_be_increasing": _be_increasing,
    "expect_column_values_to_be_between": _be_between,
    "expect_column_values_to_be_in_set": _be_in_set,
    "expect_column_values_to_be_in_type_list": _be_in_type_list,
    "expect_column_pair_values_to_be_equal": _pair_values_equal,
    "expect_column_most_common_value_to_be_in_set": _most_common_value_in_set,
}

_PASSED = {"raised_exception": False, "exception_message": None, "exception_traceback": None}


def _outcome(table: _Table, exp: Any, config: dict[str, Any]) -> Outcome | _EvaluationError:
    kind = config["type"]
    evaluator = EVALUATORS.get(kind)
    if evaluator is None:
        raise UnsupportedExpectation(f"{kind} is not supported by the Polars engine")
    if getattr(exp, "row_condition", None):
        raise UnsupportedExpectation(f"{kind}: row_condition is not supported by the Polars engine")
    if any(isinstance(v, dict) and "$PARAMETER" in v for v in config["kwargs"].values()):
        raise UnsupportedExpectation(f"{kind}: suite parameters are not supported by the Polars engine")
    try:
        return evaluator(table, exp)
    except _EvaluationError as exc:
        return exc


def run_suite(frame: pl.DataFrame, expectations: list[Any], suite_name: str) -> dict[str, Any]:
    """Validate ``frame`` (with its ``row`` column, the index GX would get) against GX
    expectation objects; the results come in suite order."""
    dtypes = {c: d for c, d in frame.schema.items() if c != ROW}
    regex_columns: dict[str, list[str]] = {}
    for exp in expectations:
        if exp.expectation_type == "expect_column_values_to_match_regex" and dtypes.get(exp.column) == pl.String:
            regex_columns.setdefault(exp.regex, []).append(exp.column)
    table = _Table(frame, dtypes, {r: _non_matching(frame, cols, r) for r, cols in regex_columns.items()})
    configs = [exp.configuration.to_json_dict() for exp in expectations]
    outcomes = [_outcome(table, exp, config) for exp, config in zip(expectations, configs, strict=True)]
    checks = {k: o for k, o in enumerate(outcomes) if isinstance(o, _MapCheck)}
    # Two queries: the counts of every check, then the first offending rows of those that failed.
    stats = frame.select(e for k, c in checks.items() for e in c.counts(k)).row(0, named=True) if checks else {}
    offending = [e for k, c in checks.items() if stats[f"{k}:count"] for e in c.first_unexpected(k)]
    if offending:
        stats |= frame.select(offending).row(0, named=True)
    results = []
    for k, (config, outcome) in enumerate(zip(configs, outcomes, strict=True)):
        if isinstance(outcome, _EvaluationError):
            error = {"raised_exception": True, "exception_message": str(outcome), "exception_traceback": None}
            info = error if outcome.metrics == 1 else {f"metric {i}": error for i in range(outcome.metrics)}
            results.append({"success": False, "expectation_config": config, "result": {}, "exception_info": info})
            continue
        success, result = outcome.result(k, stats, frame.height) if isinstance(outcome, _MapCheck) else outcome
        results.append({"success": success, "expectation_config": config, "result": result, "exception_info": _PASSED})
    passed = sum(r["success"] for r in results)
    return {
        "success": passed == len(results),
        "results": results,
        "suite_name": suite_name,
        "statistics": {
            "evaluated_expectations": len(results),
            "successful_expectations": passed,
            "unsuccessful_expectations": len(results) - passed,
            "success_percent": passed / len(results) * 100 if results else None,
        },
    }
