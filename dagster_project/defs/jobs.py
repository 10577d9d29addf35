"""``full_pipeline``: every asset and the blocking check, run one step at a time.

The default executor is in-process (serial) for this code location: the four model
assets write to one MLflow store, and the default one is SQLite, which answers
"database is locked" to concurrent writers; one process also imports torch and Great
Expectations once instead of once per step.
"""

import dagster as dg

full_pipeline = dg.define_asset_job(
    "full_pipeline",
    selection=dg.AssetSelection.all(),
    description="ingest -> validate (blocking check) -> features -> 4 models -> evaluation",
)

defs = dg.Definitions(jobs=[full_pipeline], executor=dg.in_process_executor)
