"""The data-validation check on ``raw_mobility``: blocking, so a bad file stops the pipeline.

It runs the same Great Expectations suite as the ``validate`` stage
(:func:`dpforecast.validation.validate_raw`) on the ingested Parquet table. When it fails,
the run stops before ``validated_series``, which is not materialized.
"""

import polars as pl

import dagster as dg
from dagster_project.defs.resources import ProjectResource
from dpforecast.validation import validate_raw


@dg.asset_check(asset="raw_mobility", blocking=True)
def raw_mobility_is_valid(context: dg.AssetCheckExecutionContext, project: ProjectResource) -> dg.AssetCheckResult:
    """Every expectation of the two-phase suite holds on the ingested raw table."""
    paths, params = project.load()
    context.log.info(f"validating {paths.raw_table}")
    report = validate_raw(pl.read_parquet(paths.raw_table), params, source=str(paths.raw_table))
    failed = len(report.failures)
    context.log.info(report.message())
    return dg.AssetCheckResult(
        passed=report.passed,
        severity=dg.AssetCheckSeverity.ERROR,
        description=None if report.passed else report.message(),
        metadata={
            "summary": dg.MetadataValue.md(report.summary_markdown()),
            "failed_expectations": dg.MetadataValue.int(failed),
            "expectations": dg.MetadataValue.int(len(report.results)),
            "rows": dg.MetadataValue.int(report.rows),
        },
    )
