"""Run the two-phase suite on a raw table or a CSV file.

GX has no Polars support: each phase's table is converted with ``to_pandas()`` here, at
the boundary, indexed by the source line number so that GX reports line numbers. Every
validation uses a fresh ephemeral GX context (in memory, no analytics, no progress bars).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl

from dpforecast.config import Params
from dpforecast.data.ingest import ROW, RawFormatError, read_raw
from dpforecast.validation.derive import typed_table
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


def validate_raw(raw: pl.DataFrame, params: Params, source: str = "") -> ValidationReport:
    """Check a table as :func:`dpforecast.data.ingest.read_raw` returns it (strings + ``row``)."""
    from dpforecast.validation import suite

    if ROW not in raw.columns:
        raw = raw.with_columns(pl.int_range(2, raw.height + 2, dtype=pl.Int64).alias(ROW))
    context = _context()
    gx_json: dict[str, Any] = {"phase1": None, "phase2": None}

    gx_json["phase1"] = _run_phase(context, "phase1_raw_strings", raw, suite.phase1(raw.columns, params))
    results = outcomes(gx_json["phase1"], raw, phase=1)
    phase2_run = all(r.success for r in results)
    if phase2_run:
        typed = typed_table(raw, params.data.timezone, params.data.declared_gaps)
        gx_json["phase2"] = _run_phase(context, "phase2_typed", typed, suite.phase2(params))
        results += outcomes(gx_json["phase2"], typed, phase=2)
    return ValidationReport(
        passed=all(r.success for r in results),
        rows=raw.height,
        source=source,
        results=results,
        gx_result=gx_json,
        phase2_run=phase2_run,
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
        raw = read_raw(path)
    except RawFormatError as exc:
        error = str(exc)
        header = _first_line(path) if path.is_file() else ""
        if ";" in header and "," not in header:
            error += "; the file seems to use ';' as delimiter, ',' is expected"
        return ValidationReport(passed=False, rows=0, source=str(path), error=error)
    return validate_raw(raw, params, source=str(path))
