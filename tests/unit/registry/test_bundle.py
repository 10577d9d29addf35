"""What leaves a private run: the bundle, the release and the model folder hold no raw hash or seed.

A tiny model is trained under input perturbation and under DP-SGD on ten days of Montreuil;
the test walks every file of the publishable bundle (and of the release and the model's
folder) for the md5 of the raw file, of the validated series, of the feature table and of
the DVC data version, for seed fields of private randomness, and (bundle) for any raw-count
test error.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from dpforecast.config import deep_merge, load_params
from dpforecast.lineage import file_md5
from dpforecast.registry.bundle import BundleError, export_bundle
from dpforecast.runtime.io import read_json
from dpforecast.runtime.paths import Paths
from dpforecast.runtime.project import lineage
from dpforecast.stages.train import train_one
from dpforecast.stages.workspace import build_workspace

from project_roots import REPO, TINY, make_root

DAYS = 30
#: Never in what a private run writes.
SECRET_KEYS = ("noise_seed", "input_md5", "data.file_md5", "data.dvc_md5")
#: Not in a bundle either: internal lineage and tracking.
BUNDLE_KEYS = (*SECRET_KEYS, "mlflow_run_id", "lineage")


def _project(tmp: Path, overrides: dict) -> tuple[Path, Paths]:
    lines = (REPO / "data" / "montreuil" / "ML_final_df_real.csv").read_bytes().decode().splitlines(keepends=True)
    short = tmp / "short.csv"
    short.write_bytes("".join(lines[: 1 + 48 * DAYS]).encode())
    root = make_root(tmp / "project", deep_merge(TINY, overrides), raw_csv=short)
    paths = Paths(root)
    build_workspace(root, load_params(root / "params.yaml"), paths)
    return root, paths


def _secrets(root: Path, paths: Paths) -> set[str]:
    params = load_params(root / "params.yaml")
    tags = lineage(paths, params)
    return {file_md5(root / params.data_set.raw), file_md5(paths.series), file_md5(paths.feature_table),
            tags["data.dvc_md5"], tags["data.file_md5"]}


def _walk(folder: Path, secrets: set[str], keys: tuple[str, ...] = SECRET_KEYS) -> None:
    for path in folder.rglob("*"):
        if path.is_file():
            text = path.read_bytes().decode("latin-1")
            for secret in secrets:
                assert secret not in text, f"{path} holds a raw-data hash"
            if path.suffix == ".json":
                flat = json.dumps(json.loads(text))
                for key in keys:
                    assert f'"{key}"' not in flat, f"{path} holds {key}"


@pytest.mark.parametrize("mode", ["ip", "gp"])
@pytest.mark.real_data
def test_a_private_models_bundle_release_and_folder_hold_nothing_raw(tmp_path: Path, mode: str) -> None:
    over = {"privacy": {"mode": mode, "unit": "day"}, "train": {"model": "gru"}}
    if mode == "gp":
        over = deep_merge(over, yaml.safe_load((REPO / "profiles" / "dp-sgd.yaml").read_text()))
        over = deep_merge(over, TINY)
    root, paths = _project(tmp_path, over)
    params = load_params(root / "params.yaml")
    folder = tmp_path / "model"
    train_one(paths, params, "gru", out_dir=folder, track=False, progress=False,
              lineage=lineage(paths, params))
    secrets = _secrets(root, paths)
    raw_errors = read_json(folder / "metrics.json")["rmse"]

    bundle = export_bundle(folder, tmp_path / "bundle")
    assert {p.name for p in bundle.iterdir()} >= {"model.pt", "model.json", "dataset.yaml", "privacy.json",
                                                   "metrics.json", "MODEL_CARD.md"}
    _walk(bundle, secrets, BUNDLE_KEYS)
    _walk(folder, secrets - {file_md5(paths.feature_table)} if mode == "ip" else secrets)
    metrics = read_json(bundle / "metrics.json")
    card = (bundle / "MODEL_CARD.md").read_text()
    for value in raw_errors.values():  # no raw-count error, to the digit
        assert f"{value:.4f}" not in json.dumps(metrics) and f"{value:.1f}" not in card
    assert read_json(bundle / "privacy.json")["private"] is True
    if mode == "ip":
        _walk(paths.release_dir, secrets)
        assert metrics["rmse"]["mean"] > 0 and "noisy release" in metrics["scored_on"]
    else:
        assert set(metrics) == {"scored_on"}


@pytest.mark.real_data
def test_a_non_private_model_has_no_bundle(tmp_path: Path) -> None:
    root, paths = _project(tmp_path, {"train": {"model": "gru"}})
    folder = tmp_path / "model"
    train_one(paths, load_params(root / "params.yaml"), "gru", out_dir=folder, track=False, progress=False)
    with pytest.raises(BundleError, match="non-private"):
        export_bundle(folder, tmp_path / "bundle")
    assert not (tmp_path / "bundle").exists()
