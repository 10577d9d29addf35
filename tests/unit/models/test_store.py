"""dpforecast.models.store: a trained forecaster as weights plus a description, its data set's spec and intervals."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import yaml

from dpforecast.data import synthetic
from dpforecast.features.scaling import Scaler
from dpforecast.models.conformal import Intervals
from dpforecast.models.forecaster import Forecaster, ModelSpec
from dpforecast.models.store import (
    DATASET_SPEC,
    DESCRIPTION,
    INTERVALS,
    WEIGHTS,
    load_dataset_spec,
    load_forecaster,
    load_intervals,
    save_forecaster,
)
from dpforecast.runtime.io import read_json, write_json


def test_saved_model_reloads_with_same_predictions(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.random((20, 6, 10)).astype(np.float32) * 1000
    y = rng.random((20, 6)).astype(np.float32) * 1000
    model = Forecaster(ModelSpec("bilstm", 8, "relu", 6, 10, 6), Scaler.fit(x, y, 6))
    save_forecaster(model, tmp_path, {"note": "test"})
    loaded = load_forecaster(tmp_path)
    with torch.no_grad():
        assert torch.equal(model(torch.as_tensor(x)), loaded(torch.as_tensor(x)))
    assert torch.equal(loaded.y_mean, model.y_mean)


def test_the_description_holds_the_spec_and_the_callers_extras(tmp_path):
    model = Forecaster(ModelSpec("gru", 4, "tanh", 6, 10, 6))
    save_forecaster(model, tmp_path / "new" / "gru", {"zones": ["a"]})
    folder = tmp_path / "new" / "gru"
    assert sorted(p.name for p in folder.iterdir()) == [DESCRIPTION, WEIGHTS]
    description = read_json(folder / DESCRIPTION)
    assert description == {"spec": model.spec.to_dict(), "zones": ["a"]}
    state = torch.load(folder / WEIGHTS, weights_only=True)
    assert state.keys() == model.state_dict().keys()
    assert not load_forecaster(folder).training  # ready to predict


def test_weights_that_are_not_a_plain_state_dict_are_not_unpickled(tmp_path):
    model = Forecaster(ModelSpec("gru", 4, "tanh", 6, 10, 6))
    save_forecaster(model, tmp_path)
    torch.save({"head.weight": object()}, tmp_path / WEIGHTS)
    with pytest.raises(Exception, match="Weights only load failed"):
        load_forecaster(tmp_path)


def test_the_data_set_spec_and_intervals_come_from_the_models_folder(tmp_path):
    frame = synthetic.generate(zones=2, days=2, interval_minutes=60, hierarchy=False)
    spec = synthetic.spec_dict(frame, "town", "data/town.csv")
    (tmp_path / DATASET_SPEC).write_text(yaml.safe_dump(spec))
    loaded = load_dataset_spec(tmp_path)
    assert loaded.name == "town" and loaded.zone_ids == ["z0001", "z0002"] and loaded.path == str(tmp_path / DATASET_SPEC)
    assert load_intervals(tmp_path) is None  # none calibrated
    intervals = Intervals((0.8, 0.95), np.arange(4.0).reshape(2, 1, 2), 30, "validation block", covered=True)
    write_json(tmp_path / INTERVALS, intervals.to_json())
    again = load_intervals(tmp_path)
    assert again.levels == (0.8, 0.95) and again.calibration_windows == 30 and again.covered
    np.testing.assert_array_equal(again.half_widths, intervals.half_widths)
