"""The pipeline killed with SIGKILL at its dangerous points, then run again (slow).

One throw-away DVC repository (the working tree's files, tiny parameters, one GRU) is
reproduced with ``DPFORECAST_CRASH_AT`` naming one crash point at a time
(:mod:`dpforecast.runtime.faults`): the stage's process sends itself SIGKILL there, as a power
loss would stop it. After each kill the test checks what the kill left, reruns
``dvc repro`` with no crash point, and checks the state again:

======================  =============================================================
kill point              where
======================  =============================================================
``train:none``          after the first epoch of a non-private training
``train:gp``            after the first epoch of a DP-SGD training
``release:charged``     an input-perturbation release charged, its mechanism not yet run
``release:written``     the release written, not yet in place
``register:version``    a registry version created, no alias or decision yet
``register:logged``     the decision logged, its aliases and tags not yet written
======================  =============================================================

Checked each time: no MLflow run left RUNNING once a stage has started again (the killed
one is closed as KILLED, with its reason); the killed stage's outputs are not taken as
complete (DVC runs it again); every ledger key charged once, a private run charged before
it touched data and (with the owner's key, which makes a repeated DP-SGD run the same
computation) not again when repeated; a release killed after its charge keeps it, and its
rerun is a new release, charged as such; each registry version decided once, every alias on
a version whose model loads, every version's decision recorded in full.

The ledger is the data set's, outside the repository (``$DPFORECAST_HOME``, set per test
by conftest and inherited by the ``dvc`` processes).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from dvc_repo import copy_repo, dvc, env

pytestmark = pytest.mark.slow


@pytest.fixture
def repo(tmp_path) -> Path:
    return copy_repo(tmp_path / "repo")


def _repro_killed_at(point: str, cwd: Path) -> str:
    env_ = {**env(), "DPFORECAST_CRASH_AT": point}
    proc = subprocess.run([str(Path(sys.executable).parent / "dvc"), "repro"], cwd=cwd, env=env_,
                          capture_output=True, text=True)
    out = proc.stdout + proc.stderr
    # DVC reports a SIGKILLed command as -9, or as 137 when a shell stood between them.
    killed = re.search(r"exited with (-9|137)\b", out)
    assert proc.returncode != 0 and killed, f"dvc repro was not killed at {point}:\n{out}"
    return out


def _set_params(root: Path, **sections: dict) -> None:
    path = root / "params.yaml"
    params = yaml.safe_load(path.read_text())
    for section, values in sections.items():
        params.setdefault(section, {}).update(values)
    path.write_text(yaml.safe_dump(params, sort_keys=False))


def _client(root: Path):
    import mlflow

    return mlflow.MlflowClient(f"sqlite:///{root / 'mlflow.db'}")


def _runs(root: Path, status: str) -> list:
    client = _client(root)
    return client.search_runs([e.experiment_id for e in client.search_experiments()],
                              filter_string=f"attributes.status = '{status}'")


def _ledger(root: Path) -> list:
    """Every charge of the data set's ledger (``Charge``: ``key``, ``mode``, ...)."""
    from dpforecast.config import load_params
    from dpforecast.privacy.budget import open_ledger

    return open_ledger(load_params(root / "params.yaml")).charges()


def _check_consistent(root: Path) -> None:
    """What must hold after every complete rerun."""
    import mlflow

    assert _runs(root, "RUNNING") == []
    for killed in _runs(root, "KILLED"):
        assert "no longer exists" in killed.data.tags["dpforecast.closed"]
    keys = [c.key for c in _ledger(root)]
    assert len(keys) == len(set(keys))
    client = _client(root)
    log = [json.loads(line) for line in (root / "promotions.jsonl").read_text().splitlines()]
    decided = [(e["registered_model"], e["version"]) for e in log]
    assert len(decided) == len(set(decided)), "a version was decided twice"
    for model in client.search_registered_models():
        versions = client.search_model_versions(f"name='{model.name}'")
        assert sorted((model.name, str(v.version)) for v in versions) == sorted(d for d in decided if d[0] == model.name)
        for v in versions:
            assert v.tags["promotion.recorded"] == "true" and "promotion.decision" in v.tags
        for version in model.aliases.values():
            mlflow.set_tracking_uri(f"sqlite:///{root / 'mlflow.db'}")
            mlflow.models.get_model_info(f"models:/{model.name}/{version}")  # fully logged
    promotion = json.loads((root / "metrics" / "promotion.json").read_text())
    assert all(d["version"] for d in promotion.values())
    assert "changed" not in dvc("status", cwd=root)


