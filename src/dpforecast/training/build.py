"""A forecaster and its loop settings as the parameters configure one architecture.

One definition for the train stage, the in-memory API's networks, the privacy audit and
the benchmarks, so every entry point builds the same model from the same parameters.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from dpforecast.config import Params
from dpforecast.features.scaling import Scaler
from dpforecast.models.forecaster import Forecaster, ModelSpec
from dpforecast.training.device import seed_everything
from dpforecast.training.loop import LoopConfig


def build_model(params: Params, arch: str, x_train: np.ndarray, y_train: np.ndarray, n_zones: int,
                seed: int) -> tuple[Forecaster, LoopConfig]:
    """The untrained forecaster and its loop settings, as ``params`` configure ``arch``."""
    units, batch, lr = params.hyper(arch)
    n_features = x_train.shape[-1]
    if params.features.scaling == "standard":
        scaler = Scaler.fit(x_train, y_train, n_counts=n_zones)
    elif params.features.scaling == "log":
        scaler = Scaler.log_counts(n_features, n_zones)
    else:
        scaler = Scaler.identity(n_features, n_zones)
    spec = ModelSpec(arch, units, params.train.activation, params.features.window, n_features, n_zones,
                     log_counts=params.features.scaling == "log", residual=params.residual(),
                     horizon=params.features.horizon, season=params.residual_season())
    seed_everything(seed)
    model = Forecaster(spec, scaler, keras_init=params.train.keras_init)
    loop = LoopConfig(epochs=params.train.epochs, batch_size=batch, learning_rate=lr, loss=params.train.loss,
                      shuffle=params.train.shuffle, patience=params.train.patience, seed=seed)
    return model, loop


def private_options(params: Params) -> dict[str, Any]:
    """``fit_private``'s DP-aware training options from ``privacy.gp``."""
    gp = params.privacy.gp
    return {"optimizer": gp.optimizer, "momentum": gp.momentum, "ema": gp.ema}
