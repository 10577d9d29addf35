"""DP-SGD fails loudly if it is not private: per-sample gradients, clipping and noise.

- The Opacus-hooks engine and an independent ``torch.func`` engine give the same
  per-sample gradients for all four architectures (relu included); the default
  cell-gradient engine is checked against both in ``test_cell_gradients.py``.
- A clipped per-sample gradient never exceeds ``max_grad_norm``, and a batch's clipped sum
  never exceeds ``batch * max_grad_norm`` (the default engine's ghost clipping and the two
  references' clipping of materialised gradients all feed the clipping and noise tests).
- For a fixed secret stream the DP update differs from the clipped non-private update by noise
  of standard deviation ``noise_multiplier * max_grad_norm / expected_batch_size``:
  tested on every coordinate of the model's gradient (thousands of draws), tolerance 5%
  (relative standard error of a std over m draws is about 1/sqrt(2m) < 1.5% here).
- A "private" optimiser without noise is refused, and the noise is really added: a step
  with the noise multiplier forced to a tiny value is the clipped step, the real one is not.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from dpforecast.models.forecaster import Forecaster, ModelSpec
from dpforecast.privacy.randomness import PrivacyKey, SecretStream
from dpforecast.training.cell_gradients import CellGradients
from dpforecast.training.dp_sgd import (
    FunctorchEngine,
    OpacusHooks,
    fit_private,
    poisson_batch,
    private_optimizer,
    sample_loss,
)
from dpforecast.training.loop import LoopConfig


def _model(arch: str, units: int = 8, seed: int = 0) -> Forecaster:
    torch.manual_seed(seed)
    return Forecaster(ModelSpec(arch, units, "relu", 6, 10, 6))


def _stream(seed: int) -> SecretStream:
    """A keyed (so reproducible) secret stream: the tests' stand-in for a run's randomness."""
    return SecretStream.for_context(PrivacyKey(bytes(32), "test"), {"test": "dp_sgd", "seed": seed})


def _batch(n: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, 6, 10, generator=g), torch.randn(n, 6, generator=g)


@pytest.mark.parametrize("arch", ["lstm", "gru", "bilstm", "bigru"])
def test_opacus_and_torch_func_agree_on_per_sample_gradients(arch):
    x, y = _batch(5)
    loss = sample_loss("mae")
    grads = {}
    for engine in (OpacusHooks(), FunctorchEngine()):
        model = _model(arch)
        engine.per_sample_gradients(model, loss, x, y)
        grads[engine.name] = {k: p.grad_sample.clone() for k, p in model.named_parameters()}
        engine.release(model)
    for k, g in grads["opacus-hooks"].items():
        assert g.shape[0] == 5
        torch.testing.assert_close(g, grads["torch-func"][k], rtol=1e-4, atol=1e-6)


ENGINES = [CellGradients, OpacusHooks, FunctorchEngine]


def _clipped_and_noisy(engine, model, x, y, sigma, clip, batch, seed):
    """One DP step's gradient before and after noise (summed_grad / batch and p.grad)."""
    opt = private_optimizer(torch.optim.SGD(model.parameters(), lr=0.0), sigma, clip, batch, _stream(seed))
    engine().clipped_gradient_sum(model, sample_loss("mae"), x, y, clip)
    opt.pre_step()
    clipped = torch.cat([p.summed_grad.flatten() for p in model.parameters()]) / batch
    noisy = torch.cat([p.grad.flatten() for p in model.parameters()])
    return clipped, noisy


@pytest.mark.parametrize("engine", ENGINES)
def test_clipped_gradient_of_one_window_never_exceeds_the_bound(engine):
    for seed in range(5):
        model = _model("bigru", seed=seed)
        x, y = _batch(1, seed)
        clipped, _ = _clipped_and_noisy(engine, model, x * 1000, y * 1000, 1.0, 0.5, 1, seed)
        assert clipped.norm() <= 0.5 + 1e-5


@pytest.mark.parametrize("engine", ENGINES)
def test_every_clipped_per_sample_norm_and_the_clipped_sum_are_bounded(engine):
    """On the per-sample norms the engine computes (checked against torch.func's materialised
    gradients), every sample is clipped here and each clipped norm is at most C."""
    clip, batch = 0.5, 8
    for seed in range(3):
        x, y = _batch(batch, seed)
        model = _model("bigru", seed=seed)
        norms = engine().clipped_gradient_sum(model, sample_loss("mae"), x * 1000, y * 1000, clip)
        twin = _model("bigru", seed=seed)
        FunctorchEngine().per_sample_gradients(twin, sample_loss("mae"), x * 1000, y * 1000)
        expected = torch.stack([p.grad_sample.flatten(1).norm(dim=1) for p in twin.parameters()], dim=1).norm(dim=1)
        torch.testing.assert_close(norms, expected, rtol=1e-5, atol=1e-6)
        assert bool((norms > clip).all())
        assert bool((torch.clamp(clip / (norms + 1e-6), max=1.0) * norms <= clip).all())
        total = torch.cat([p.grad.flatten() for p in model.parameters()]).norm()
        assert total <= batch * clip + 1e-5


