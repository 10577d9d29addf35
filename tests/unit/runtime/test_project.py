"""dpforecast.runtime.project: the root a stage runs in, where its tracking lives, its parameters and lineage."""

from __future__ import annotations

from pathlib import Path

from dpforecast.lineage import file_md5
from dpforecast.runtime.project import lineage, load_project, project_root, state_root

from synthetic_project import make_synthetic_root


def test_the_root_is_dpforecast_root_or_the_working_folder(monkeypatch, tmp_path):
    monkeypatch.delenv("DPFORECAST_ROOT", raising=False)
    monkeypatch.chdir(tmp_path)
    assert project_root() == tmp_path.resolve()
    monkeypatch.setenv("DPFORECAST_ROOT", str(tmp_path / "elsewhere"))
    assert project_root() == (tmp_path / "elsewhere").resolve()


def test_a_queued_dvc_experiment_tracks_into_the_workspace_it_came_from(monkeypatch, tmp_path):
    monkeypatch.delenv("DVC_ROOT", raising=False)
    assert state_root(tmp_path) is None
    monkeypatch.setenv("DVC_ROOT", str(tmp_path))
    assert state_root(tmp_path) is None  # dvc repro in the workspace itself
    monkeypatch.setenv("DVC_ROOT", str(tmp_path / "workspace"))
    assert state_root(tmp_path / "copy") == (tmp_path / "workspace").resolve()


def test_a_project_is_its_paths_parameters_and_lineage(monkeypatch, tmp_path):
    monkeypatch.delenv("DVC_ROOT", raising=False)
    root = make_synthetic_root(tmp_path / "p", {"profile": "default"})
    paths, params = load_project(root)
    assert paths.root == root and paths.tracking_root is None and params.dataset == "town"
    monkeypatch.setenv("DPFORECAST_ROOT", str(root))
    assert load_project()[0].root == root.resolve()
    tags = lineage(paths, params)
    assert tags == {"data.file_md5": file_md5(root / "data" / "town" / "town.csv"), "dataset": "town",
                    "git_commit": "unknown", "profile": "default"}  # not a git repository, no data.dvc
    (root / "data.dvc").write_text("outs:\n- md5: feed.dir\n  path: data\n")
    assert lineage(paths, params)["data.dvc_md5"] == "feed.dir"
    assert Path(params.data_set.path) == root / "datasets" / "town.yaml"
