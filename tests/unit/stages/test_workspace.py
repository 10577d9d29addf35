"""dpforecast.stages.workspace: ingest, validate and release a data set's files into a workspace, then its features."""

from __future__ import annotations

import polars as pl
import pytest
import yaml

from dpforecast.config import load_params
from dpforecast.data import synthetic
from dpforecast.privacy.budget import open_ledger
from dpforecast.privacy.charges import epsilon_of
from dpforecast.runtime.io import read_json
from dpforecast.runtime.paths import Paths
from dpforecast.stages.workspace import build_series
from dpforecast.validation import DataValidationError

from synthetic_project import make_synthetic_root


def test_the_workspace_holds_every_stages_output_and_the_windows_per_split(town_workspace):
    paths, windows = town_workspace.paths, town_workspace.windows
    assert windows == {"train": 162, "validation": 168, "test": 168}  # 7 days of hourly test and validation windows
    assert windows == read_json(paths.feature_summary)["windows"]
    assert dict(pl.read_parquet(paths.windows)["split"].value_counts().iter_rows()) == windows
    series = pl.read_parquet(paths.series)
    assert series.columns == ["timestamp", "z0001", "z0002", "z0003"] and series.height == 21 * 24
    assert pl.read_parquet(paths.raw_table).height == 21 * 24 and (paths.validation_dir / "result.json").is_file()
    assert not paths.release_series.exists()  # privacy.mode none: nothing released
    # the workspace is not the project: the data set's files stay where they are
    assert paths.root != town_workspace.root and not (town_workspace.root / "artifacts").exists()


def test_in_ip_mode_the_series_is_released_and_the_release_charged(tmp_path):
    root = make_synthetic_root(tmp_path / "p", {"privacy": {"mode": "ip", "epsilon": 1.0}}, zones=2, days=2)
    params = load_params(root / "params.yaml")
    work = Paths(tmp_path / "work")
    build_series(root, params, work)
    series, released = pl.read_parquet(work.series), pl.read_parquet(work.release_series)
    assert released.columns == series.columns and released["timestamp"].equals(series["timestamp"])
    assert not released.equals(series)  # noise was added
    (charge,) = open_ledger(params).charges()
    assert charge.mode == "ip" and epsilon_of(charge.mechanisms["event"], params.privacy.delta) == pytest.approx(1.0, rel=1e-3)
    assert not work.feature_table.exists()  # build_series stops before the features


def test_the_accepted_increments_are_read_after_the_base_file(tmp_path):
    root = make_synthetic_root(tmp_path / "p", zones=2, days=3)
    spec_file = root / "datasets" / "town.yaml"
    spec = yaml.safe_load(spec_file.read_text())
    spec["files"]["increments"] = "data/town/increments"
    spec_file.write_text(yaml.safe_dump(spec, sort_keys=False))
    raw = root / "data" / "town" / "town.csv"
    lines = raw.read_text().splitlines(keepends=True)
    (root / "data" / "town" / "increments").mkdir()
    (root / "data" / "town" / "increments" / "2024-01-03.csv").write_text(lines[0] + "".join(lines[49:]))
    raw.write_text("".join(lines[:49]))  # the base file: the first two days
    work = Paths(tmp_path / "work")
    build_series(root, load_params(root / "params.yaml"), work)
    expected = synthetic.generate(zones=2, days=3, interval_minutes=60, hierarchy=False)
    assert pl.read_parquet(work.series).equals(expected)


def test_an_invalid_file_stops_the_build_before_anything_is_released(tmp_path):
    root = make_synthetic_root(tmp_path / "p", {"privacy": {"mode": "ip"}}, zones=2, days=2)
    raw = root / "data" / "town" / "town.csv"
    raw.write_text(raw.read_text().replace("\n2024-01-01T03:00:00+01:00,", "\n2024-01-01T03:00:00+01:00,-", 1))
    params = load_params(root / "params.yaml")
    work = Paths(tmp_path / "work")
    with pytest.raises(DataValidationError, match="line 5: '-"):
        build_series(root, params, work)
    assert not work.series.exists() and not work.release_series.exists() and open_ledger(params).charges() == []
