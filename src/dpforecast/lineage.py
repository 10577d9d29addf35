"""What a result was made from: the DVC hash of the input data and the git commit."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

import yaml


def file_md5(path: str | Path) -> str:
    digest = hashlib.md5()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def data_version(root: Path, raw_csv: Path) -> dict[str, str]:
    """The DVC hash of the data folder recorded in ``data.dvc`` (what ``dvc checkout``
    restores) and the md5 of the file actually read (what the run saw)."""
    out = {"data.file_md5": file_md5(raw_csv)}
    dvc_file = root / "data.dvc"
    if dvc_file.is_file():
        entry = (yaml.safe_load(dvc_file.read_text()) or {}).get("outs", [{}])[0]
        out["data.dvc_md5"] = str(entry.get("md5", ""))
    return out


def git_commit(root: Path) -> str:
    """HEAD's commit, with ``-dirty`` when tracked files differ from it."""
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=root, capture_output=True, text=True, check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return f"{sha}-dirty" if dirty else sha


def code_digest() -> str:
    """md5 over this package's Python sources (relative path and bytes of each, in order):
    what computed a result, whatever caches or checkout it ran from."""
    package = Path(__file__).resolve().parents[1]
    digest = hashlib.md5()
    for path in sorted(package.rglob("*.py")):
        digest.update(path.relative_to(package).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()
