"""Test-only seam of the canary audit: DP-SGD's batches and clipping WITHOUT noise.

It deliberately does not go through ``private_optimizer`` (which refuses zero noise): it is
what a "private" run that forgot its noise would do, and the audit must catch it. It lives
under tests/ so that no command or pipeline stage can import it.
"""

from __future__ import annotations

import time

import numpy as np
import torch

from dpforecast.models.forecaster import Forecaster
from dpforecast.privacy.randomness import SecretStream
from dpforecast.training.cell_gradients import CellGradients
from dpforecast.training.dp_sgd import Spend, poisson_batch, sample_loss
from dpforecast.training.loop import LoopConfig, TrainResult


def fit_clipped_without_noise(model: Forecaster, train: tuple[np.ndarray, np.ndarray], cfg: LoopConfig,
                              noise_multiplier: float, max_grad_norm: float,
                              device: torch.device, stream: SecretStream) -> tuple[TrainResult, Spend]:
    """``fit_private`` with the noise left out (``noise_multiplier`` is ignored): same Poisson
    batches (drawn from ``stream``, as ``fit_private`` draws them), per-sample clipping,
    division by the expected batch size and Adam."""
    start = time.perf_counter()
    engine = CellGradients()
    model.to(device).train()
    x, y = torch.as_tensor(train[0], device=device), torch.as_tensor(train[1], device=device)
    n = len(x)
    sample_rate = min(1.0, cfg.batch_size / n)
    steps_per_epoch = max(1, round(1 / sample_rate))
    optimiser = torch.optim.Adam(model.parameters(), lr=cfg.learning_rate)
    loss = sample_loss(cfg.loss)
    result = TrainResult()
    try:
        for epoch in range(1, cfg.epochs + 1):
            for _ in range(steps_per_epoch):
                idx = poisson_batch(n, sample_rate, stream).to(device)
                if len(idx) == 0:
                    continue
                optimiser.zero_grad(set_to_none=True)
                engine.clipped_gradient_sum(model, loss, x[idx], y[idx], max_grad_norm)
                for p in model.parameters():
                    p.grad = p.grad / cfg.batch_size
                optimiser.step()
            result.history.append({"steps": float(epoch * steps_per_epoch)})
    finally:
        engine.release(model)
    model.eval()
    result.best_epoch = len(result.history)
    result.seconds = time.perf_counter() - start
    return result, Spend(sample_rate, steps_per_epoch * cfg.epochs, 0.0, max_grad_norm)
