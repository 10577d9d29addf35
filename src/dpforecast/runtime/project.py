"""The project a stage runs in: its root folder, its parameters and its lineage."""

from __future__ import annotations

import os
from pathlib import Path

from dpforecast.config import Params, load_params
from dpforecast.lineage import data_version, git_commit
from dpforecast.runtime.paths import Paths


def project_root() -> Path:
    """``DPFORECAST_ROOT`` if set, else the current folder (where ``dvc`` runs stages)."""
    return Path(os.environ.get("DPFORECAST_ROOT", ".")).resolve()


def state_root(root: Path) -> Path | None:
    """Where MLflow's embedded store lives, when not in ``root``.

    ``dvc exp run --queue`` runs each experiment in a temporary copy of the workspace and
    sets ``DVC_ROOT`` to the workspace it came from: its runs must be tracked in that
    workspace's store, or its tracking would vanish with the copy. (The privacy ledger is
    the data set's, outside every workspace: :func:`dpforecast.privacy.ledger.ledger_location`.)
    """
    dvc_root = os.environ.get("DVC_ROOT")
    if dvc_root and Path(dvc_root).resolve() != root.resolve():
        return Path(dvc_root).resolve()
    return None


def load_project(root: Path | None = None) -> tuple[Paths, Params]:
    root = root or project_root()
    return Paths(root, tracking_root=state_root(root)), load_params(root / "params.yaml")


def lineage(paths: Paths, params: Params) -> dict[str, str]:
    """Tags every tracked run carries: data version, git commit, parameter profile."""
    return {
        **data_version(paths.sources, paths.sources / params.data_set.raw),
        "dataset": params.dataset,
        "git_commit": git_commit(paths.root),
        "profile": params.profile,
    }
