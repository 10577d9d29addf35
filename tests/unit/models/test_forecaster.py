"""The recurrent forecasters: shapes, Keras-equal sizes, clipping and log scaling (the cells are tested in
test_recurrent.py, saving and loading in test_store.py)."""

from __future__ import annotations

import pytest
import torch

from dpforecast.features.scaling import Scaler
from dpforecast.models.forecaster import Forecaster, ModelSpec


def keras_param_count(arch: str, units: int, n_in: int = 10, n_out: int = 6) -> int:
    """Trainable parameters of the study's Keras model (GRU with reset_after=True)."""
    per_dir = 3 * (n_in * units + units * units + 2 * units) if "gru" in arch else 4 * (n_in * units + units * units + units)
    dirs = 2 if arch.startswith("bi") else 1
    return dirs * per_dir + (dirs * units) * n_out + n_out


@pytest.mark.parametrize("arch,units", [("lstm", 225), ("bilstm", 500), ("gru", 75), ("bigru", 175)])
def test_sizes_match_the_study_keras_models(arch, units):
    model = Forecaster(ModelSpec(arch, units, "relu", 6, 10, 6))
    n = sum(p.numel() for p in model.parameters() if p.requires_grad)
    assert n == keras_param_count(arch, units)
    assert model(torch.rand(3, 6, 10) * 1000).shape == (3, 1, 6)


def test_forecasts_are_clipped_at_zero():
    model = Forecaster(ModelSpec("gru", 4, "tanh", 6, 10, 6))
    with torch.no_grad():
        model.head.bias.fill_(-1e6)
    assert torch.all(model(torch.randn(5, 6, 10)) == 0)


def test_log_scaling_round_trips_counts_and_fits_nothing():
    spec = ModelSpec("gru", 4, "tanh", 6, 10, 6, log_counts=True)
    model = Forecaster(spec, Scaler.log_counts(10, 6))
    y = torch.tensor([[100.0, 1e3, 1e4, 1e5, 0.0, 5.0]])
    # scale_targets then the inverse map recovers the counts.
    back = torch.expm1(model.scale_targets(y) * model.y_std + model.y_mean)
    torch.testing.assert_close(back, y, rtol=1e-4, atol=1e-3)
    assert float(model.x_mean[0]) == 9.0 and float(model.x_std[6]) == 1.0