@pytest.mark.parametrize("engine", ENGINES)
def test_dp_update_is_the_clipped_update_plus_noise_of_the_expected_scale(engine):
    sigma, clip, batch = 2.0, 1.0, 8
    model = _model("bigru", units=16)
    x, y = _batch(batch)
    clipped, noisy = _clipped_and_noisy(engine, model, x, y, sigma, clip, batch, seed=7)
    noise = (noisy - clipped).numpy()
    assert noise.size > 2500
    expected = sigma * clip / batch
    assert np.std(noise) == pytest.approx(expected, rel=0.05)
    assert abs(np.mean(noise)) < 4 * expected / np.sqrt(noise.size)
    # Same stream (key and context), same noise; another context, other noise.
    _, again = _clipped_and_noisy(engine, _model("bigru", units=16), x, y, sigma, clip, batch, seed=7)
    _, other = _clipped_and_noisy(engine, _model("bigru", units=16), x, y, sigma, clip, batch, seed=8)
    assert torch.equal(noisy, again) and not torch.equal(noisy, other)


def test_a_dp_step_adds_noise_to_the_clipped_update():
    """Through the default engine, the private optimiser and SGD's step: with the noise
    multiplier forced to 1e-12 the update is the clipped one, with 1.0 it is not."""
    clip, batch = 1.0, 8
    x, y = _batch(batch)
    weights = {}
    for sigma in (1e-12, 1.0):
        model = _model("bigru", units=16)
        opt = private_optimizer(torch.optim.SGD(model.parameters(), lr=1.0), sigma, clip, batch, _stream(0))
        opt.zero_grad(set_to_none=True)
        CellGradients().clipped_gradient_sum(model, sample_loss("mae"), x, y, clip)
        clipped = [p.grad.clone() / batch for p in model.parameters()]
        before = [p.detach().clone() for p in model.parameters()]
        opt.step()
        weights[sigma] = torch.cat([p.detach().flatten() for p in model.parameters()])
        if sigma == 1e-12:  # SGD with lr 1: the step is minus the averaged clipped sum
            for b, g, p in zip(before, clipped, model.parameters()):
                torch.testing.assert_close(p.detach(), b - g, rtol=0, atol=1e-9)
    difference = (weights[1.0] - weights[1e-12]).numpy()
    assert np.std(difference) == pytest.approx(clip / batch, rel=0.05)


@pytest.mark.parametrize("sigma,clip", [(0.0, 1.0), (-1.0, 1.0), (1.0, 0.0)])
def test_a_private_optimiser_without_noise_or_clipping_is_refused(sigma, clip):
    model = _model("gru")
    with pytest.raises(ValueError, match="privacy.gp"):
        private_optimizer(torch.optim.SGD(model.parameters(), lr=0.1), sigma, clip, 4, _stream(0))


def test_poisson_batches_have_the_expected_size_and_can_be_empty():
    g = _stream(0)
    sizes = [len(poisson_batch(1000, 0.01, g)) for _ in range(2000)]
    assert np.mean(sizes) == pytest.approx(10, rel=0.05)
    small = [len(poisson_batch(10, 0.05, g)) for _ in range(200)]
    assert 0 in small
    # indices usable as a tensor index: int64, distinct, in range, in order
    idx = poisson_batch(1000, 0.5, g)
    assert idx.dtype == torch.int64 and bool((idx[1:] > idx[:-1]).all()) and 0 <= int(idx.min()) <= int(idx.max()) < 1000
    # drawn from the stream: the same key and context give the same batches, another context others
    assert torch.equal(poisson_batch(1000, 0.1, _stream(5)), poisson_batch(1000, 0.1, _stream(5)))
    assert not torch.equal(poisson_batch(1000, 0.1, _stream(5)), poisson_batch(1000, 0.1, _stream(6)))


def test_fit_private_trains_every_architecture_and_reports_its_spend():
    x, y = (t.numpy() for t in _batch(40))
    for arch in ("lstm", "bigru"):
        model = _model(arch)
        result, spend = fit_private(model, (x, y), LoopConfig(epochs=2, batch_size=8, learning_rate=1e-3, seed=3),
                                    noise_multiplier=1.0, max_grad_norm=1.0, device=torch.device("cpu"),
                                    stream=_stream(3), progress=False)
        assert spend.sample_rate == pytest.approx(0.2) and spend.steps == 10
        # Steps only: a loss on the private windows would be a release no accountant sees.
        assert result.history == [{"steps": 5.0}, {"steps": 10.0}]
        # Hooks are gone: the model is a plain module again.
        assert all(getattr(p, "grad_sample", None) is None for p in model.parameters())
