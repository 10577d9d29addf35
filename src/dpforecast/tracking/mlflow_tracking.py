"""MLflow on the embedded defaults: an SQLite backend and a local artifact folder.

``MLFLOW_TRACKING_URI`` overrides the backend (the production profile points it at a
PostgreSQL-backed server); otherwise ``mlflow.db`` and ``mlartifacts/`` sit at the
project root, both git-ignored and never DVC outputs. Runs are started by
:func:`start_run`, and :func:`configure` closes those a killed process left RUNNING.
"""

from __future__ import annotations

import os
from pathlib import Path

import mlflow
import pandas as pd
from mlflow.exceptions import MlflowException
from mlflow.models import ModelSignature
from mlflow.types import ColSpec, Schema

from dpforecast.data.schema import TIMESTAMP
from dpforecast.runtime.paths import Paths
from dpforecast.serving.window import (
    DURATION,
    LEAD,
    ORIGIN_TIME,
    SERVED_COLUMNS,
    TARGET_TIME,
    ZONE,
)
from dpforecast.tracking.run_owner import close_orphaned_runs, owner_tags

# Embedded stores this process pointed MLflow at. ``mlflow.set_tracking_uri`` also writes
# MLFLOW_TRACKING_URI into the environment, so a value found there is the user's choice
# only if it is not one of ours.
_EMBEDDED: set[str] = set()


def configure(paths: Paths, experiment: str) -> str:
    """Point MLflow at the project's store and select ``experiment``; return its id."""
    env = os.environ.get("MLFLOW_TRACKING_URI")
    if env and env not in _EMBEDDED:
        uri = env
    else:
        uri = f"sqlite:///{paths.mlflow_db.resolve()}"
        _EMBEDDED.add(uri)
    mlflow.set_tracking_uri(uri)
    found = mlflow.get_experiment_by_name(experiment)
    if found is None:
        location = None
        if uri.startswith("sqlite:"):
            location = paths.mlflow_artifacts.resolve().as_uri()
        try:
            exp_id = mlflow.create_experiment(experiment, artifact_location=location)
        except MlflowException as exc:
            # A training step running beside this one (production profile) created it since we looked.
            if exc.error_code != "RESOURCE_ALREADY_EXISTS":
                raise
            exp_id = mlflow.get_experiment_by_name(experiment).experiment_id
    else:
        exp_id = found.experiment_id
    mlflow.set_experiment(experiment_id=exp_id)
    close_orphaned_runs(mlflow.MlflowClient())
    return exp_id


def start_run(run_name: str) -> mlflow.ActiveRun:
    """``mlflow.start_run`` with the owner tags that let a later stage close it if this
    process dies before ending it (:mod:`dpforecast.tracking.run_owner`)."""
    return mlflow.start_run(run_name=run_name, tags=owner_tags())


def signature(zones: list[str]) -> ModelSignature:
    """Recent counts in, one row per window, lead and zone out (see
    :mod:`dpforecast.tracking.pyfunc_model`): times and zone as strings, the forecast and
    its bounds as doubles."""
    kinds = {ORIGIN_TIME: "string", TARGET_TIME: "string", DURATION: "long", LEAD: "long", ZONE: "string"}
    return ModelSignature(
        inputs=Schema([ColSpec("string", TIMESTAMP), *(ColSpec("long", z) for z in zones)]),
        outputs=Schema([ColSpec(kinds.get(c, "double"), c) for c in SERVED_COLUMNS]),
    )


def log_forecaster(model_dir: Path, example: pd.DataFrame) -> str:
    """Log a saved model folder as the active run's ``model``; return its URI.

    ``example``: a few rows of recent counts in the served format (the input example)."""
    import dpforecast

    package = Path(dpforecast.__file__).parent
    info = mlflow.pyfunc.log_model(
        name="model",
        python_model=str(Path(__file__).with_name("pyfunc_model.py")),
        artifacts={"forecaster": str(model_dir)},
        code_paths=[str(package)],
        signature=signature([c for c in example.columns if c != TIMESTAMP]),
        input_example=example,
        pip_requirements=["torch==2.13.0", "numpy", "pandas", "polars", "pyyaml"],
    )
    return info.model_uri
