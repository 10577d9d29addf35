"""DP-SGD's optimiser options (``privacy.gp.optimizer``, ``momentum``, ``ema``).

- Each optimiser trains: a few dozen windows, two epochs, the weights move and stay finite.
- DP-AdamBC (Tang et al. 2023) is Adam with the noise variance
  ``Phi = (noise_multiplier * max_grad_norm / expected_batch_size)^2`` subtracted from the
  bias-corrected second moment, floored at ``gamma``: checked by hand on a tiny tensor,
  through Opacus's noise wrapper; for one secret stream its weights differ from Adam's.
- ``ema``: 0 keeps the last iterate; ``ema = b`` keeps the bias-corrected average
  ``sum_s (1 - b) b^(t-s) theta_s / (1 - b^t)``, checked against iterates recorded from
  runs of 1..t one-step epochs (the batch holds every window, so the runs share one path).
- The config refuses bad values by name; the options reach MLflow's params, the secret
  stream's context and (with the owner's key) the ledger key.
"""

from __future__ import annotations

import copy

import pytest
import torch

from dpforecast.config import load_params
from dpforecast.errors import ConfigError
from dpforecast.models.forecaster import Forecaster, ModelSpec
from dpforecast.privacy.randomness import PrivacyKey, SecretStream
from dpforecast.tracking.model_folder import flat_params
from dpforecast.training import dp_sgd
from dpforecast.training.dp_adam_bc import DPAdamBC
from dpforecast.training.dp_sgd import base_optimizer, fit_private, private_optimizer
from dpforecast.training.loop import LoopConfig
from dpforecast.training.private_plan import _gp_context, _ledger_key

from project_roots import REPO

PARAMS = REPO / "params.yaml"
CPU = torch.device("cpu")
KEY = PrivacyKey(bytes(32), "test")


def _stream() -> SecretStream:
    """The same keyed stream for every run: runs with the same options are reproducible."""
    return SecretStream.for_context(KEY, {"test": "dp_training_options"})


def _problem(n: int = 32, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, 6, 10, generator=g).numpy(), torch.randn(n, 6, generator=g).numpy()


def _model() -> Forecaster:
    torch.manual_seed(0)
    return Forecaster(ModelSpec("gru", 4, "relu", 6, 10, 6))


def _flat(model: Forecaster) -> torch.Tensor:
    return torch.cat([p.detach().flatten() for p in model.parameters()])


def _train(model: Forecaster, epochs: int = 2, batch_size: int = 8, **options) -> Forecaster:
    fit_private(model, _problem(), LoopConfig(epochs=epochs, batch_size=batch_size, learning_rate=1e-2, seed=3),
                noise_multiplier=1.0, max_grad_norm=1.0, device=CPU, stream=_stream(), progress=False, **options)
    return model


@pytest.mark.parametrize("optimizer", ["adam", "adam_bc", "sgd"])
def test_each_optimizer_trains(optimizer):
    before = _model()
    after = _train(copy.deepcopy(before), optimizer=optimizer)
    assert torch.isfinite(_flat(after)).all()
    assert not torch.allclose(_flat(after), _flat(before))


def test_adam_bc_differs_from_adam_for_the_same_noise_stream():
    adam, bc = _train(_model(), optimizer="adam"), _train(_model(), optimizer="adam_bc")
    assert not torch.allclose(_flat(adam), _flat(bc))
    assert torch.equal(_flat(_train(_model(), optimizer="adam_bc")), _flat(bc))  # and is reproducible


def test_fit_private_gives_adam_bc_the_noise_std_per_coordinate(monkeypatch):
    seen = []
    original = dp_sgd.base_optimizer
    monkeypatch.setattr(dp_sgd, "base_optimizer", lambda *args: seen.append(args) or original(*args))
    fit_private(_model(), _problem(), LoopConfig(epochs=1, batch_size=8, learning_rate=1e-3), noise_multiplier=1.5,
                max_grad_norm=0.4, device=CPU, stream=_stream(), progress=False, optimizer="adam_bc")
    assert seen[0][0] == "adam_bc" and seen[0][4] == pytest.approx(1.5 * 0.4 / 8)
    assert base_optimizer("adam_bc", [torch.nn.Parameter(torch.zeros(1))], 1e-3, 0.9, 0.25).defaults[
        "noise_variance"] == pytest.approx(0.0625)


