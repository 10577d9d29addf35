"""The training loop: determinism on CPU, early stopping, and the test set kept out."""

from __future__ import annotations

import numpy as np
import torch

from dpforecast.models.forecaster import Forecaster, ModelSpec
from dpforecast.training.device import seed_everything
from dpforecast.training.loop import LoopConfig, fit, predict


def _data(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 6, 10)).astype(np.float32)
    y = (x[:, -1, :6] * 2 + 1).astype(np.float32)
    return x, y


def _train(seed: int, cfg: LoopConfig, validation=None):
    seed_everything(seed)
    model = Forecaster(ModelSpec("gru", 8, "tanh", 6, 10, 6))
    result = fit(model, _data(64), validation, cfg, torch.device("cpu"), progress=False)
    return model, result


def test_same_seed_same_weights_on_cpu():
    cfg = LoopConfig(epochs=3, batch_size=8, learning_rate=1e-2, seed=1)
    a, ra = _train(1, cfg)
    b, rb = _train(1, cfg)
    for (k, va), (_, vb) in zip(a.state_dict().items(), b.state_dict().items(), strict=True):
        assert torch.equal(va, vb), k
    assert ra.history == rb.history
    c, _ = _train(2, LoopConfig(epochs=3, batch_size=8, learning_rate=1e-2, seed=2))
    assert not torch.equal(a.head.weight, c.head.weight)


def test_training_lowers_the_loss():
    _, result = _train(0, LoopConfig(epochs=30, batch_size=16, learning_rate=1e-2))
    assert result.history[-1]["train_loss"] < 0.5 * result.history[0]["train_loss"]


def test_early_stopping_keeps_the_best_validation_epoch():
    cfg = LoopConfig(epochs=40, batch_size=16, learning_rate=5e-2, patience=2)
    model, result = _train(0, cfg, validation=_data(32, seed=9))
    val = [h["val_loss"] for h in result.history]
    assert result.best_epoch == int(np.argmin(val)) + 1
    if result.stopped_early:
        assert len(val) - result.best_epoch == 2
    # The kept weights are those of the best epoch.
    from torch import nn

    x, y = (torch.as_tensor(a) for a in _data(32, seed=9))
    with torch.no_grad():
        loss = nn.L1Loss()(model.forward_scaled(x), model.scale_targets(y)).item()
    assert abs(loss - min(val)) < 1e-5


def test_predict_returns_raw_counts_for_every_zone():
    model, _ = _train(0, LoopConfig(epochs=1, batch_size=16, learning_rate=1e-3))
    out = predict(model, _data(10)[0], torch.device("cpu"), batch=3)
    assert out.shape == (10, 1, 6) and (out >= 0).all()
