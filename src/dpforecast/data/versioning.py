"""Record the raw data's new version with DVC, and restore the version a model saw.

After new deliveries are accepted, ``dvc add data`` hashes the data folder into
``data.dvc`` and its cache: every run after that carries the new hash (``data.dvc_md5``)
and logs ``data.dvc`` itself with the model, so ``dpforecast restore-data`` can put any
model's data back with ``dvc checkout`` even when the workspace's git history does not
hold that ``data.dvc``.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from dpforecast.runtime.io import write_text

DVC_FILE = "data.dvc"


def dvc_executable() -> str:
    beside = Path(sys.executable).with_name("dvc")
    return str(beside) if beside.is_file() else (shutil.which("dvc") or "dvc")


def is_dvc_repo(root: Path) -> bool:
    return (root / ".dvc").is_dir()


def dvc_md5(root: Path) -> str | None:
    path = root / DVC_FILE
    if not path.is_file():
        return None
    return str((yaml.safe_load(path.read_text()) or {}).get("outs", [{}])[0].get("md5", "")) or None


def run_dvc(root: Path, *args: str, timeout: float | None = None) -> str:
    """``dvc ARGS`` in ``root`` (the venv's dvc); raises with DVC's output on failure
    (``subprocess.TimeoutExpired`` after ``timeout`` seconds)."""
    done = subprocess.run([dvc_executable(), *args], cwd=root, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise RuntimeError(f"dvc {' '.join(args)} failed in {root}:\n{done.stdout}{done.stderr}")
    return done.stdout


def commit_data(root: Path) -> str:
    """``dvc add`` the tracked data folder; return the new version's hash."""
    if not is_dvc_repo(root):
        raise RuntimeError(f"{root} is not a DVC repository (no .dvc/): the new data cannot be versioned")
    out = (yaml.safe_load((root / DVC_FILE).read_text()) or {})["outs"][0]["path"]
    run_dvc(root, "add", out)
    md5 = dvc_md5(root)
    assert md5 is not None
    return md5


def restore_data(root: Path, dvc_file_text: str) -> str:
    """Write a model's ``data.dvc`` into ``root`` and ``dvc checkout`` it; return its hash."""
    if not is_dvc_repo(root):
        raise RuntimeError(f"{root} is not a DVC repository (no .dvc/)")
    write_text(root / DVC_FILE, dvc_file_text)
    run_dvc(root, "checkout", "--force", DVC_FILE)
    md5 = dvc_md5(root)
    assert md5 is not None
    return md5


def dvc_file_versions(root: Path) -> list[str]:
    """Every version of ``data.dvc`` in the repository's git history, newest first."""
    log = subprocess.run(["git", "log", "--format=%H", "--", DVC_FILE], cwd=root, capture_output=True, text=True)
    texts = []
    for sha in log.stdout.split():
        shown = subprocess.run(["git", "show", f"{sha}:{DVC_FILE}"], cwd=root, capture_output=True, text=True)
        if shown.returncode == 0:
            texts.append(shown.stdout)
    return texts
