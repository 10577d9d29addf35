"""The repository tracks sources, not state: nothing git ignores is tracked, and the
committed ``dvc.lock`` describes this commit's code whatever caches a machine has.

Importing the package writes ``__pycache__`` under the stages' code dependencies; the
``.dvcignore`` keeps those out of DVC's hashes, so the lock is the same on every machine
and running the tests does not make ``dvc repro`` retrain.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
CODE = ("src/", "pipelines/", "profiles", "datasets/")


def _git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True, check=True).stdout


@pytest.fixture(scope="module", autouse=True)
def _in_git():
    if subprocess.run(["git", "rev-parse"], cwd=REPO, capture_output=True).returncode != 0:
        pytest.skip("not a git checkout")


def test_nothing_git_ignores_is_tracked():
    tracked_but_ignored = _git("ls-files", "--cached", "--ignored", "--exclude-standard").split()
    assert tracked_but_ignored == [], f"generated files tracked by git (git rm --cached them): {tracked_but_ignored}"


def test_dvc_lock_describes_this_commits_code():
    # Make sure the caches exist, as after any test run or `dagster dev`.
    writes_caches = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    subprocess.run([sys.executable, "-c", "import dpforecast.cli, dpforecast.stages.train, dpforecast.stages.evaluate"],
                   cwd=REPO, env=writes_caches, check=True)
    assert any(REPO.glob("src/dpforecast/**/__pycache__"))
    dvc = Path(sys.executable).with_name("dvc")
    status = json.loads(subprocess.run([str(dvc), "status", "--json"], cwd=REPO, capture_output=True, text=True,
                                       check=True).stdout or "{}")
    stale = sorted({(stage, path) for stage, changes in status.items() for change in changes if isinstance(change, dict)
                    for path, what in change.get("changed deps", {}).items() if path.startswith(CODE)})
    assert stale == [], (f"dvc.lock does not match the code of this tree for {stale}: run `dvc repro` "
                         f"and commit dvc.lock with the code change")
