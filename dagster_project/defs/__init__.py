"""Definitions found by ``dg.load_from_defs_folder``: one small module per concern.

- ``scope.py``: which data set a graph of assets serves (params.yaml's, or another spec's).
- ``resources.py``: the project root and parameters, and MLflow tracking.
- ``arrivals.py``: ``incoming_data``, its sensor and the ``daily_retraining`` schedule.
- ``data.py``: ``raw_mobility``, ``validated_series``, ``features`` (group ``data``).
- ``checks.py``: the blocking data-validation check on ``raw_mobility``.
- ``budget.py``: the privacy ledger's check on ``features`` (WARN when the next retraining would
  exceed the budget) and the estimate the sensor and the schedule make before a retraining.
- ``training.py``: one ``model_<arch>`` asset per architecture (group ``training``).
- ``registry.py``: ``registered_models`` (MLflow registry, champion decision).
- ``evaluation.py``: ``evaluation`` over the four models (group ``evaluation``).
- ``variants.py``: ``model_variant``, partitioned over architecture x privacy setting (group ``variants``).
- ``backtest.py``: ``backtest`` and its own ``backtest_job``: rolling-origin folds before the test
  period (group ``backtest``, not in ``full_pipeline``).
- ``production.py``: ``full_pipeline_parallel`` and ``full_pipeline_celery`` (the ``infra/`` profile).
- ``jobs.py``: ``full_pipeline``, ``privacy_variants`` and the default (serial) executor.
- ``datasets.py``: the same graph, job, sensor and schedule for every other data set in ``datasets/``.

Each module builds its assets for a :class:`~dagster_project.defs.scope.Scope` and binds the
project's at module level (``defs = dg.Definitions(...)``).

Modules refer to each other's assets by key (strings), never by importing the asset
objects: an imported asset would be found again in the importing module.
"""