def test_killed_at_every_point_then_rerun_loses_nothing_and_charges_once(repo, monkeypatch):
    root = repo
    # GP then IP at epsilon 1 per event compose to more than the default day budget: tracked,
    # not limited. The owner's key makes a repeated DP-SGD run the same run (one charge).
    _set_params(root, train={"model": "gru"}, privacy={"budget": {"event": None, "day": None}})
    monkeypatch.setenv("DPFORECAST_PRIVACY_KEY", "3c" * 32)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)

    # 1. Non-private training killed after its first epoch.
    _repro_killed_at("train:none", root)
    assert [r.data.tags["model"] for r in _runs(root, "RUNNING")] == ["gru"]
    assert not (root / "models" / "gru" / "description.json").exists()
    assert "train" in dvc("status", cwd=root)
    dvc("repro", cwd=root)
    assert len(_runs(root, "KILLED")) == 1
    _check_consistent(root)

    # 2. DP-SGD training killed after its first epoch: charged before it read a window.
    _set_params(root, privacy={"mode": "gp"}, features={"scaling": "log"})
    _repro_killed_at("train:gp", root)
    gp = [c for c in _ledger(root) if c.mode == "gp"]
    assert len(gp) == 1
    dvc("repro", cwd=root)
    assert [c.key for c in _ledger(root) if c.mode == "gp"] == [gp[0].key]  # not charged again
    assert len(_runs(root, "KILLED")) == 2
    _check_consistent(root)

    # 3. Input-perturbation release killed after its charge, before the mechanism ran; then
    #    killed after the release was written, before it was in place: no half release.
    _set_params(root, privacy={"mode": "ip"}, features={"scaling": "standard"})
    _repro_killed_at("release:charged", root)
    ip = [c for c in _ledger(root) if c.mode == "ip"]
    assert len(ip) == 1  # charged before the mechanism read the data
    released = root / "artifacts" / "release"  # persist: DVC keeps what was there (the gp run's note)
    assert not (released / "series.parquet").exists()
    _repro_killed_at("release:written", root)
    assert not (released / "series.parquet").exists()  # no half release
    assert json.loads((released / "release.json").read_text())["mode"] != "ip"
    # The killed release keeps its charge; with no release in place the rerun started a new
    # one (a new random release id), charged as such.
    ip_keys = [c.key for c in _ledger(root) if c.mode == "ip"]
    assert ip_keys[0] == ip[0].key and len(ip_keys) == 2
    dvc("repro", cwd=root)
    meta = json.loads((released / "release.json").read_text())
    assert meta["terms"]["mechanism"] == "discrete_gaussian"
    assert [c.key for c in _ledger(root) if c.mode == "ip"] == [*ip_keys, f"ip-release:{meta['release_id']}"]
    _check_consistent(root)

    # 4-5. Registration killed after the version exists, then after the decision is logged.
    _set_params(root, privacy={"mode": "none"})
    for seed, point in ((1, "register:version"), (2, "register:logged")):
        _set_params(root, train={"seed": seed})
        _repro_killed_at(point, root)
        dvc("repro", cwd=root)
        _check_consistent(root)
    versions = _client(root).search_model_versions("name='mobility-gru'")
    assert sorted(int(v.version) for v in versions) == [1, 2, 3]
