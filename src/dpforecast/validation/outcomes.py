"""Turn GX's result JSON into :class:`ExpectationOutcome` objects with source line numbers.

The frames handed to GX are indexed by the source line number (``row``), so GX's
``partial_unexpected_index_list`` is a list of line numbers; the example values are then
read back from our own Polars table, which keeps them exact and JSON-safe.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl

from dpforecast.data.ingest import ROW
from dpforecast.data.schema import DATE, HOUR, RAW_COLUMNS
from dpforecast.validation.report import MAX_EXAMPLES, ExpectationOutcome

COLUMNS_EXPECTATION = "expect_table_columns_to_match_ordered_list"
ROW_COUNT_EXPECTATION = "expect_table_row_count_to_be_between"


def _plain(value: Any) -> Any:
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    return value


def _examples(frame: pl.DataFrame, column: str | None, rows: list[Any], with_time: bool) -> list[dict[str, Any]]:
    rows = [int(r) for r in rows[:MAX_EXAMPLES]]
    if not rows:
        return []
    wanted = [ROW]
    if with_time:
        wanted += [DATE, HOUR]
    if column is not None and column in frame.columns and column not in wanted:
        wanted.append(column)
    found = {d[ROW]: d for d in frame.filter(pl.col(ROW).is_in(rows)).select(wanted).to_dicts()}
    return [{k: _plain(v) for k, v in found.get(r, {ROW: r}).items()} for r in rows]


def semicolon_hint(columns: list[str]) -> str | None:
    """A header read as one column containing ';' means the wrong delimiter."""
    cols = [c for c in columns if c != ROW]
    if len(cols) == 1 and ";" in cols[0]:
        return "the header (line 1) is a single column containing ';': the file seems to use ';' as delimiter, ',' is expected"
    return None


def columns_details(columns: list[str]) -> str:
    found = [c for c in columns if c != ROW]
    hint = semicolon_hint(columns)
    if hint:
        return hint
    parts = []
    missing = [c for c in RAW_COLUMNS if c not in found]
    extra = [c for c in found if c not in RAW_COLUMNS]
    if missing:
        parts.append("header (line 1) lacks column(s) " + ", ".join(repr(c) for c in missing))
    if extra:
        parts.append("unexpected column(s) " + ", ".join(repr(c) for c in extra))
    if not missing and not extra:
        parts.append("header (line 1) has the expected columns in the wrong order")
    parts.append(f"expected {list(RAW_COLUMNS)}, found {found}")
    return "; ".join(parts)


def _exception(result: dict[str, Any]) -> str | None:
    info = result.get("exception_info") or {}
    if "raised_exception" in info:
        infos = [info]
    else:  # keyed by metric configuration
        infos = [v for v in info.values() if isinstance(v, dict)]
    messages = [i.get("exception_message") for i in infos if i.get("raised_exception")]
    return "; ".join(str(m) for m in messages) if messages else None


def outcomes(gx_json: dict[str, Any], frame: pl.DataFrame, phase: int) -> list[ExpectationOutcome]:
    """One outcome per expectation, in suite order."""
    results = sorted(
        gx_json.get("results", []),
        key=lambda r: (r["expectation_config"].get("meta") or {}).get("order", 0),
    )
    out = []
    for r in results:
        cfg = r["expectation_config"]
        kind = cfg["type"]
        column = cfg.get("kwargs", {}).get("column")
        res = r.get("result") or {}
        details = ""
        error = _exception(r)
        if error:
            details = f"could not be evaluated: {error}"
        elif not r["success"] and kind == COLUMNS_EXPECTATION:
            details = columns_details(frame.columns)
        elif not r["success"] and kind == ROW_COUNT_EXPECTATION:
            details = f"found {res.get('observed_value')} data row(s), at least {cfg['kwargs'].get('min_value')} expected"
        out.append(
            ExpectationOutcome(
                expectation=kind,
                column=column,
                success=bool(r["success"]),
                unexpected_count=int(res.get("unexpected_count") or 0),
                examples=_examples(frame, column, res.get("partial_unexpected_index_list") or [], phase == 2),
                phase=phase,
                problem=(cfg.get("meta") or {}).get("problem", ""),
                details=details,
            )
        )
    return out
