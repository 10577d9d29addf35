"""Run the two-phase suite on a raw table or a CSV file.

The suite is GX's (expectation objects, result JSON, reports); ``validate.engine`` says
who evaluates it. ``polars`` (the default): :mod:`dpforecast.validation.polars_engine`,
which gives GX's results in seconds on a city's thousand zones (GX on pandas takes
minutes; see BENCHMARKS.md). ``gx``: GX itself on pandas, each table converted with
``to_pandas()`` at the boundary, indexed by the source line number so that GX reports
line numbers, in a fresh ephemeral context (in memory, no analytics, no progress bars).
The tests run both engines on the same tables and compare their results.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl

from dpforecast.config import Params
from dpforecast.data.file_shape import DELIMITERS
from dpforecast.data.ingest import RawFormatError, read_raw
from dpforecast.data.schema import ROW
from dpforecast.validation.derive import REASON, typed_table
from dpforecast.validation.fixes import details_for
from dpforecast.validation.outcomes import outcomes
from dpforecast.validation.report import ValidationReport

RESULT_FORMAT: dict[str, Any] = {"result_format": "SUMMARY", "partial_unexpected_count": 20}


def _context() -> Any:
    import great_expectations as gx
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    config = DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False),
        analytics_enabled=False,
        progress_bars=ProgressBarsConfig(globally=False),
    )
    return gx.get_context(mode="ephemeral", project_config=config)


def _run_phase(context: Any, name: str, frame: pl.DataFrame, expectations: list[Any]) -> dict[str, Any]:
    """Validate ``frame`` (without its ``row`` column, which becomes the index) with GX."""
    import great_expectations as gx

    pdf = frame.drop(ROW).to_pandas()
    pdf.index = frame[ROW].to_list()
    batch = (
        context.data_sources.add_pandas(f"{name}_source")
        .add_dataframe_asset(f"{name}_table")
        .add_batch_definition_whole_dataframe(f"{name}_batch")
    )
    suite = gx.ExpectationSuite(name=name, expectations=expectations)
    suite = context.suites.add(suite)
    definition = context.validation_definitions.add(
        gx.ValidationDefinition(data=batch, suite=suite, name=f"{name}_validation")
    )
    result = definition.run(batch_parameters={"dataframe": pdf}, result_format=RESULT_FORMAT)
    return result.to_json_dict()


def run_phase(engine: str, name: str, frame: pl.DataFrame, expectations: list[Any]) -> dict[str, Any]:
    """GX's result JSON for ``expectations`` on ``frame`` (with its ``row`` column)."""
    if engine == "polars":
        from dpforecast.validation.polars_engine import run_suite

        return run_suite(frame, expectations, name)
    return _run_phase(_context(), name, frame, expectations)


def validate_raw(raw: pl.DataFrame, params: Params, source: str = "") -> ValidationReport:
    """Check a table as :func:`dpforecast.data.ingest.read_raw` returns it (strings + ``row``)
    against the suite generated from the data set's spec."""
    from dpforecast.validation import suite

    if ROW not in raw.columns:
        raw = raw.with_columns(pl.int_range(2, raw.height + 2, dtype=pl.Int64).alias(ROW))
    engine = params.validate.engine
    gx_json: dict[str, Any] = {"phase1": None, "phase2": None}

    spec = params.data_set
    shape = {"time_columns": spec.layout.time_columns(), "details": details_for(spec)}
    gx_json["phase1"] = run_phase(engine, "phase1_raw_strings", raw, suite.phase1(raw.columns, spec, params))
    results = outcomes(gx_json["phase1"], raw, phase=1, **shape)
    phase2_run = all(r.success for r in results)
    dropped: dict[str, int] = {}
    typed = None
    if phase2_run:
        typed, gaps = typed_table(raw, spec)
        dropped = {str(k): int(v) for k, v in gaps.group_by(REASON).len().iter_rows()}
        gx_json["phase2"] = run_phase(engine, "phase2_typed", typed, suite.phase2(spec, params))
        results += outcomes(gx_json["phase2"], typed, phase=2, **shape)
    return ValidationReport(
        passed=all(r.success for r in results),
        rows=raw.height,
        source=source,
        results=results,
        gx_result=gx_json,
        phase2_run=phase2_run,
        dropped_rows=dropped,
        typed=typed,
    )


def _first_line(path: Path) -> str:
    try:
        with path.open("rb") as f:
            return f.readline(65536).decode("utf-8", "replace").strip()
    except OSError:
        return ""


def validate_csv(path: str | Path, params: Params) -> ValidationReport:
    """Read ``path`` as text and validate it; an unreadable file gives a failed report."""
    path = Path(path)
    try:
        raw = read_raw(path, params.data_set.layout.delimiter)
    except RawFormatError as exc:
        error = str(exc)
        header = _first_line(path) if path.is_file() else ""
        delimiter = params.data_set.layout.delimiter
        for other in DELIMITERS:
            if other != delimiter and other in header and delimiter not in header:
                error += (f"; the file seems to use {other!r} as delimiter, {delimiter!r} is expected "
                          f"(the spec's layout.delimiter: {other!r} reads it)")
                break
        return ValidationReport(passed=False, rows=0, source=str(path), error=error)
    return validate_raw(raw, params, source=str(path))
