"""``evaluation``: the persistence baseline and the four saved models on the test week.

Calls :func:`dpforecast.stages.evaluate.evaluate` (the DVC ``evaluate`` stage) with
``train.model = "all"``, since this asset depends on all four model assets whatever
``params.yaml`` selects. Writes ``metrics/evaluate.json`` and ``plots/``; recorded in
``dvc.lock`` only when ``train.model`` is ``all`` (else DVC's stage evaluates one model).
"""

import dagster as dg
from dagster_project.defs.resources import MlflowResource, ProjectResource
from dagster_project.defs.scope import PROJECT, Scope
from dpforecast.config import ARCHITECTURES
from dpforecast.project import lineage


def evaluation_asset(scope: Scope) -> dg.AssetsDefinition:
    @dg.asset(
        key=scope.key("evaluation"),
        group_name=scope.group("evaluation"),
        deps=[scope.key(f"model_{arch}") for arch in ARCHITECTURES],
        kinds={"pytorch", "mlflow"},
    )
    def evaluation(context: dg.AssetExecutionContext, project: ProjectResource, mlflow: MlflowResource) -> dg.MaterializeResult:
        """Test RMSE and MAE of every model reloaded from its folder, of persistence and of the
        seasonal naive baselines."""
        return _evaluate(context, project, mlflow, scope)

    return evaluation


def _evaluate(context: dg.AssetExecutionContext, project: ProjectResource, mlflow: MlflowResource,
              scope: Scope) -> dg.MaterializeResult:
    from dpforecast.io import read_json
    from dpforecast.stages.evaluate import evaluate, summary_table

    paths, params = project.load_all_models(scope.dataset)
    context.log.info(f"evaluate: persistence and {', '.join(params.models())}")
    with mlflow.tracking(paths, params) as (params, uri, _):
        metrics = evaluate(paths, params, lineage=lineage(paths, params))
    table = summary_table(metrics)
    context.log.info(f"evaluate:\n{table}")
    return dg.MaterializeResult(
        metadata={
            "summary": dg.MetadataValue.md(table),
            **{f"{name}_rmse_mean": dg.MetadataValue.float(m["rmse"]["mean"]) for name, m in metrics.items()},
            "baselines": dg.MetadataValue.json(read_json(paths.baselines)),
            "metrics": dg.MetadataValue.path(str(paths.evaluation)),
            "forecast_plot": dg.MetadataValue.path(str(paths.plots_dir / "forecast.png")),
            "tracking_uri": dg.MetadataValue.text(uri),
            **project.record("evaluate", context.log, scope.dataset),
        }
    )


defs = dg.Definitions(assets=[evaluation_asset(PROJECT)])
