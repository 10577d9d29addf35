"""dpforecast.stages.train: a network fitted on the feature files' windows, scored on the raw test block, its folder written."""

from __future__ import annotations

import shutil
from dataclasses import replace

import mlflow
import pytest

from dpforecast.config import load_params
from dpforecast.lineage import file_md5
from dpforecast.runtime.io import read_json
from dpforecast.runtime.paths import Paths
from dpforecast.stages import train as train_stage
from dpforecast.stages.train import train, train_one
from dpforecast.stages.workspace import build_workspace

from synthetic_project import make_synthetic_root

FOLDER = {"model.pt", "model.json", "dataset.yaml", "metrics.json", "history.json", "intervals.json", "privacy.json",
          "privacy.md"}


class _Killed(BaseException):
    """Stands for the SIGKILL a crash point sends."""


def test_the_folder_holds_the_model_its_description_and_raw_test_errors(town_workspace, tmp_path):
    ws = town_workspace
    result = train_one(ws.paths, ws.params, "gru", out_dir=tmp_path / "gru", track=False, progress=False)
    assert (result.architecture, result.seed, result.folder) == ("gru", ws.params.train.seed, tmp_path / "gru")
    assert {p.name for p in result.folder.iterdir()} == FOLDER
    zones = ["z0001", "z0002", "z0003"]
    assert set(result.test) == {"rmse", "mae"} and set(result.test["rmse"]) == {*zones, "mean"}
    assert read_json(result.folder / "metrics.json")["rmse"] == result.test["rmse"]
    description = read_json(result.folder / "model.json")
    assert description["zones"] == zones and description["mlflow_run_id"] is None
    assert description["features_md5"] == file_md5(ws.paths.feature_table)  # not private: the plain digest
    assert description["epochs_run"] == 1 and description["horizon"] == 1
    assert read_json(result.folder / "privacy.json")["summary"] == "not private (no differential privacy guarantee)"
    assert not result.privacy.private


def test_a_seed_fixes_the_fit(town_workspace, tmp_path):
    ws = town_workspace
    first, again, other = (train_one(ws.paths, ws.params, "gru", out_dir=tmp_path / name, seed=seed, track=False,
                                     progress=False) for name, seed in (("a", 3), ("b", 3), ("c", 4)))
    assert first.seed == 3 and first.test == again.test
    assert other.test != first.test


def test_train_fits_and_tracks_every_selected_architecture_in_the_workspace(town_workspace, tmp_path, file_store):
    ws = town_workspace
    paths = Paths(tmp_path / "work", tracking_root=tmp_path)
    shutil.copytree(ws.paths.root, paths.root)
    assert ws.params.models() == ["gru"]
    (trained,) = train(paths, ws.params, lineage={"dataset": "town"}, progress=False)
    assert trained.folder == paths.model_dir("gru") and (paths.model_dir("gru") / "model.pt").is_file()
    run = mlflow.get_run(trained.description["mlflow_run_id"])
    assert run.info.status == "FINISHED" and run.data.tags["dataset"] == "town" and run.data.params["seed"] == "0"
    assert trained.description["mlflow_model_uri"].startswith("models:/")


def test_a_crash_point_after_each_epoch_and_a_killed_run_is_marked_failed(town_workspace, tmp_path, file_store,
                                                                          monkeypatch):
    ws = town_workspace
    params = replace(ws.params, train=replace(ws.params.train, epochs=2))
    seen: list[str] = []
    monkeypatch.setattr(train_stage, "crash_point", seen.append)
    train_one(ws.paths, params, "gru", out_dir=tmp_path / "gru", track=False, progress=False)
    assert seen == ["train:none", "train:none"]

    def crash(point: str) -> None:
        raise _Killed(point)

    monkeypatch.setattr(train_stage, "crash_point", crash)
    with pytest.raises(_Killed):
        train_one(ws.paths, params, "gru", out_dir=tmp_path / "killed", progress=False)
    (run,) = mlflow.search_runs(search_all_experiments=True, output_format="list")
    assert run.info.status == "FAILED" and run.data.tags["model"] == "gru" and run.data.tags["privacy"] == "none"
    assert not (tmp_path / "killed").exists()


def test_an_ip_model_is_scored_on_raw_and_on_noisy_targets(tmp_path):
    root = make_synthetic_root(tmp_path / "p", {"privacy": {"mode": "ip", "epsilon": 1.0},
                                                "split": {"test_days": 2, "validation_days": 2}}, zones=2, days=6)
    params = load_params(root / "params.yaml", train={"model": "gru"})
    paths = Paths(tmp_path / "work")
    build_workspace(root, params, paths)
    result = train_one(paths, params, "gru", track=False, progress=False)
    assert result.privacy.private and result.privacy.mode == "ip" and result.privacy.epsilon == 1.0
    noisy = result.test["against_noisy_targets"]
    assert set(noisy) == {"rmse", "mae"} and noisy["rmse"]["mean"] != result.test["rmse"]["mean"]
    # a private model's folder publishes a keyed digest of its features, never their md5
    assert read_json(result.folder / "model.json")["features_md5"] != file_md5(paths.feature_table)
