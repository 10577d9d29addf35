"""The Great Expectations suite, in two phases.

Phase 1 checks the cells as written (strings): the header, non-empty cells, the formats
of ``Date``, ``Hour`` and the counts, and a minimum number of rows. Phase 2 checks the
typed table of :mod:`dpforecast.validation.derive` (time order, duplicates, the 30-minute
grid with its declared gaps, ``Total`` against the zones, plausible counts); it only
runs when phase 1 passed, since types mean nothing before.

Each expectation carries ``meta = {"order": i, "problem": "..."}``: GX does not return
results in suite order, and ``problem`` says in words what a failure means.

GX is imported inside the functions: importing it costs seconds.
"""

from __future__ import annotations

from typing import Any

from dpforecast.config import Params
from dpforecast.data.schema import COUNT_COLUMNS, DATE, HOUR, RAW_COLUMNS, TIMESTAMP, ZONE_NAMES
from dpforecast.validation.derive import PARSE_PROBLEM, RESIDUAL, UNEXPECTED_STEP

DATE_REGEX = r"^[0-9]{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])$"
HOUR_REGEX = r"^(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]$"
COUNT_REGEX = r"^[0-9]+$"


def _with_meta(expectations: list[tuple[Any, str]]) -> list[Any]:
    out = []
    for i, (exp, problem) in enumerate(expectations):
        exp.meta = {"order": i, "problem": problem}
        out.append(exp)
    return out


def phase1(columns: list[str], params: Params) -> list[Any]:
    """Expectations on the raw strings; per-column ones only for expected columns present."""
    import great_expectations as gx

    E = gx.expectations
    present = [c for c in RAW_COLUMNS if c in columns]
    items: list[tuple[Any, str]] = [
        (E.ExpectTableColumnsToMatchOrderedList(column_list=list(RAW_COLUMNS)), "header differs from the expected columns"),
        (
            E.ExpectTableRowCountToBeBetween(min_value=params.validate.min_rows),
            f"fewer than {params.validate.min_rows} data rows",
        ),
    ]
    for c in present:
        items.append((E.ExpectColumnValuesToNotBeNull(column=c), "empty cell"))
    formats = {DATE: (DATE_REGEX, "not a YYYY-MM-DD date"), HOUR: (HOUR_REGEX, "not an HH:MM:SS time")}
    for c in present:
        if c in formats:
            regex, problem = formats[c]
        elif c in COUNT_COLUMNS:
            regex, problem = COUNT_REGEX, "not a non-negative integer"
        else:
            continue
        items.append((E.ExpectColumnValuesToMatchRegex(column=c, regex=regex), problem))
    return _with_meta(items)


def phase2(params: Params) -> list[Any]:
    """Expectations on the typed table (see :func:`dpforecast.validation.derive.typed_table`).

    ``unique`` plus (non-strictly) ``increasing`` means strictly increasing; keeping them
    apart reports a duplicated row as a duplicate and swapped rows as an ordering problem.
    """
    import great_expectations as gx

    E = gx.expectations
    v = params.validate
    items: list[tuple[Any, str]] = [
        (E.ExpectColumnValuesToBeNull(column=PARSE_PROBLEM), "values that cannot be parsed"),
        (E.ExpectColumnValuesToBeUnique(column=TIMESTAMP), "duplicated timestamps"),
        (
            E.ExpectColumnValuesToBeIncreasing(column=TIMESTAMP, strictly=False),
            "rows out of time order: earlier than the previous row",
        ),
        (
            E.ExpectColumnValuesToBeNull(column=UNEXPECTED_STEP),
            "off the 30-minute grid: minutes since the previous row, not 30 nor a declared gap",
        ),
        (
            E.ExpectColumnValuesToBeBetween(column=RESIDUAL, min_value=0, max_value=0),
            "Total minus the sum of the six zones is not 0",
        ),
    ]
    for zone in ZONE_NAMES.values():
        items.append(
            (
                E.ExpectColumnValuesToBeBetween(column=zone, min_value=v.min_count, max_value=v.max_count),
                f"count outside [{v.min_count}, {v.max_count}]",
            )
        )
    return _with_meta(items)