def test_two_adam_bc_steps_through_the_noise_wrapper_equal_the_formula():
    """theta_t = theta_{t-1} - lr m_t / (1 - b1^t) / sqrt(max(v_t / (1 - b2^t) - Phi, gamma)),
    with m, v Adam's moments of the noisy averaged gradient g~ (what Opacus leaves in p.grad)."""
    sigma, clip, batch, lr, b1, b2, gamma = 2.0, 1.0, 4, 0.1, 0.9, 0.999, 1e-8
    phi = (sigma * clip / batch) ** 2  # 0.25
    p = torch.nn.Parameter(torch.tensor([0.5, -1.0, 2.0, 0.0, 0.0, 0.0], dtype=torch.float64))
    opt = private_optimizer(DPAdamBC([p], noise_variance=phi, lr=lr, betas=(b1, b2), gamma=gamma), sigma, clip, batch,
                            _stream())
    theta, m, v = p.detach().clone(), torch.zeros(6, dtype=torch.float64), torch.zeros(6, dtype=torch.float64)
    floored = False
    # Zero sums: the noise alone, whose square is below Phi on about 2 draws in 3 (the floor).
    for t, clipped_sum in enumerate(([1.0, -3.0, 0.2, 4.0, 0.0, 0.0], [-2.0, 1.0, 0.5, 3.0, 0.0, 0.0]), start=1):
        opt.zero_grad(set_to_none=True)
        p.grad = torch.tensor(clipped_sum, dtype=torch.float64)
        opt.step()
        g = p.grad.detach()  # the noisy average: (clipped sum + N(0, (sigma C)^2)) / batch
        m, v = b1 * m + (1 - b1) * g, b2 * v + (1 - b2) * g**2
        second = v / (1 - b2**t) - phi
        floored |= bool((second < gamma).any())
        theta = theta - lr * (m / (1 - b1**t)) / torch.sqrt(torch.clamp(second, min=gamma))
        torch.testing.assert_close(p.detach(), theta, rtol=1e-12, atol=1e-12)
    assert floored  # the floor was exercised at least once with this stream


def test_adam_bc_without_noise_variance_is_adam_up_to_its_epsilon():
    p, q = (torch.nn.Parameter(torch.tensor([0.5, -1.0, 2.0])) for _ in range(2))
    bc, adam = DPAdamBC([p], noise_variance=0.0, lr=0.1, gamma=1e-16), torch.optim.Adam([q], lr=0.1, eps=0.0)
    for grad in ([1.0, -3.0, 0.2], [-2.0, 1.0, 0.5]):
        for param, opt in ((p, bc), (q, adam)):
            param.grad = torch.tensor(grad)
            opt.step()
        torch.testing.assert_close(p, q)


def _iterate(epochs: int, **options) -> torch.Tensor:
    """The weights after ``epochs`` one-step epochs (batch_size >= n: every window, every step)."""
    return _flat(_train(_model(), epochs=epochs, batch_size=64, **options))


def test_ema_zero_keeps_the_last_iterate_and_ema_the_bias_corrected_average():
    theta = [_iterate(t) for t in (1, 2, 3)]
    assert torch.equal(_iterate(3, ema=0.0), theta[2])
    # b = 0.5, t = 3: weights (1 - b) b^(3 - s) = 1/8, 1/4, 1/2, over 1 - b^3 = 7/8.
    expected = (theta[0] + 2 * theta[1] + 4 * theta[2]) / 7
    averaged = _iterate(3, ema=0.5)
    torch.testing.assert_close(averaged, expected, rtol=1e-6, atol=1e-7)
    assert not torch.allclose(averaged, theta[2])


@pytest.mark.parametrize("optimizer", ["sgd", "adam_bc"])
def test_ema_works_with_every_optimizer(optimizer):
    assert torch.isfinite(_iterate(2, optimizer=optimizer, ema=0.9)).all()


def test_the_defaults_keep_todays_behaviour():
    gp = load_params(PARAMS).privacy.gp
    assert (gp.optimizer, gp.momentum, gp.ema) == ("adam", 0.9, 0.0)
    assert torch.equal(_flat(_train(_model())), _flat(_train(_model(), optimizer="adam", ema=0.0)))


@pytest.mark.parametrize("gp,name", [
    ({"optimizer": "rmsprop"}, "privacy.gp.optimizer"),
    ({"optimizer": 3}, "privacy.gp.optimizer"),
    ({"ema": 1.0}, "privacy.gp.ema"),
    ({"ema": -0.1}, "privacy.gp.ema"),
    ({"ema": "0.9"}, "privacy.gp.ema"),
    ({"momentum": 1.0}, "privacy.gp.momentum"),
    ({"momentum": -0.5}, "privacy.gp.momentum"),
])
def test_bad_options_are_refused_by_name(gp, name):
    with pytest.raises(ConfigError, match=name):
        load_params(PARAMS, privacy={"gp": gp})


def test_the_options_reach_mlflow_params_the_stream_and_the_ledger_key():
    base = load_params(PARAMS, privacy={"mode": "gp"}, features={"scaling": "log"})
    other = load_params(PARAMS, privacy={"mode": "gp", "gp": {"optimizer": "adam_bc", "ema": 0.99}},
                        features={"scaling": "log"})
    flat = flat_params(other, "gru")
    assert (flat["privacy.gp.optimizer"], flat["privacy.gp.momentum"], flat["privacy.gp.ema"]) == ("adam_bc", 0.9, 0.99)
    assert flat["train.residual"] is True  # auto, resolved under DP-SGD
    contexts = [_gp_context(p, "gru", 0, "md5", 1.0, "cpu") for p in (base, other)]
    assert contexts[0] != contexts[1] and contexts[1]["gp"]["optimizer"] == "adam_bc" and contexts[1]["gp"]["ema"] == 0.99
    keys = {_ledger_key(KEY, c) for c in contexts}
    assert len(keys) == 2
    assert _ledger_key(KEY, contexts[0]) == _ledger_key(KEY, _gp_context(base, "gru", 0, "md5", 1.0, "cpu"))
    # without the owner's key every run is fresh randomness, so its ledger key is fresh too
    assert _ledger_key(None, contexts[0]) != _ledger_key(None, contexts[0])
