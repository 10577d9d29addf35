"""Residual forecasting: the network predicts the change from persistence on the scaled
target scale, and every path that forms a scaled prediction adds the same baseline.

- An untrained residual model (head at zero) forecasts exactly persistence, whatever the
  scaling, the architecture or the initialisation.
- The cell-gradient engine's per-sample gradients and ghost-clipped sum equal Opacus's and
  ``torch.func``'s for a residual model (tolerances of ``test_cell_gradients.py``), the
  fused copy predicts what the cells predict, and ``residual`` survives saving; a
  description written before the option existed loads as non-residual.
- ``train.residual: auto`` is on exactly under DP-SGD.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from dpforecast.config import load_params
from dpforecast.errors import ConfigError
from dpforecast.features.scaling import Scaler
from dpforecast.models.forecaster import Forecaster, ModelSpec
from dpforecast.models.fused import FusedForecaster
from dpforecast.models.store import DESCRIPTION, load_forecaster, save_forecaster
from dpforecast.runtime.io import read_json, write_json
from dpforecast.training.cell_gradients import CellGradients
from dpforecast.training.dp_sgd import FunctorchEngine, OpacusHooks, sample_loss
from unit.training.test_cell_gradients import _reference_clipped_sum

from project_roots import REPO

ARCHS = ["lstm", "gru", "bilstm", "bigru"]
TOLERANCE = {torch.float32: {"rtol": 1e-5, "atol": 1e-8}, torch.float64: {"rtol": 1e-10, "atol": 1e-16}}
PARAMS = REPO / "params.yaml"


def _windows(n: int, dtype: torch.dtype = torch.float32, seed: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    """Count-like windows (zeros included) with calendar-like features, and count targets."""
    g = torch.Generator().manual_seed(seed)
    counts = torch.randint(0, 3000, (n, 6, 6), generator=g).to(dtype)
    counts[0, -1, 0] = 0.0  # persistence of an empty zone
    calendar = torch.rand(n, 6, 4, generator=g, dtype=dtype) * 2 - 1
    return torch.cat([counts, calendar], dim=-1), torch.randint(0, 3000, (n, 6), generator=g).to(dtype)


def _scaler(kind: str, x: torch.Tensor, y: torch.Tensor) -> Scaler:
    if kind == "log":
        return Scaler.log_counts(10, 6)
    if kind == "standard":
        return Scaler.fit(x.numpy(), y.numpy(), 6)
    return Scaler.identity(10, 6)


def _residual_model(arch: str, activation: str = "relu", scaling: str = "log",
                    dtype: torch.dtype = torch.float32) -> tuple[Forecaster, torch.Tensor, torch.Tensor]:
    """A residual model whose head is not zero (so the recurrent layer has gradients)."""
    x, y = _windows(5, dtype)
    torch.manual_seed(0)
    model = Forecaster(ModelSpec(arch, 6, activation, 6, 10, 6, log_counts=scaling == "log", residual=True),
                       _scaler(scaling, x, y)).to(dtype)
    with torch.no_grad():
        model.head.weight.add_(0.3 * torch.randn_like(model.head.weight))
        model.head.bias.add_(0.1 * torch.randn_like(model.head.bias))
    return model, x, y


@pytest.mark.parametrize("keras_init", [True, False])
@pytest.mark.parametrize("scaling", ["log", "standard", "none"])
@pytest.mark.parametrize("arch", ARCHS)
def test_an_untrained_residual_model_forecasts_persistence(arch, scaling, keras_init):
    x, y = _windows(8)
    torch.manual_seed(0)
    model = Forecaster(ModelSpec(arch, 8, "tanh", 6, 10, 6, log_counts=scaling == "log", residual=True),
                       _scaler(scaling, x, y), keras_init=keras_init)
    assert not model.head.weight.any() and not model.head.bias.any()
    with torch.no_grad():
        # log1p/expm1 and the affine round trip cost a few float32 ulps of counts up to 3000.
        torch.testing.assert_close(model(x)[:, 0], x[:, -1, :6], rtol=1e-5, atol=1e-3)
        torch.testing.assert_close(model.forward_scaled(x), model.scale_targets(x[:, -1, :6]))


def test_a_non_residual_model_has_no_baseline():
    x, _ = _windows(3)
    model = Forecaster(ModelSpec("gru", 4, "tanh", 6, 10, 6))
    assert not model.baseline_scaled(x).any() and model.baseline_scaled(x).shape == (3, 6)
    assert model.head.weight.any()


def _per_sample(engine, model, x, y, loss_name):
    engine.per_sample_gradients(model, sample_loss(loss_name), x, y)
    grads = {k: p.grad_sample.clone() for k, p in model.named_parameters()}
    engine.release(model)
    return grads


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("activation", ["tanh", "relu"])
@pytest.mark.parametrize("arch", ARCHS)
def test_per_sample_gradients_of_a_residual_model_equal_opacus_and_torch_func(arch, activation, dtype):
    model, x, y = _residual_model(arch, activation, dtype=dtype)
    ours = _per_sample(CellGradients(), copy.deepcopy(model), x, y, "mse")
    for name, g in ours.items():
        if name.startswith("rnn."):
            assert g.abs().max() > 0, name
    for reference in (OpacusHooks(), FunctorchEngine()):
        theirs = _per_sample(reference, copy.deepcopy(model), x, y, "mse")
        assert ours.keys() == theirs.keys()
        for k, g_ref in theirs.items():
            torch.testing.assert_close(ours[k], g_ref, **TOLERANCE[dtype], msg=lambda m: f"{reference.name}, {k}: {m}")


def test_the_baseline_changes_the_gradients():
    """The engines see the residual prediction: the same weights without it give other gradients."""
    model, x, y = _residual_model("gru")
    plain = Forecaster(ModelSpec(**{**model.spec.to_dict(), "residual": False}), keras_init=False)
    plain.load_state_dict(model.state_dict())
    ours = _per_sample(CellGradients(), model, x, y, "mse")
    without = _per_sample(CellGradients(), plain, x, y, "mse")
    assert not torch.allclose(ours["head.bias"], without["head.bias"])




@pytest.mark.parametrize("arch", ARCHS)
def test_ghost_clipped_sum_of_a_residual_model_equals_opacus_clipping(arch):
    model, x, y = _residual_model(arch, "tanh", scaling="standard")
    for reference in (FunctorchEngine(), OpacusHooks()):
        norms, _ = _reference_clipped_sum(reference, copy.deepcopy(model), x, y, 1.0, "mae")
        clip = 0.5 * float(norms.sort().values[1])  # clips all samples but perhaps the smallest
        _, expected = _reference_clipped_sum(reference, copy.deepcopy(model), x, y, clip, "mae")
        ours = copy.deepcopy(model)
        engine = CellGradients()
        torch.testing.assert_close(engine.clipped_gradient_sum(ours, sample_loss("mae"), x, y, clip), norms,
                                   **TOLERANCE[torch.float32])
        for k, p in ours.named_parameters():
            rtol = TOLERANCE[torch.float32]["rtol"]
            torch.testing.assert_close(p.grad, expected[k], rtol=rtol, atol=rtol * float(expected[k].abs().max()),
                                       msg=lambda m: f"vs {reference.name}, {k}: {m}")
        engine.release(ours)


@pytest.mark.parametrize("scaling", ["log", "standard"])
@pytest.mark.parametrize("arch", ARCHS)
def test_fused_copy_of_a_residual_model_predicts_the_same(arch, scaling):
    model, x, _ = _residual_model(arch, "tanh", scaling)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.2 * torch.randn_like(p))
        torch.testing.assert_close(FusedForecaster.from_forecaster(model).forward_scaled(x), model.forward_scaled(x),
                                   rtol=0, atol=1e-5)


def test_save_and_load_keep_residual(tmp_path):
    model, x, _ = _residual_model("bilstm", "tanh")
    save_forecaster(model, tmp_path)
    loaded = load_forecaster(tmp_path)
    assert loaded.spec.residual and loaded.spec == model.spec
    with torch.no_grad():
        assert torch.equal(loaded(x), model(x))


def test_a_description_without_residual_loads_as_non_residual(tmp_path):
    x, y = _windows(4)
    model = Forecaster(ModelSpec("gru", 4, "tanh", 6, 10, 6), Scaler.fit(x.numpy(), y.numpy(), 6))
    save_forecaster(model, tmp_path)
    description = read_json(tmp_path / DESCRIPTION)
    del description["spec"]["residual"]  # as written before the option existed
    write_json(tmp_path / DESCRIPTION, description)
    loaded = load_forecaster(tmp_path)
    assert loaded.spec.residual is False
    with torch.no_grad():
        assert torch.equal(loaded(x), model(x))


@pytest.mark.parametrize("mode,setting,expected", [
    ("gp", "auto", True), ("none", "auto", False), ("ip", "auto", False),
    ("gp", False, False), ("none", True, True),
])
def test_train_residual_auto_is_on_under_dp_sgd(mode, setting, expected):
    assert load_params(PARAMS, train={"residual": setting}, privacy={"mode": mode}).residual() is expected


def test_train_residual_defaults_to_auto():
    assert load_params(PARAMS).train.residual == "auto"


@pytest.mark.parametrize("value", ["yes", 1, None])
def test_a_bad_train_residual_is_refused_by_name(value):
    with pytest.raises(ConfigError, match="train.residual"):
        load_params(PARAMS, train={"residual": value})


def test_residual_is_learned_under_dp_sgd_from_persistence():
    """A sanity check that training moves a residual model away from persistence."""
    from dpforecast.privacy.randomness import PrivacyKey, SecretStream
    from dpforecast.training.dp_sgd import fit_private
    from dpforecast.training.loop import LoopConfig

    x, y = _windows(24)
    model = Forecaster(ModelSpec("gru", 4, "relu", 6, 10, 6, log_counts=True, residual=True), Scaler.log_counts(10, 6))
    fit_private(model, (x.numpy(), y.numpy()), LoopConfig(epochs=1, batch_size=8, learning_rate=1e-2),
                noise_multiplier=1.0, max_grad_norm=1.0, device=torch.device("cpu"),
                stream=SecretStream.for_context(PrivacyKey(bytes(32), "test"), {"test": "residual"}), progress=False)
    assert model.head.weight.any()
    assert np.isfinite(model(x).detach().numpy()).all()
