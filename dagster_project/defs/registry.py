"""``registered_models``: the four trained models as MLflow registry versions, champion decided.

Calls :func:`dpforecast.stages.register.register` (the DVC ``register`` stage) for all four
architectures. Each decision (promoted or kept, with its reason and scores on the current
test week) is in the metadata, on the model version's tags in MLflow, and in
``promotions.jsonl``.
"""

import dagster as dg

from dagster_project.defs.resources import MlflowResource, ProjectResource
from dagster_project.defs.scope import PROJECT, Scope
from dpforecast.config import ARCHITECTURES
from dpforecast.runtime.project import lineage


def registry_asset(scope: Scope) -> dg.AssetsDefinition:
    @dg.asset(key=scope.key("registered_models"), group_name=scope.group("registry"),
              deps=[scope.key(f"model_{arch}") for arch in ARCHITECTURES], kinds={"mlflow"})
    def registered_models(context: dg.AssetExecutionContext, project: ProjectResource,
                          mlflow: MlflowResource) -> dg.MaterializeResult:
        """A new version of each ``<prefix>-<arch>[-ip|-gp]`` model (alias ``challenger``), and
        the ``champion`` alias moved only where the promotion rule says so."""
        return _register(context, project, mlflow, scope)

    return registered_models


def _register(context: dg.AssetExecutionContext, project: ProjectResource, mlflow: MlflowResource,
              scope: Scope) -> dg.MaterializeResult:
    from dpforecast.stages.register import decisions_table, register

    paths, params = project.load_all_models(scope.dataset)
    with mlflow.tracking(paths, params) as (params, uri, _):
        decisions = register(paths, params, lineage=lineage(paths, params))
    table = decisions_table(decisions)
    context.log.info(f"registry:\n{table}")
    return dg.MaterializeResult(
        metadata={
            "decisions": dg.MetadataValue.md(table),
            "promoted": dg.MetadataValue.int(sum(d["promoted"] for d in decisions.values())),
            **{f"{arch}_version": dg.MetadataValue.int(d["version"]) for arch, d in decisions.items()},
            "tracking_uri": dg.MetadataValue.text(uri),
            **project.record("register", context.log, scope.dataset),
        }
    )


defs = dg.Definitions(assets=[registry_asset(PROJECT)])
