"""``model_variant``: every architecture under every offered privacy setting, as partitions.

The main assets follow ``params.yaml`` (one privacy mode, like ``dvc repro``). The variants
are a second, partitioned asset over ``model`` x ``privacy`` (:data:`dpforecast.experiments.variants.SETTINGS`)
so any combination is materialized from the UI (or a backfill) without editing parameters.
Each partition trains through :func:`dpforecast.experiments.variants.train_variant`, in memory on
the ``validated_series`` asset's series (its input), writes its model folder to
``artifacts/study/variant-<privacy>-<model>/``, charges the privacy ledger as any private
run does, is registered as a version of ``<prefix>-<model>[-ip|-gp]`` (the promotion rule
decides its alias), and shows its epsilon with its unit and delta in the metadata.
"""

import dagster as dg

from dagster_project.defs.resources import MlflowResource, ProjectResource, run_link
from dagster_project.defs.training import errors_table, privacy_metadata
from dpforecast.config import ARCHITECTURES
from dpforecast.experiments.variants import SETTINGS

VARIANTS = dg.MultiPartitionsDefinition({
    "model": dg.StaticPartitionsDefinition(list(ARCHITECTURES)),
    "privacy": dg.StaticPartitionsDefinition(list(SETTINGS)),
})


@dg.asset(group_name="variants", partitions_def=VARIANTS, deps=["validated_series"], kinds={"pytorch", "mlflow"})
def model_variant(context: dg.AssetExecutionContext, project: ProjectResource, mlflow: MlflowResource) -> dg.MaterializeResult:
    """One architecture trained under one privacy setting (non-private, input perturbation or
    DP-SGD at a given epsilon), with its privacy report and test errors."""
    from dpforecast.experiments.variants import PrivacySetting, train_variant
    from dpforecast.runtime.io import read_json

    keys = context.partition_key.keys_by_dimension
    model, setting = keys["model"], PrivacySetting.parse(keys["privacy"])
    paths, params = project.load()
    series = project.validated_series(paths)  # the asset it depends on: never validated or ingested again here
    context.log.info(f"variant {model} / {setting.key}: profile {params.profile}, seed {params.train.seed}")
    with mlflow.tracking(paths, params) as (params, uri, experiment_id):
        row = train_variant(paths.root, model, setting, seed=params.train.seed, profile=params.profile,
                            extra={"tracking": {"experiment": params.tracking.experiment}}, register=True,
                            series=series)
    test = read_json(f"{row['model_dir']}/metrics.json")
    context.log.info(f"variant {model} / {setting.key}: mean RMSE {row['rmse']:.1f}; {row['guarantee']}")
    return dg.MaterializeResult(
        metadata={
            **privacy_metadata(row["report"]),
            "test_errors": dg.MetadataValue.md(errors_table(test, params.data_set.zone_names)),
            "test_rmse_mean": dg.MetadataValue.float(row["rmse"]),
            "test_mae_mean": dg.MetadataValue.float(row["mae"]),
            "mlflow_run_id": dg.MetadataValue.text(str(row["mlflow_run_id"])),
            "mlflow_run": run_link(uri, experiment_id, row["mlflow_run_id"]),
            "path": dg.MetadataValue.path(row["model_dir"]),
            "registry": dg.MetadataValue.text(
                f"v{row['decision']['challenger']['version']}: "
                f"{'champion' if row['decision']['promote'] else 'challenger'} ({row['decision']['reason']})"),
        }
    )
