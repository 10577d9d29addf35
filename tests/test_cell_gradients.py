"""The cell-gradient engine gives the per-sample gradients of Opacus's hooks and of
``torch.func``, for every parameter, architecture and activation, in float32 and float64.

Tolerances: float32 ``rtol=1e-5, atol=1e-8``; float64 ``rtol=1e-10, atol=1e-16``. The
engines add the same terms in other orders (one contraction over time, Opacus's per-step
accumulation, vmapped autograd), so an entry that is a near-cancelling sum of larger terms
(gradient entries here reach O(1)) differs by a few ulps of those terms, not of itself: in
float32 the largest such difference measured was 2e-9 on an entry of 1e-4 (relative 4e-5),
which ``rtol`` alone does not cover; ``atol=1e-8`` is about 0.1 ulp at 1. float64 passed with
``atol=0``; 1e-16 (0.5 ulp at 1) leaves room for the same effect. Opacus's hooks work in
float64, so both references are checked in both precisions.
"""

from __future__ import annotations

import copy

import pytest
import torch

from dpforecast.models.forecaster import Forecaster, ModelSpec
from dpforecast.training.cell_gradients import CellGradients
from dpforecast.training.dp_sgd import FunctorchEngine, OpacusHooks, fit_private, sample_loss
from dpforecast.training.loop import LoopConfig

ARCHS = ["lstm", "gru", "bilstm", "bigru"]
TOLERANCE = {torch.float32: {"rtol": 1e-5, "atol": 1e-8}, torch.float64: {"rtol": 1e-10, "atol": 1e-16}}


def _per_sample(engine, model, x, y, loss_name="mse"):
    engine.per_sample_gradients(model, sample_loss(loss_name), x, y)
    grads = {k: p.grad_sample.clone() for k, p in model.named_parameters()}
    if isinstance(engine, CellGradients):
        assert all(p.grad is None for p in model.parameters())
    engine.release(model)
    assert all(getattr(p, "grad_sample", None) is None for p in model.parameters())
    return grads


def _check_against_references(spec, n, dtype, loss_name="mse"):
    torch.manual_seed(0)
    model = Forecaster(spec).to(dtype)
    g = torch.Generator().manual_seed(1)
    # Count-like (non-negative) inputs and targets, so that log_counts takes logs of counts.
    x = (torch.randn(n, spec.window, spec.n_features, generator=g, dtype=dtype) * 3).abs()
    y = (torch.randn(n, spec.n_targets, generator=g, dtype=dtype) * 3).abs()
    ours = _per_sample(CellGradients(), copy.deepcopy(model), x, y, loss_name)
    for reference in (OpacusHooks(), FunctorchEngine()):
        theirs = _per_sample(reference, copy.deepcopy(model), x, y, loss_name)
        assert ours.keys() == theirs.keys() == dict(model.named_parameters()).keys()
        for k, g_ref in theirs.items():
            assert ours[k].shape == (n, *model.get_parameter(k).shape) and ours[k].dtype == dtype
            torch.testing.assert_close(ours[k], g_ref, **TOLERANCE[dtype], msg=lambda m: f"{reference.name}, {k}: {m}")


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("window", [6, 1])
@pytest.mark.parametrize("activation", ["tanh", "relu"])
@pytest.mark.parametrize("arch", ARCHS)
def test_per_sample_gradients_equal_opacus_and_torch_func(arch, activation, window, dtype):
    _check_against_references(ModelSpec(arch, 6, activation, window, 10, 6), 4, dtype)


@pytest.mark.parametrize("arch", ARCHS)
def test_log_counts_and_the_mae_loss(arch):
    _check_against_references(ModelSpec(arch, 5, "relu", 6, 10, 6, log_counts=True), 3, torch.float32, "mae")


@pytest.mark.parametrize("arch", ARCHS)
def test_an_empty_batch_gives_empty_per_sample_gradients(arch):
    model = Forecaster(ModelSpec(arch, 6, "relu", 6, 10, 6))
    engine = CellGradients()
    engine.per_sample_gradients(model, sample_loss("mae"), torch.zeros(0, 6, 10), torch.zeros(0, 6))
    for p in model.parameters():
        assert p.grad_sample.shape == (0, *p.shape) and p.grad is None
    engine.release(model)
    assert all(getattr(p, "grad_sample", None) is None for p in model.parameters())


def test_one_engine_over_batches_of_changing_size_stays_exact():
    """The engine reuses its per-sample buffers across steps; Poisson batches vary in size."""
    torch.manual_seed(0)
    model = Forecaster(ModelSpec("bilstm", 6, "relu", 6, 10, 6))
    engine, g = CellGradients(), torch.Generator().manual_seed(2)
    for n in (5, 2, 0, 5, 3):
        x, y = torch.randn(n, 6, 10, generator=g), torch.randn(n, 6, generator=g)
        engine.per_sample_gradients(model, sample_loss("mae"), x, y)
        ours = {k: p.grad_sample.clone() for k, p in model.named_parameters()}
        theirs = _per_sample(FunctorchEngine(), copy.deepcopy(model), x, y, "mae")
        for k, g_ref in theirs.items():
            torch.testing.assert_close(ours[k], g_ref, **TOLERANCE[torch.float32])


def test_fit_private_uses_the_cell_gradient_engine_by_default(monkeypatch):
    calls = []
    original = CellGradients.per_sample_gradients
    monkeypatch.setattr(CellGradients, "per_sample_gradients", lambda self, *args: calls.append(1) or original(self, *args))
    model = Forecaster(ModelSpec("gru", 4, "relu", 6, 10, 6))
    x, y = torch.randn(20, 6, 10).numpy(), torch.randn(20, 6).numpy()
    fit_private(model, (x, y), LoopConfig(epochs=1, batch_size=5, learning_rate=1e-3, seed=0),
                noise_multiplier=1.0, max_grad_norm=1.0, device=torch.device("cpu"), progress=False)
    assert len(calls) == 4
