"""``full_pipeline``: the project's data set's assets and its blocking check, run one step at
a time; ``privacy_variants``: one partition of ``model_variant``. (Each other data set's
graph has its own ``<name>_full_pipeline``, in ``datasets.py``.)

The default executor is in-process (serial) for this code location: the four model
assets write to one MLflow store, and the default one is SQLite, which answers
"database is locked" to concurrent writers; one process also imports torch and Great
Expectations once instead of once per step.
"""

from pathlib import Path

import dagster as dg

from dagster_project.defs.resources import default_root
from dagster_project.defs.scope import STUDY_GROUPS, other_datasets

VARIANTS = dg.AssetSelection.groups("variants")
# ``backtest`` (its own ``backtest_job``, in backtest.py): the main job must not train per fold.
STUDIES = dg.AssetSelection.groups(*STUDY_GROUPS)
OTHER_DATASETS = dg.AssetSelection.groups(*other_datasets(Path(default_root())))
# Runs that write the project root's outputs; the production profile lets one run at a time.
PIPELINE_TAGS = {"dpforecast/pipeline": "full"}

full_pipeline = dg.define_asset_job(
    "full_pipeline",
    selection=dg.AssetSelection.all() - VARIANTS - STUDIES - OTHER_DATASETS,
    tags=PIPELINE_TAGS,
    description="ingest -> validate (blocking check) -> features -> 4 models -> evaluation",
)

privacy_variants = dg.define_asset_job(
    "privacy_variants",
    selection=VARIANTS,
    description="one partition of model_variant: an architecture under a privacy setting",
)

defs = dg.Definitions(jobs=[full_pipeline, privacy_variants], executor=dg.in_process_executor)
