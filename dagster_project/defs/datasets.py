"""The pipeline of every data set in ``datasets/`` other than params.yaml's: one asset group
per data set (``auckland``: ``auckland/raw_mobility`` ... ``auckland/registered_models``),
its blocking check and its privacy budget check, its ``<name>_full_pipeline`` job, sensor and schedule (see ``scope.py``
for where its files go and why DVC does not record them).

Why groups and not partitions: the project's graph keeps its keys, jobs and the
``Materialize all`` button as they were, each data set's lineage, checks and latest
materializations are its own in the catalog, and the production executors run any of the
jobs unchanged. Partitions would put every data set behind one key, so a Montreuil run
and an Auckland run would overwrite each other's files unless every path moved.
"""

from pathlib import Path

import dagster as dg
from dagster import get_dagster_logger

from dagster_project.defs.arrivals import (
    JOB,
    incoming_asset,
    incoming_sensor,
    retraining_schedule,
)
from dagster_project.defs.budget import budget_check
from dagster_project.defs.checks import validation_check
from dagster_project.defs.data import data_assets
from dagster_project.defs.evaluation import evaluation_asset
from dagster_project.defs.registry import registry_asset
from dagster_project.defs.resources import default_root
from dagster_project.defs.scope import Scope, other_datasets
from dagster_project.defs.training import model_assets
from dpforecast.errors import ConfigError


def dataset_definitions(scope: Scope) -> dg.Definitions:
    assets = [incoming_asset(scope), *data_assets(scope), *model_assets(scope), evaluation_asset(scope),
              registry_asset(scope)]
    job = dg.define_asset_job(scope.name(JOB), selection=dg.AssetSelection.groups(scope.group("data")),
                              tags={"dpforecast/dataset": scope.dataset or ""},
                              description=f"the whole pipeline on the {scope.dataset} data set")
    return dg.Definitions(assets=assets, asset_checks=[validation_check(scope), budget_check(scope)], jobs=[job],
                          sensors=[incoming_sensor(scope)], schedules=[retraining_schedule(scope)])


def _loadable(names: list[str]) -> list[dg.Definitions]:
    """A graph per data set whose spec loads; a bad spec is logged and left out, so it
    cannot take the project's graph down with it (its DVC stages refuse it by name)."""
    out = []
    for name in names:
        try:
            out.append(dataset_definitions(Scope(name)))
        except ConfigError as exc:
            get_dagster_logger().error(f"data set {name!r} left out of the code location: {exc}")
    return out


defs = dg.Definitions.merge(dg.Definitions(), *_loadable(other_datasets(Path(default_root()))))
