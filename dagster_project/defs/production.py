"""Jobs of the production profile (``infra/``): ``full_pipeline``'s assets with steps in parallel.

- ``full_pipeline_parallel``: one machine, every step in its own process (multiprocess
  executor); the profile's single-machine job.
- ``full_pipeline_celery``: every step a Celery task, run by whichever ``dagster-celery``
  worker takes it; the four model assets train on up to four workers at once. Broker and
  result backend come from ``DAGSTER_CELERY_BROKER_URL`` and ``DAGSTER_CELERY_BACKEND_URL``
  (read when a run starts, and by each worker as it rebuilds the job).

Why named jobs rather than one ``full_pipeline`` whose executor follows an environment
variable: a Celery worker rebuilds the job by name from this code location and checks the
run's config against that job's executor, so a job whose executor depended on the
environment would break on any process started with another one. Here every process
(webserver, daemon, run worker, Celery worker) sees the same jobs, and the choice is made
at launch. ``full_pipeline`` keeps the in-process executor, for the embedded SQLite
stores; these two need the profile's MLflow server, since four concurrent writers make
SQLite answer "database is locked".

The executor settings are fixed here (``configured``), not left to run config, so that a
run launched with no config, from the UI or a schedule, is set up the same way.

Both jobs carry :data:`PIPELINE_TAGS`; ``infra/dagster.yaml`` lets one such run go at a time,
because every run writes the same project root (``artifacts/``, ``models/``, ``metrics/``).
"""

import dagster as dg
from dagster_celery import celery_executor

from dagster_project.defs import jobs

PIPELINE_TAGS = jobs.PIPELINE_TAGS

# The same selection as full_pipeline, read through its module: as defs/__init__.py says, a
# definition object imported into another module of the folder would be found there again.
_SELECTION = jobs.full_pipeline.selection

full_pipeline_parallel = dg.define_asset_job(
    "full_pipeline_parallel",
    selection=_SELECTION,
    executor_def=dg.multiprocess_executor,
    tags=PIPELINE_TAGS,
    description="full_pipeline with each step in its own process; needs the production MLflow server.",
)

full_pipeline_celery = dg.define_asset_job(
    "full_pipeline_celery",
    selection=_SELECTION,
    executor_def=celery_executor.configured(
        {
            "broker": {"env": "DAGSTER_CELERY_BROKER_URL"},
            "backend": {"env": "DAGSTER_CELERY_BACKEND_URL"},
        },
        name="celery",
    ),
    tags=PIPELINE_TAGS,
    description="full_pipeline with each step a Celery task (dagster-celery workers); needs the production MLflow server.",
)
