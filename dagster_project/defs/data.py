"""Data assets: ingest, validate, release, features (``pipelines/ingest.py``, ``validate.py``,
``release.py``, ``features.py``), for one data set's graph (:mod:`scope`).

Each asset calls the stage function its DVC script calls, with the same arguments taken
from :class:`dpforecast.runtime.paths.Paths`, so the files it writes are the DVC stage's files.
Assets hand data on through those files (no IO manager): downstream assets are ordered
by ``deps`` and read the paths themselves, as the stages do. The project's graph records
each stage in ``dvc.lock`` (``ProjectResource.record``; the ``dvc`` metadata entry says how
it went). ``raw_mobility`` carries the data set's name, zones, interval, rows and licence.
"""

import dagster as dg
import polars as pl

from dagster_project.defs.resources import ProjectResource
from dagster_project.defs.scope import PROJECT, Scope
from dpforecast.data.ingest import source_files
from dpforecast.data.schema import TIMESTAMP
from dpforecast.features.zones import EmptyZoneError, SplitError
from dpforecast.stages.features import build_features, features_report
from dpforecast.stages.ingest import ingest
from dpforecast.stages.validate import check_protocol, validate
from dpforecast.validation import DataValidationError

GROUP = "data"


def data_assets(scope: Scope) -> list[dg.AssetsDefinition]:
    ds = scope.dataset

    @dg.asset(key=scope.key("raw_mobility"), group_name=scope.group(GROUP), deps=[scope.key("incoming_data")],
              kinds={"polars", "parquet"})
    def raw_mobility(context: dg.AssetExecutionContext, project: ProjectResource) -> dg.MaterializeResult:
        """The data set's files, every cell as written, in ``artifacts/ingest/raw.parquet``."""
        paths, params = project.load(ds)
        spec = params.data_set
        source, *added = source_files(paths.sources, spec)
        context.log.info(f"ingest: reading {source} ({spec.name})")
        raw = ingest(source, paths.raw_table, added, spec.layout.delimiter)
        context.log.info(f"ingest: {raw.height} rows ({len(added)} increment(s)) written to {paths.raw_table}")
        return dg.MaterializeResult(
            metadata={
                "dagster/row_count": dg.MetadataValue.int(raw.height),
                "dataset": dg.MetadataValue.text(spec.name),
                "title": dg.MetadataValue.text(spec.title),
                "zones": dg.MetadataValue.int(len(spec.zones)),
                "interval_minutes": dg.MetadataValue.int(spec.interval_minutes),
                "license": dg.MetadataValue.text(spec.source.license),
                "citation": dg.MetadataValue.text(spec.source.citation),
                "source": dg.MetadataValue.path(str(source)),
                "increments": dg.MetadataValue.int(len(added)),
                "path": dg.MetadataValue.path(str(paths.raw_table)),
                **project.record("ingest", context.log, ds),
            }
        )

    @dg.asset(key=scope.key("validated_series"), group_name=scope.group(GROUP), deps=[raw_mobility.key],
              kinds={"polars", "parquet"})
    def validated_series(context: dg.AssetExecutionContext, project: ProjectResource) -> dg.MaterializeResult:
        """The typed series (``artifacts/validate/series.parquet``), written only if the raw table is valid.

        Validation reports go to ``reports/validation/`` either way. The blocking check on
        ``raw_mobility`` normally stops a bad file earlier; materialized on its own, this asset
        fails with the same message.
        """
        paths, params = project.load(ds)
        context.log.info(f"validate: checking {paths.raw_table}")
        try:
            report = validate(paths.raw_table, paths.series, paths.validation_dir, params)
        except DataValidationError as exc:
            raise dg.Failure(
                description=str(exc),
                metadata={"validation": dg.MetadataValue.md(exc.report.summary_markdown())},
            ) from exc
        try:
            windows = check_protocol(paths.series, params)
        except (SplitError, EmptyZoneError) as exc:
            raise dg.Failure(description=str(exc)) from exc
        times = pl.read_parquet(paths.series, columns=[TIMESTAMP])[TIMESTAMP]
        rows = len(times)
        context.log.info(f"validate: {report.rows} raw rows passed {len(report.results)} expectations; {rows} series rows")
        return dg.MaterializeResult(
            metadata={
                "dagster/row_count": dg.MetadataValue.int(rows),
                "date_range": dg.MetadataValue.text(f"{times.min()} to {times.max()}"),
                "expectations_met": dg.MetadataValue.int(len(report.results)),
                "windows_per_split": dg.MetadataValue.json(windows),
                "rows_left_out_as_gaps": dg.MetadataValue.json(report.dropped_rows),
                "path": dg.MetadataValue.path(str(paths.series)),
                "report": dg.MetadataValue.path(str(paths.validation_dir)),
                **project.record("validate", context.log, ds),
            }
        )

    @dg.asset(key=scope.key("released_series"), group_name=scope.group(GROUP), deps=[validated_series.key],
              kinds={"polars", "parquet"})
    def released_series(context: dg.AssetExecutionContext, project: ProjectResource) -> dg.MaterializeResult:
        """Input perturbation's continual noisy release of the series (``privacy.mode: ip``):
        started once and charged to the data set's ledger, then extended by each delivery at
        no further charge; in other modes a note that models read the validated series."""
        from dpforecast.runtime.project import lineage
        from dpforecast.stages.release import release, release_line

        paths, params = project.load(ds)
        meta = release(paths, params, data_version=lineage(paths, params).get("data.dvc_md5", ""))
        context.log.info(release_line(meta, params.privacy.mode))
        private = meta.get("private", True)
        metadata = {"private": dg.MetadataValue.bool(bool(private)), "mode": dg.MetadataValue.text(params.privacy.mode)}
        if params.privacy.mode == "ip":
            terms = meta["terms"]
            metadata.update({
                "epsilon": dg.MetadataValue.float(float(terms["epsilon"])),
                "delta": dg.MetadataValue.float(float(terms["delta"])),
                "unit": dg.MetadataValue.text(str(terms["unit_text"])),
                "mechanism": dg.MetadataValue.text(str(terms["mechanism"])),
                "deliveries": dg.MetadataValue.int(len(meta["deliveries"])),
                "epsilon per ledger unit": dg.MetadataValue.json(meta["unit_epsilons"]),
            })
        return dg.MaterializeResult(metadata={**metadata, **project.record("release", context.log, ds)})

    @dg.asset(key=scope.key("features"), group_name=scope.group(GROUP), deps=[released_series.key],
              kinds={"polars", "parquet"})
    def features(context: dg.AssetExecutionContext, project: ProjectResource) -> dg.MaterializeResult:
        """Calendar features (``artifacts/features/table.parquet``) and the chronological window index
        (``artifacts/features/windows.parquet``); ``summary.json`` says which zones are modelled."""
        from dpforecast.runtime.io import read_json

        paths, params = project.load(ds)
        counts = build_features(paths, params)
        summary = read_json(paths.feature_summary)
        context.log.info(features_report(summary))
        return dg.MaterializeResult(
            metadata={
                **{f"windows_{split}": dg.MetadataValue.int(n) for split, n in counts.items()},
                "window": dg.MetadataValue.int(params.features.window),
                "horizon": dg.MetadataValue.int(params.features.horizon),
                "modelled_zones": dg.MetadataValue.int(len(summary["modelled_zones"])),
                "dropped_zones": dg.MetadataValue.text(", ".join(summary["dropped_zones"]) or "none"),
                "windows_dropped_for_missing_counts": dg.MetadataValue.int(summary["windows_dropped_for_missing_counts"]),
                "windows_removed": dg.MetadataValue.json(summary["windows_removed"]),
                "periods": dg.MetadataValue.json(summary["periods"]),
                "table": dg.MetadataValue.path(str(paths.feature_table)),
                "windows": dg.MetadataValue.path(str(paths.windows)),
                **project.record("features", context.log, ds),
            }
        )

    return [raw_mobility, validated_series, released_series, features]


defs = dg.Definitions(assets=data_assets(PROJECT))
