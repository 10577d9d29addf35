"""Throw-away DVC repositories for tests: a copy of this working tree with the TINY params.

Shared by ``test_dvc_pipeline.py`` and ``test_dagster_dvc_state.py``; the ``dvc`` and
``git`` commands run with the venv first on PATH and neither DPFORECAST_ROOT nor
MLFLOW_TRACKING_URI, so every stage tracks into the copy's own ``mlflow.db``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from dpforecast.config import deep_merge

from project_roots import REPO, TINY


def env() -> dict[str, str]:
    out = dict(os.environ)
    out["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{out['PATH']}"
    out.pop("DPFORECAST_ROOT", None)
    out.pop("MLFLOW_TRACKING_URI", None)
    return out


def run(cmd: list[str], cwd: Path) -> str:
    proc = subprocess.run(cmd, cwd=cwd, env=env(), capture_output=True, text=True)
    assert proc.returncode == 0, f"{' '.join(cmd)} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout + proc.stderr


def dvc(*args: str, cwd: Path) -> str:
    return run([str(Path(sys.executable).parent / "dvc"), *args], cwd)


def identify(repo: Path) -> None:
    """A committer identity for this repository alone (CI machines may have none)."""
    run(["git", "config", "user.email", "tests@dpforecast.invalid"], repo)
    run(["git", "config", "user.name", "dpforecast tests"], repo)


def copy_repo(dest: Path) -> Path:
    """The working tree's tracked and unignored files at ``dest`` (new; its parent also gets
    the DVC remote ``remote/``), as a new git repository with the data pulled and no
    ``dvc.lock``, metrics, plots or reports."""
    files = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.split("\0")
    for rel in filter(None, files):
        src = REPO / rel
        if src.is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / rel)
    for generated in ("dvc.lock", "metrics", "plots", "reports"):
        target = dest / generated
        shutil.rmtree(target) if target.is_dir() else target.unlink(missing_ok=True)
    params = yaml.safe_load((dest / "params.yaml").read_text())
    (dest / "params.yaml").write_text(yaml.safe_dump(deep_merge(params, TINY), sort_keys=False))
    run(["git", "init", "-q"], dest)
    identify(dest)
    run(["git", "add", "-A"], dest)
    run(["git", "commit", "-qm", "copy"], dest)
    dvc("remote", "add", "--local", "-d", "local", str(dest.parent / "remote"), cwd=dest)
    dvc("pull", "data.dvc", cwd=dest)
    return dest
