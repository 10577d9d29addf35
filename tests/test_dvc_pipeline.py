"""DVC end to end on a copy of this working tree (slow: runs the real ``dvc`` commands).

A fresh repository gets the data from the shipped remote, ``dvc repro`` builds every
stage, a second ``dvc repro`` does nothing, ``dvc exp run -S train.model=bilstm`` works,
and another clone restores the trained artifacts with ``dvc pull`` instead of retraining.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from project_roots import REPO, TINY

from dpforecast.config import deep_merge

pytestmark = pytest.mark.slow


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    env.pop("DPFORECAST_ROOT", None)
    env.pop("MLFLOW_TRACKING_URI", None)
    return env


def run(cmd: list[str], cwd: Path) -> str:
    proc = subprocess.run(cmd, cwd=cwd, env=_env(), capture_output=True, text=True)
    assert proc.returncode == 0, f"{' '.join(cmd)} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout + proc.stderr


def dvc(*args: str, cwd: Path) -> str:
    return run([str(Path(sys.executable).parent / "dvc"), *args], cwd)


def _identify(repo: Path) -> None:
    """A committer identity for this repository alone (CI machines may have none)."""
    run(["git", "config", "user.email", "tests@dpforecast.invalid"], repo)
    run(["git", "config", "user.name", "dpforecast tests"], repo)


@pytest.fixture(scope="module")
def repo(tmp_path_factory) -> Path:
    """The working tree's tracked and unignored files, as a new git repository."""
    dest = tmp_path_factory.mktemp("dvc") / "repo"
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
    _identify(dest)
    run(["git", "add", "-A"], dest)
    run(["git", "commit", "-qm", "copy"], dest)
    dvc("remote", "add", "--local", "-d", "local", str(dest.parent / "remote"), cwd=dest)
    dvc("pull", "data.dvc", cwd=dest)
    return dest


def test_repro_builds_everything_then_has_nothing_to_do(repo):
    out = dvc("repro", cwd=repo)
    for stage in ("ingest", "validate", "features", "train", "evaluate"):
        assert f"Running stage '{stage}'" in out
    metrics = json.loads((repo / "metrics" / "evaluate.json").read_text())
    assert set(metrics) == {"persistence", "lstm", "gru", "bilstm", "bigru"}
    assert metrics["persistence"]["rmse"] == pytest.approx(1503.6, abs=0.1)
    again = dvc("repro", cwd=repo)
    assert "Running stage" not in again
    assert "up to date" in dvc("status", cwd=repo)
    shown = dvc("metrics", "show", "--json", cwd=repo)
    assert "bigru" in shown


def test_artifacts_come_back_with_dvc_pull_on_another_clone(repo):
    dvc("push", cwd=repo)
    run(["git", "add", "-A"], repo)
    run(["git", "commit", "-qm", "results"], repo)
    clone = repo.parent / "clone"
    run(["git", "clone", "-q", str(repo), str(clone)], repo.parent)
    _identify(clone)
    dvc("remote", "add", "--local", "-d", "local", str(repo.parent / "remote"), cwd=clone)
    dvc("pull", cwd=clone)
    assert (clone / "models" / "bigru" / "model.pt").read_bytes() == (repo / "models" / "bigru" / "model.pt").read_bytes()
    assert "Running stage" not in dvc("repro", cwd=clone)


def test_exp_run_trains_the_chosen_model(repo):
    out = dvc("exp", "run", "-S", "train.model=bilstm", cwd=repo)
    assert "Running stage 'train'" in out
    metrics = json.loads((repo / "metrics" / "evaluate.json").read_text())
    assert set(metrics) == {"persistence", "bilstm"}
    assert yaml.safe_load((repo / "params.yaml").read_text())["train"]["model"] == "bilstm"


def test_queued_privacy_grid_charges_and_tracks_in_the_workspace(repo):
    """``dvc exp run --queue`` over two IP epsilons, run by DVC's queue workers in temporary
    copies: each experiment reports its epsilon as a metric, and both are charged to the
    workspace's privacy ledger and tracked in its MLflow store (DVC_ROOT)."""
    for eps in ("0.5", "2"):
        dvc("exp", "run", "--queue", "--name", f"ip-{eps}", "-S", "train.model=gru",
            "-S", "privacy.mode=ip", "-S", f"privacy.epsilon={eps}", cwd=repo)
    dvc("exp", "run", "--run-all", "--jobs", "1", cwd=repo)
    listing = subprocess.run([str(Path(sys.executable).parent / "dvc"), "exp", "show", "--json"],
                             cwd=repo, env=_env(), capture_output=True, text=True, check=True)
    shown = json.loads(listing.stdout)
    epsilons = set()
    for baseline in shown:
        for exp in baseline.get("experiments") or []:
            for rev in exp["revs"]:
                if not str(rev.get("name") or exp.get("name") or "").startswith("ip-"):
                    continue  # the module's other experiments
                metrics = rev["data"]["metrics"]["metrics/privacy.json"]["data"]
                epsilons.add(metrics["gru"]["epsilon"])
                assert metrics["gru"]["unit"].startswith("one person's presence in one zone")
    assert {0.5, 2.0} <= epsilons
    ledger = json.loads((repo / "privacy_ledger.json").read_text())
    assert sorted(e["epsilon"] for e in ledger["entries"] if e["mode"] == "ip") == [0.5, 2.0]

    import mlflow

    client = mlflow.MlflowClient(f"sqlite:///{repo / 'mlflow.db'}")
    runs = client.search_runs([e.experiment_id for e in client.search_experiments()],
                              filter_string="tags.privacy = 'ip'")
    assert sorted(r.data.params["privacy.epsilon"] for r in runs) == ["0.5", "2.0"]
