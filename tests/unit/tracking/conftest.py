"""A throw-away MLflow store per test. MLflow's file backend stands in for the SQLite one: creating
an SQLite store runs its migrations (10 s and more on two busy cores), and what these tests check
(experiments, tags, params, metrics, run states) is the same on both."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import mlflow
import pytest


@pytest.fixture
def file_store(tmp_path, monkeypatch) -> Iterator[str]:
    """``MLFLOW_TRACKING_URI`` set to a file store under ``tmp_path`` (the user's choice, for
    :func:`dpforecast.tracking.mlflow_tracking.configure`); its URI."""
    uri = (Path(tmp_path) / "mlruns").as_uri()
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    yield uri
    while mlflow.active_run() is not None:
        mlflow.end_run()
    mlflow.set_tracking_uri(None)
