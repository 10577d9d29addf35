"""The training loop: Adam on MAE (or MSE), optional shuffling, early stopping on validation.

The test set never reaches this module: early stopping and the best-epoch choice use the
validation windows given (the train stage passes the validation block's first half);
with no validation block the last epoch's weights are kept.

A tanh model trains on a fused ``nn.GRU``/``nn.LSTM`` copy of itself (the same function in
PyTorch's kernels instead of a Python loop over time steps) and gets the kept weights back
at the end; relu has no fused kernel and trains our cells directly.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from dpforecast.models.forecaster import Forecaster
from dpforecast.models.fused import FusedForecaster

EpochCallback = Callable[[int, dict[str, float]], None]
# What the loop optimises: the model itself, or its fused copy (same forward_scaled/scale_targets).
Trainee = Forecaster | FusedForecaster


@dataclass(frozen=True)
class LoopConfig:
    epochs: int
    batch_size: int
    learning_rate: float
    loss: str = "mae"
    shuffle: bool = True
    patience: int = 0
    seed: int = 0


@dataclass
class TrainResult:
    history: list[dict[str, float]] = field(default_factory=list)
    best_epoch: int = 0
    stopped_early: bool = False
    seconds: float = 0.0


def _loss_fn(name: str) -> nn.Module:
    return nn.L1Loss() if name == "mae" else nn.MSELoss()


@torch.no_grad()
def _evaluate_loss(model: Trainee, x: torch.Tensor, y: torch.Tensor, loss: nn.Module, batch: int) -> float:
    model.eval()
    total = 0.0
    for i in range(0, len(x), batch):
        xb, yb = x[i : i + batch], y[i : i + batch]
        total += float(loss(model.forward_scaled(xb), model.scale_targets(yb))) * len(xb)
    return total / len(x)


def fit(
    model: Forecaster,
    train: tuple[np.ndarray, np.ndarray],
    validation: tuple[np.ndarray, np.ndarray] | None,
    cfg: LoopConfig,
    device: torch.device,
    on_epoch: EpochCallback | None = None,
    progress: bool = True,
) -> TrainResult:
    """Train ``model`` in place; return the per-epoch history and the epoch kept."""
    start = time.perf_counter()
    model.to(device)
    trainee: Trainee = FusedForecaster.from_forecaster(model) if model.spec.activation == "tanh" else model
    x = torch.as_tensor(train[0], device=device)
    y = torch.as_tensor(train[1], device=device)
    has_val = validation is not None and len(validation[0]) > 0
    if has_val:
        xv = torch.as_tensor(validation[0], device=device)
        yv = torch.as_tensor(validation[1], device=device)
    loss_fn = _loss_fn(cfg.loss)
    optimiser = torch.optim.Adam([p for p in trainee.parameters() if p.requires_grad], lr=cfg.learning_rate)
    order_gen = torch.Generator().manual_seed(cfg.seed)
    result = TrainResult()
    best_val, best_state, since_best = float("inf"), None, 0
    bar = tqdm(range(1, cfg.epochs + 1), desc=model.spec.architecture, unit="epoch", disable=not progress)
    for epoch in bar:
        trainee.train()
        order = torch.randperm(len(x), generator=order_gen) if cfg.shuffle else torch.arange(len(x))
        running = 0.0
        for i in range(0, len(x), cfg.batch_size):
            idx = order[i : i + cfg.batch_size].to(device)
            xb, yb = x[idx], y[idx]
            optimiser.zero_grad(set_to_none=True)
            loss = loss_fn(trainee.forward_scaled(xb), trainee.scale_targets(yb))
            loss.backward()
            optimiser.step()
            running += float(loss.detach()) * len(idx)
        row = {"train_loss": running / len(x)}
        if has_val:
            row["val_loss"] = _evaluate_loss(trainee, xv, yv, loss_fn, 1024)
        result.history.append(row)
        bar.set_postfix({k: f"{v:.4g}" for k, v in row.items()})
        if on_epoch is not None:
            on_epoch(epoch, row)
        if has_val:
            if row["val_loss"] < best_val:
                best_val, since_best, result.best_epoch = row["val_loss"], 0, epoch
                best_state = copy.deepcopy(trainee.state_dict())
            else:
                since_best += 1
                if cfg.patience and since_best >= cfg.patience:
                    result.stopped_early = True
                    break
    if best_state is not None:
        trainee.load_state_dict(best_state)
    else:
        result.best_epoch = len(result.history)
    if isinstance(trainee, FusedForecaster):
        trainee.copy_to(model)
    model.eval()
    result.seconds = time.perf_counter() - start
    return result


@torch.no_grad()
def predict(model: Forecaster, x: np.ndarray, device: torch.device, batch: int = 1024) -> np.ndarray:
    """Raw-count forecasts (clipped at 0) ``(n, horizon, zones)`` for windows ``x``."""
    model.eval().to(device)
    out = [model(torch.as_tensor(x[i : i + batch], device=device)).cpu().numpy() for i in range(0, len(x), batch)]
    return np.concatenate(out) if out else np.zeros((0, model.spec.horizon, model.spec.n_targets), np.float32)
