"""The data-validation check on ``raw_mobility``: blocking, so a bad file stops the pipeline.

It runs the same Great Expectations suite as the ``validate`` stage
(:func:`dpforecast.validation.validate_raw`) on the ingested Parquet table. When it fails,
the run stops before ``validated_series``, which is not materialized. One per data set's graph.
"""

import dagster as dg
import polars as pl

from dagster_project.defs.resources import ProjectResource
from dagster_project.defs.scope import PROJECT, Scope
from dpforecast.validation import validate_raw


def validation_check(scope: Scope) -> dg.AssetChecksDefinition:
    @dg.asset_check(asset=scope.key("raw_mobility"), name="raw_mobility_is_valid", blocking=True)
    def raw_mobility_is_valid(context: dg.AssetCheckExecutionContext, project: ProjectResource) -> dg.AssetCheckResult:
        """Every expectation of the two-phase suite holds on the ingested raw table."""
        paths, params = project.load(scope.dataset)
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

    return raw_mobility_is_valid


defs = dg.Definitions(asset_checks=[validation_check(PROJECT)])
