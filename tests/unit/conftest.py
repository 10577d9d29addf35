"""Fixtures shared across packages: a throw-away MLflow store, and a synthetic workspace built up to the features.

MLflow's file backend stands in for the SQLite one: creating an SQLite store runs its migrations
(10 s and more on two busy cores), and what these tests check (experiments, tags, params,
metrics, run states, registered versions and aliases) is the same on both."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import mlflow
import pytest

from dpforecast.config import Params, load_params
from dpforecast.runtime.paths import Paths
from dpforecast.stages.workspace import build_workspace

from synthetic_project import make_synthetic_root


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


@dataclass(frozen=True)
class Workspace:
    """A synthetic project and the workspace its features were built in (read it, never write
    to it: a test writes its model folders, decisions log and MLflow store under its own tmp_path)."""

    root: Path
    params: Params
    paths: Paths
    windows: dict[str, int]


@pytest.fixture(scope="session")
def town_workspace(tmp_path_factory) -> Workspace:
    """Three disjoint hourly zones over three weeks (7 test and 7 validation days), ``train.model: gru``,
    built up to the features once per session: what the train stage, register and scoring read."""
    with pytest.MonkeyPatch.context() as mp:  # session fixtures run before the per-test private state
        mp.setenv("DPFORECAST_HOME", str(tmp_path_factory.mktemp("dpforecast-home")))
        for name in ("DPFORECAST_LEDGER", "DPFORECAST_PRIVACY_KEY", "DPFORECAST_PRIVACY_KEY_FILE"):
            mp.delenv(name, raising=False)
        root = make_synthetic_root(tmp_path_factory.mktemp("town"), {"train": {"model": "gru"}}, zones=3)
        params = load_params(root / "params.yaml")
        paths = Paths(tmp_path_factory.mktemp("workspace"), tracking_root=root)
        windows = build_workspace(root, params, paths)
    return Workspace(root, params, paths, windows)
