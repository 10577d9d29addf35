"""One asset per architecture (``model_lstm``, ``model_gru``, ``model_bilstm``, ``model_bigru``).

Each calls :func:`dpforecast.stages.train.train_one`, the function the DVC ``train`` stage
loops over, and writes ``models/<arch>/`` as that stage does. The run is tracked in MLflow
(see :class:`MlflowResource`). The DVC stage trains what ``train.model`` selects; Dagster
always offers all four assets, and ``train.model`` does not restrict them. The ``train``
stage's out is the whole ``models/`` folder: each asset tries to record it in ``dvc.lock``,
which succeeds once all four folders come from the current features and parameters and
``train.model`` is ``all`` (the last model asset to finish records it).
"""

import dagster as dg

from dagster_project.defs.resources import MlflowResource, ProjectResource, run_link
from dagster_project.defs.scope import PROJECT, Scope
from dpforecast.config import ARCHITECTURES
from dpforecast.runtime.project import lineage

GROUP = "training"


def errors_table(test: dict[str, dict[str, float]], names: dict[str, str]) -> str:
    """Per-zone test RMSE and MAE (and their mean over zones) as a Markdown table."""
    lines = ["| zone | name | RMSE | MAE |", "| --- | --- | ---: | ---: |"]
    for zone in (z for z in test["rmse"] if z != "mean"):
        lines.append(f"| {zone} | {names.get(zone, zone)} | {test['rmse'][zone]:.1f} | {test['mae'][zone]:.1f} |")
    lines.append(f"| mean | | {test['rmse']['mean']:.1f} | {test['mae']['mean']:.1f} |")
    return "\n".join(lines)


def privacy_metadata(report: dict) -> dict[str, dg.MetadataValue]:
    """A privacy report's guarantee as asset metadata: epsilon always beside its unit and delta."""
    meta = {"privacy": dg.MetadataValue.text(report["summary"]), "private": dg.MetadataValue.bool(bool(report["private"]))}
    if report["private"]:
        meta.update({
            "privacy_epsilon": dg.MetadataValue.float(float(report["epsilon"])),
            "privacy_delta": dg.MetadataValue.float(float(report["delta"])),
            "privacy_unit": dg.MetadataValue.text(str(report["unit"])),
            "privacy_report": dg.MetadataValue.json(report),
        })
    return meta


def build_model_asset(arch: str, scope: Scope = PROJECT) -> dg.AssetsDefinition:
    @dg.asset(
        key=scope.key(f"model_{arch}"),
        group_name=scope.group(GROUP),
        deps=[scope.key("features")],
        kinds={"pytorch", "mlflow"},
        description=f"The {arch} forecaster trained on the feature windows, saved in models/{arch}/.",
    )
    def _model(context: dg.AssetExecutionContext, project: ProjectResource, mlflow: MlflowResource) -> dg.MaterializeResult:
        from dpforecast.stages.train import train_one

        paths, params = project.load(scope.dataset)
        units, batch, lr = params.hyper(arch)
        context.log.info(
            f"train {arch}: units={units} batch={batch} lr={lr} epochs<={params.train.epochs} device={params.train.device}"
        )
        with mlflow.tracking(paths, params) as (params, uri, experiment_id):
            result = train_one(paths, params, arch, lineage=lineage(paths, params), progress=False)
        test = result.test
        context.log.info(
            f"train {arch}: {result.epochs_run} epoch(s) in {result.train_seconds:.1f} s, "
            f"test mean RMSE {test['rmse']['mean']:.1f}, MAE {test['mae']['mean']:.1f}"
        )
        return dg.MaterializeResult(
            metadata={
                **privacy_metadata(result.privacy.to_json()),
                "test_errors": dg.MetadataValue.md(errors_table(test, params.data_set.zone_names)),
                "test_rmse_mean": dg.MetadataValue.float(test["rmse"]["mean"]),
                "test_mae_mean": dg.MetadataValue.float(test["mae"]["mean"]),
                "best_epoch": dg.MetadataValue.int(result.best_epoch),
                "epochs_run": dg.MetadataValue.int(result.epochs_run),
                "device": dg.MetadataValue.text(result.device),
                "mlflow_run_id": dg.MetadataValue.text(str(result.mlflow_run_id)),
                "mlflow_run": run_link(uri, experiment_id, result.mlflow_run_id),
                "path": dg.MetadataValue.path(str(paths.model_dir(arch))),
                # One DVC stage for the four: recorded once all of models/ is what it would build.
                **project.record("train", context.log, scope.dataset),
            }
        )

    return _model


def model_assets(scope: Scope) -> list[dg.AssetsDefinition]:
    return [build_model_asset(arch, scope) for arch in ARCHITECTURES]


defs = dg.Definitions(assets=model_assets(PROJECT))
