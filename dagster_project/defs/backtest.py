"""``backtest``: rolling-origin folds before the test period, and the model they select.

Calls :func:`dpforecast.experiments.backtest.backtest` (what ``dpforecast backtest`` runs), in memory
on the ``validated_series`` asset's series; writes ``metrics/backtest.json`` and
``reports/backtest.md``. It trains every selected model once per fold, so it has its own
job, ``backtest_job``, and is outside ``full_pipeline`` (group ``backtest``, see ``jobs.py``).
"""

import dagster as dg

from dagster_project.defs.resources import ProjectResource

GROUP = "backtest"


class BacktestConfig(dg.Config):
    folds: int = 3
    step_days: int = 7
    refit: bool = True
    models: list[str] = []  # empty: params.yaml's train.model


@dg.asset(group_name=GROUP, deps=["validated_series"], kinds={"pytorch"})
def backtest(context: dg.AssetExecutionContext, config: BacktestConfig,
             project: ProjectResource) -> dg.MaterializeResult:
    """Per-fold and mean RMSE, MAE, skill, MASE and coverage of the models and baselines on
    folds before the test period; the model with the lowest mean fold RMSE (none under DP-SGD)."""
    from dpforecast.experiments.backtest import backtest as run_backtest
    from dpforecast.experiments.backtest import backtest_table

    paths, _ = project.load()
    root = paths.root
    result = run_backtest(root, config.folds, config.step_days, config.refit, tuple(config.models) or None,
                          series=project.validated_series(paths))
    table = backtest_table(result)
    context.log.info(f"backtest:\n{table}\nselected: {result['selected']} ({result['selection_note']})")
    return dg.MaterializeResult(metadata={
        "folds": dg.MetadataValue.md(table),
        "selected": dg.MetadataValue.text(str(result["selected"])),
        "selection_note": dg.MetadataValue.text(result["selection_note"]),
        "privacy": dg.MetadataValue.text(result["privacy"]["scores"]),
        "trainings": dg.MetadataValue.int(result["trainings"]),
        "seconds": dg.MetadataValue.float(result["seconds"]),
        "report": dg.MetadataValue.path(str(root / "reports" / "backtest.md")),
        "metrics": dg.MetadataValue.path(str(root / "metrics" / "backtest.json")),
    })


backtest_job = dg.define_asset_job(
    "backtest_job", selection=dg.AssetSelection.groups(GROUP),
    description="rolling-origin folds before the test period: per-fold scores and the selected model",
)

defs = dg.Definitions(assets=[backtest], jobs=[backtest_job])
