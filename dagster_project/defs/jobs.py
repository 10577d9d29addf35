"""``full_pipeline``: every unpartitioned asset and the blocking check, run one step at a time;
``privacy_variants``: one partition of ``model_variant``.

The default executor is in-process (serial) for this code location: the four model
assets write to one MLflow store, and the default one is SQLite, which answers
"database is locked" to concurrent writers; one process also imports torch and Great
Expectations once instead of once per step.
"""

import dagster as dg

VARIANTS = dg.AssetSelection.groups("variants")
# Runs that write the project root's outputs; the production profile lets one run at a time.
PIPELINE_TAGS = {"dpforecast/pipeline": "full"}

full_pipeline = dg.define_asset_job(
    "full_pipeline",
    selection=dg.AssetSelection.all() - VARIANTS,
    tags=PIPELINE_TAGS,
    description="ingest -> validate (blocking check) -> features -> 4 models -> evaluation",
)

privacy_variants = dg.define_asset_job(
    "privacy_variants",
    selection=VARIANTS,
    description="one partition of model_variant: an architecture under a privacy setting",
)

defs = dg.Definitions(jobs=[full_pipeline, privacy_variants], executor=dg.in_process_executor)
