"""``evaluation``: the baselines and the four saved models on the test period, at every lead.

Calls :func:`dpforecast.stages.evaluate.evaluate` (the DVC ``evaluate`` stage) with
``train.model = "all"``, since this asset depends on all four model assets whatever
``params.yaml`` selects. Writes ``metrics/`` and ``plots/``; recorded in
``dvc.lock`` only when ``train.model`` is ``all`` (else DVC's stage evaluates one model).
"""

import dagster as dg

from dagster_project.defs.resources import MlflowResource, ProjectResource
from dagster_project.defs.scope import PROJECT, Scope
from dpforecast.config import ARCHITECTURES
from dpforecast.runtime.project import lineage


def evaluation_asset(scope: Scope) -> dg.AssetsDefinition:
    @dg.asset(
        key=scope.key("evaluation"),
        group_name=scope.group("evaluation"),
        deps=[scope.key(f"model_{arch}") for arch in ARCHITECTURES],
        kinds={"pytorch", "mlflow"},
    )
    def evaluation(context: dg.AssetExecutionContext, project: ProjectResource, mlflow: MlflowResource) -> dg.MaterializeResult:
        """Test RMSE, MAE, skill, MASE and interval coverage of every model reloaded from its
        folder and of the baselines, per lead time and their mean."""
        return _evaluate(context, project, mlflow, scope)

    return evaluation


def _evaluate(context: dg.AssetExecutionContext, project: ProjectResource, mlflow: MlflowResource,
              scope: Scope) -> dg.MaterializeResult:
    from dpforecast.stages.evaluate import (
        coverage_flags,
        coverage_table,
        evaluate,
        lead_table,
        summary_table,
    )

    paths, params = project.load_all_models(scope.dataset)
    context.log.info(f"evaluate: baselines and {', '.join(params.models())}")
    with mlflow.tracking(paths, params) as (params, uri, _):
        scores = evaluate(paths, params, lineage=lineage(paths, params))
    table = summary_table(scores)
    flags = coverage_flags(scores)
    context.log.info("\n".join([f"evaluate:\n{table}", *flags]))
    horizon, minutes = params.features.horizon, params.data_set.interval_minutes
    return dg.MaterializeResult(
        metadata={
            "summary": dg.MetadataValue.md(table),
            # Numbers Dagster plots across materializations (the asset's Plots tab).
            **{f"{name}_rmse_mean": dg.MetadataValue.float(s["rmse"]["mean"]) for name, s in scores.items()
               if s["windows"]},
            "horizon": dg.MetadataValue.int(horizon),
            "lead_time_curve": dg.MetadataValue.md(lead_table(scores, minutes, every=max(1, horizon // 12))),
            "coverage": dg.MetadataValue.md(coverage_table(scores)),
            "coverage_flags": dg.MetadataValue.md("\n".join(f"- {f}" for f in flags) or "none"),
            "lead_time_plot": dg.MetadataValue.path(str(paths.plots_dir / "leads.png")),
            "fan_plot": dg.MetadataValue.path(str(paths.plots_dir / "fan.png")),
            "forecast_plot": dg.MetadataValue.path(str(paths.plots_dir / "forecast.png")),
            "metrics": dg.MetadataValue.path(str(paths.details)),
            "tracking_uri": dg.MetadataValue.text(uri),
            **project.record("evaluate", context.log, scope.dataset),
        }
    )


defs = dg.Definitions(assets=[evaluation_asset(PROJECT)])
