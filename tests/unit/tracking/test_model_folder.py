"""The model folder every trainer writes: its files, its parameters, and no count in its example."""

from __future__ import annotations

import polars as pl
import pytest

from dpforecast.config import params_from_dict, resolve
from dpforecast.data import synthetic
from dpforecast.data.spec import load_spec
from dpforecast.models.forecaster import Forecaster, ModelSpec
from dpforecast.models.store import load_forecaster
from dpforecast.privacy.report import PrivacyReport
from dpforecast.runtime.io import read_json
from dpforecast.tracking.model_folder import flat_params, served_example, write_model_folder
from dpforecast.tracking.training_run import Untracked


@pytest.fixture(scope="module")
def spec(tmp_path_factory):
    root = tmp_path_factory.mktemp("town")
    frame = synthetic.generate(zones=2, days=3, interval_minutes=60, start="2024-03-01", timezone="Europe/Paris")
    return load_spec(synthetic.write(frame, root / "data", "town", root=root)[1])


def test_flat_params_names_what_shaped_the_model(spec):
    units = {a: {"units": 12 if a == "gru" else 4} for a in ("lstm", "gru", "bilstm", "bigru")}
    params = resolve(params_from_dict({"dataset": spec.name, "architectures": units}), spec)
    flat = flat_params(params, "gru")
    assert flat["architecture"] == "gru" and flat["units"] == 12 and flat["dataset"] == spec.name
    assert flat["data.interval_minutes"] == spec.interval_minutes and flat["privacy.mode"] == "none"
    assert not any(k.startswith("privacy.ip.") for k in flat)  # only the mode in use


def test_the_served_example_has_the_last_timestamps_and_zero_counts():
    stamps = pl.datetime_range(pl.datetime(2024, 3, 1, time_zone="Europe/Paris"),
                               pl.datetime(2024, 3, 1, 5, time_zone="Europe/Paris"), "1h", eager=True)
    example = served_example(stamps, 3, ["a", "b"])
    assert list(example.columns) == ["timestamp", "a", "b"] and len(example) == 3
    assert example["timestamp"].iloc[0] == "2024-03-01T03:00:00+01:00"
    assert (example[["a", "b"]] == 0).all().all()


def test_the_folder_is_written_whole_and_reads_back(spec, tmp_path):
    module = Forecaster(ModelSpec(architecture="gru", units=4, activation="tanh", window=6, n_features=4, n_targets=2))
    description = {"architecture": "gru", "train_seconds": 1.5, "best_epoch": 2}
    errors = {"rmse": {"a": 1.0, "b": 3.0, "mean": 2.0}, "mae": {"a": 1.0, "b": 1.0, "mean": 1.0}}
    folder = tmp_path / "models" / "gru"
    written = write_model_folder(folder, module, description, spec.path, [{"loss": 1.0}], errors,
                                 PrivacyReport.non_private(), None, {"train_seconds": 1.5, "best_epoch": 2},
                                 Untracked(), lambda: pytest.fail("an untracked run logs no example"))
    assert written == description  # untracked: no model URI
    assert {p.name for p in folder.iterdir()} == {"model.pt", "model.json", "dataset.yaml", "history.json",
                                                   "metrics.json", "privacy.json", "privacy.md"}
    assert read_json(folder / "metrics.json") == errors and read_json(folder / "model.json")["architecture"] == "gru"
    assert load_forecaster(folder).spec == module.spec
