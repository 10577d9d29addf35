"""A network trained in memory on the validated series is the network the train stage builds."""

from __future__ import annotations

import polars as pl
import pytest
import yaml

from dpforecast.api.dataset import validated_series
from dpforecast.config import load_params
from dpforecast.data import synthetic
from dpforecast.experiments.network_run import scoring_of, train_network
from dpforecast.runtime.io import read_json
from dpforecast.runtime.paths import Paths
from dpforecast.stages.train import train_one
from dpforecast.stages.workspace import build_workspace


@pytest.fixture(scope="module")
def town(tmp_path_factory):
    """A project root with a synthetic data set: 3 zones, hourly, 3 weeks."""
    root = tmp_path_factory.mktemp("town-project")
    frame = synthetic.generate(zones=3, days=21, interval_minutes=60, start="2024-03-01", timezone="Europe/Paris")
    synthetic.write(frame, root / "data", "town", root=root)
    (root / "params.yaml").write_text(yaml.safe_dump({
        "dataset": "town", "features": {"window": 6}, "split": {"test_days": 3, "validation_days": 3},
        "train": {"epochs": 2, "patience": 0}, "architectures": {a: {"units": 8} for a in ("lstm", "gru", "bilstm", "bigru")}}))
    return root


def test_the_in_memory_training_matches_the_stage_on_the_same_series(town, tmp_path):
    params = load_params(town / "params.yaml")
    work = Paths(tmp_path / "workspace", tracking_root=town)
    build_workspace(town, params, work)
    staged = train_one(work, params, "gru", seed=3, track=False, progress=False)
    series = validated_series(params, town)
    assert series.equals(pl.read_parquet(work.series))  # validated in memory = the validate stage's output
    trained, holdout = train_network(town, params, "gru", 3, series, tmp_path / "models" / "gru", track=False)
    assert trained.test == staged.test and trained.epochs_run == staged.epochs_run
    assert holdout.windows == read_json(work.feature_summary)["windows"]
    for name in ("model.pt", "model.json", "dataset.yaml", "metrics.json", "privacy.json", "intervals.json"):
        assert (trained.folder / name).is_file()
    assert read_json(trained.folder / "model.json")["zones"] == staged.zones


def test_the_scoring_targets_are_the_test_windows_raw_counts(town, tmp_path):
    params = load_params(town / "params.yaml")
    series = validated_series(params, town)
    _, holdout = train_network(town, params, "gru", 0, series, tmp_path / "gru", track=False)
    raw, targets = scoring_of(series, holdout, params.features.horizon)
    assert raw.columns == ["timestamp", *holdout.test.zones]
    assert targets.height == len(holdout.test) * params.features.horizon
    first = targets.row(0, named=True)
    row = raw.filter(pl.col("timestamp") == first["target_time"]).row(0, named=True)
    assert all(first[z] == row[z] for z in holdout.test.zones)
