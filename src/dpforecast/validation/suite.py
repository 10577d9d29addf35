"""The Great Expectations suite, in two phases.

Both are generated from the data set's spec. Phase 1 checks the cells as written
(strings): the header, non-empty cells (counts may be empty where the spec makes missing
values gaps), the formats of the time cells and the counts, the zone values of a long
file, and a minimum number of rows. Phase 2 checks the typed table of
:mod:`dpforecast.validation.derive` (time order, duplicates, the interval grid with its
declared gaps, the file's most common step against the interval, offsets against the time
zone, the total against the zones, plausible counts); it only runs when phase 1 passed,
since types mean nothing before.

Each expectation carries ``meta = {"order": i, "problem": "..."}``: GX does not return
results in suite order, and ``problem`` says in words what a failure means.

GX is imported inside the functions: importing it costs seconds.
"""

from __future__ import annotations

from typing import Any

from dpforecast.config import Params
from dpforecast.data.schema import TIMESTAMP
from dpforecast.data.spec import DatasetSpec
from dpforecast.data.time_formats import format_regexes
from dpforecast.validation.derive import (
    FOREIGN_OFFSET,
    PARSE_PROBLEM,
    RESIDUAL,
    STEP_MINUTES,
    UNEXPECTED_STEP,
    count_columns,
)

COUNT_REGEX = r"^[0-9]+$"
COUNT_REGEXES = {"integer": (COUNT_REGEX, "not a non-negative integer"),
                 "whole_decimal": (r"^[0-9]+(?:\.0+)?$", "not a non-negative whole number")}


def _with_meta(expectations: list[tuple[Any, str]]) -> list[Any]:
    out = []
    for i, (exp, problem) in enumerate(expectations):
        exp.meta = {"order": i, "problem": problem}
        out.append(exp)
    return out


def phase1(columns: list[str], spec: DatasetSpec, params: Params) -> list[Any]:
    """Expectations on the raw strings; per-column ones only for expected columns present."""
    import great_expectations as gx

    E = gx.expectations
    expected = spec.source_columns()
    present = [c for c in expected if c in columns]
    items: list[tuple[Any, str]] = [
        (E.ExpectTableColumnsToMatchOrderedList(column_list=expected), "header differs from the expected columns"),
        (
            E.ExpectTableRowCountToBeBetween(min_value=params.validate.min_rows),
            f"fewer than {params.validate.min_rows} data rows",
        ),
    ]
    counts = set(count_columns(spec) if spec.layout.kind == "wide" else [spec.layout.count])
    may_be_empty = counts if spec.missing_values == "gap" else set()
    for c in present:
        if c not in may_be_empty and c not in spec.layout.ignored:
            items.append((E.ExpectColumnValuesToNotBeNull(column=c), "empty cell"))
    formats = format_regexes(spec.layout)
    for c in present:
        if c in formats:
            regex, problem = formats[c]
        elif c in counts:
            regex, problem = COUNT_REGEXES[spec.layout.count_format]
        else:
            continue
        items.append((E.ExpectColumnValuesToMatchRegex(column=c, regex=regex), problem))
    if spec.layout.kind == "long" and spec.layout.zone in present:
        zones = [z.source for z in spec.zones]
        items.append((E.ExpectColumnValuesToBeInSet(column=spec.layout.zone, value_set=zones),
                      "not a zone of this data set"))
    return _with_meta(items)


def phase2(spec: DatasetSpec, params: Params) -> list[Any]:
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
            f"off the {spec.clock.name} grid: minutes since the previous row, not "
            f"{spec.clock.expected_step} nor a declared gap",
        ),
        # Whatever the gap policy: with undeclared_gaps: gap, a 120-minute file would pass
        # the grid check of a 60-minute spec, every other step a gap.
        (
            E.ExpectColumnMostCommonValueToBeInSet(column=STEP_MINUTES, value_set=[spec.interval_minutes],
                                                   ties_okay=True),
            f"the file's most common step is not the spec's interval_minutes ({spec.interval_minutes})",
        ),
        (
            E.ExpectColumnValuesToBeNull(column=FOREIGN_OFFSET),
            f"offsets written in the file that are not {spec.timezone}'s at that instant (timezone)",
        ),
    ]
    if spec.total:
        items.append((
            E.ExpectColumnValuesToBeBetween(column=RESIDUAL, min_value=0, max_value=0),
            f"{spec.total} minus the sum of the {len(spec.zones)} zones is not 0",
        ))
    for zone in spec.zones:
        items.append(
            (
                E.ExpectColumnValuesToBeBetween(column=zone.source, min_value=v.min_count, max_value=v.max_count),
                f"count outside [{v.min_count}, {v.max_count}]",
            )
        )
    if spec.layout.kind == "long" and spec.missing_values == "refuse":
        # A long file can miss a zone's row at a time altogether: phase 1 cannot see it.
        for zone in spec.zones:
            items.append((E.ExpectColumnValuesToNotBeNull(column=zone.source),
                          "no count for this zone at this time (missing_values: refuse)"))
    return _with_meta(items)
