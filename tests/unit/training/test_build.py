"""dpforecast.training.build: the untrained forecaster and its loop settings, as the parameters configure one
architecture (three synthetic zones, six inputs of seven features)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from dpforecast.features.scaling import LOG_CENTRE, Scaler
from dpforecast.training.build import build_model, private_options
from dpforecast.training.loop import LoopConfig

from synthetic_project import synthetic_params

RNG = np.random.default_rng(0)
X = np.concatenate([RNG.uniform(50, 500, (40, 6, 3)), RNG.uniform(-1, 1, (40, 6, 4))], axis=-1).astype(np.float32)
Y = RNG.uniform(50, 500, (40, 1, 3)).astype(np.float32)


def test_the_spec_and_the_loop_come_from_the_parameters():
    sizes = {a: {"units": 8} for a in ("lstm", "gru", "bilstm")}
    params = synthetic_params(architectures={**sizes, "bigru": {"units": 5, "batch_size": 16}},
                              train={"epochs": 3, "learning_rate": 0.01, "loss": "mse", "patience": 2,
                                     "activation": "relu"})
    model, loop = build_model(params, "bigru", X, Y, n_zones=3, seed=7)
    spec = model.spec
    assert (spec.architecture, spec.units, spec.activation, spec.window, spec.n_features, spec.n_targets) == (
        "bigru", 5, "relu", 6, 7, 3)
    assert (spec.horizon, spec.residual, spec.log_counts) == (1, params.residual(), False)
    assert loop == LoopConfig(epochs=3, batch_size=16, learning_rate=0.01, loss="mse", shuffle=True, patience=2, seed=7)


@pytest.mark.parametrize("scaling", ["standard", "log", "none"])
def test_the_scaler_is_fitted_fixed_or_none_as_configured(scaling):
    model, _ = build_model(synthetic_params(features={"scaling": scaling}), "gru", X, Y, n_zones=3, seed=0)
    expected = {"standard": Scaler.fit(X, Y, n_counts=3), "log": Scaler.log_counts(7, 3),
                "none": Scaler.identity(7, 3)}[scaling]
    np.testing.assert_allclose(model.x_mean.numpy(), expected.x_mean, rtol=1e-6)
    np.testing.assert_allclose(model.y_std.numpy(), expected.y_std, rtol=1e-6)
    assert model.spec.log_counts == (scaling == "log") and (float(model.y_mean[0]) == LOG_CENTRE) == (scaling == "log")


def test_the_seed_decides_the_initial_weights():
    params = synthetic_params()
    weights = [build_model(params, "lstm", X, Y, 3, seed)[0].state_dict() for seed in (1, 1, 2)]
    assert all(torch.equal(weights[0][k], weights[1][k]) for k in weights[0])
    assert not all(torch.equal(weights[0][k], weights[2][k]) for k in weights[0])


def test_private_options_are_privacy_gp_s():
    params = synthetic_params(privacy={"gp": {"optimizer": "adam_bc", "ema": 0.99}})
    assert private_options(params) == {"optimizer": "adam_bc", "momentum": params.privacy.gp.momentum, "ema": 0.99}
