"""Stage ``validate``: check the ingested raw table, then write the typed series.

The reports (``result.json``: our outcomes and GX's JSON; ``summary.md``) are written in
every case, since they describe a failure too. The series is written only when every
expectation holds: on failure :class:`DataValidationError` is raised and ``series_out``
is neither written nor touched.

:func:`check_protocol` is the stage's second half, run by DVC's stage and Dagster's asset
after :func:`validate` (``dpforecast validate`` checks the data alone): a series that
leaves no training or no test window under the protocol, or a zone the spec will not drop
with no training count, is refused here, before a release is charged, not at ``features``.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from dpforecast.config import Params
from dpforecast.data.ingest import drop_total, series_from_typed
from dpforecast.features.feature_set import build_feature_set
from dpforecast.runtime.io import write_json, write_parquet, write_text
from dpforecast.validation import DataValidationError, ValidationReport, validate_raw

RESULT_JSON = "result.json"
SUMMARY_MD = "summary.md"


def validate(raw_table: Path, series_out: Path, report_dir: Path, params: Params) -> ValidationReport:
    """Validate ``raw_table`` (Parquet from the ingest stage); write reports, then the series."""
    raw_table, series_out, report_dir = Path(raw_table), Path(series_out), Path(report_dir)
    raw = pl.read_parquet(raw_table)
    report = validate_raw(raw, params, source=str(raw_table))
    write_json(report_dir / RESULT_JSON, report.to_json())
    write_text(report_dir / SUMMARY_MD, report.summary_markdown())
    if not report.passed:
        raise DataValidationError(report, report.message())
    write_parquet(series_out, drop_total(series_from_typed(report.typed, params.data_set)))
    return report


def check_protocol(series_path: Path, params: Params) -> dict[str, int]:
    """The windows per split the ``features`` stage will cut from the validated series (a
    :class:`~dpforecast.features.zones.SplitError` or ``EmptyZoneError`` naming the keys
    that fix it when there would be none)."""
    series = pl.read_parquet(series_path)
    return build_feature_set(series, series, params).counts
