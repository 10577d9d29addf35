"""Turn GX's result JSON into :class:`ExpectationOutcome` objects with source line numbers.

The frames handed to GX are indexed by the source line number (``row``), so GX's
``partial_unexpected_index_list`` is a list of line numbers; the example values are then
read back from our own Polars table, which keeps them exact and JSON-safe.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import polars as pl

from dpforecast.data.schema import ROW
from dpforecast.validation.report import MAX_EXAMPLES, ExpectationOutcome

COLUMNS_EXPECTATION = "expect_table_columns_to_match_ordered_list"
ROW_COUNT_EXPECTATION = "expect_table_row_count_to_be_between"


def plain_value(value: Any) -> Any:
    """A JSON-safe example value (dates and times as ISO strings)."""
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    return value


def _examples(frame: pl.DataFrame, column: str | None, rows: list[Any], time_columns: list[str]) -> list[dict[str, Any]]:
    rows = [int(r) for r in rows[:MAX_EXAMPLES]]
    if not rows:
        return []
    wanted = [ROW, *(c for c in time_columns if c in frame.columns)]
    if column is not None and column in frame.columns and column not in wanted:
        wanted.append(column)
    found = {d[ROW]: d for d in frame.filter(pl.col(ROW).is_in(rows)).select(wanted).to_dicts()}
    return [{k: plain_value(v) for k, v in found.get(r, {ROW: r}).items()} for r in rows]


def columns_details(columns: list[str], expected: list[str]) -> str:
    found = [c for c in columns if c != ROW]
    parts = []
    missing = [c for c in expected if c not in found]
    extra = [c for c in found if c not in expected]
    if missing:
        parts.append("header (line 1) lacks column(s) " + ", ".join(repr(c) for c in missing))
    if extra:
        parts.append("unexpected column(s) " + ", ".join(repr(c) for c in extra))
    if not missing and not extra:
        parts.append("header (line 1) has the expected columns in the wrong order")
    parts.append(f"expected {list(expected)}, found {found}")
    return "; ".join(parts)


def _exception(result: dict[str, Any]) -> str | None:
    info = result.get("exception_info") or {}
    if "raised_exception" in info:
        infos = [info]
    else:  # keyed by metric configuration
        infos = [v for v in info.values() if isinstance(v, dict)]
    messages = [i.get("exception_message") for i in infos if i.get("raised_exception")]
    return "; ".join(str(m) for m in messages) if messages else None


Details = Callable[[str, dict[str, Any], dict[str, Any], pl.DataFrame], str]
Examples = Callable[[pl.DataFrame, dict[str, Any], list[Any]], list[dict[str, Any]]]


def table_details(kind: str, cfg: dict[str, Any], res: dict[str, Any], frame: pl.DataFrame) -> str:
    """What a failed table-level expectation of the raw suite found (the columns, the rows)."""
    if kind == COLUMNS_EXPECTATION:
        return columns_details(frame.columns, cfg["kwargs"].get("column_list") or [])
    if kind == ROW_COUNT_EXPECTATION:
        return f"found {res.get('observed_value')} data row(s), at least {cfg['kwargs'].get('min_value')} expected"
    return ""


def outcomes(
    gx_json: dict[str, Any], frame: pl.DataFrame, phase: int,
    details: Details | None = None, examples: Examples | None = None,
    time_columns: list[str] | None = None,
) -> list[ExpectationOutcome]:
    """One outcome per expectation, in suite order. ``details`` (for a failure) and
    ``examples`` default to the raw-table suite's (examples show the ``time_columns`` in
    phase 2); other suites pass their own."""
    details = details or table_details
    shown = list(time_columns or []) if phase == 2 else []
    if examples is None:
        def examples(f: pl.DataFrame, kwargs: dict[str, Any], index: list[Any]) -> list[dict[str, Any]]:
            return _examples(f, kwargs.get("column"), index, shown)
    results = sorted(
        gx_json.get("results", []),
        key=lambda r: (r["expectation_config"].get("meta") or {}).get("order", 0),
    )
    out = []
    for r in results:
        cfg = r["expectation_config"]
        kind = cfg["type"]
        kwargs = cfg.get("kwargs", {})
        res = r.get("result") or {}
        error = _exception(r)
        if error:
            detail = f"could not be evaluated: {error}"
        else:
            detail = "" if r["success"] else details(kind, cfg, res, frame)
        out.append(
            ExpectationOutcome(
                expectation=kind,
                column=kwargs.get("column") or kwargs.get("column_A"),
                success=bool(r["success"]),
                unexpected_count=int(res.get("unexpected_count") or 0),
                examples=examples(frame, kwargs, res.get("partial_unexpected_index_list") or []),
                phase=phase,
                problem=(cfg.get("meta") or {}).get("problem", ""),
                details=detail,
            )
        )
    return out
