"""Per-feature standardisation, fitted on training windows only and saved with the model."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# log1p of people counts in urban zones spans about 4.6 (100) to 13.8 (10^6): generic
# constants, not fitted on any data.
LOG_CENTRE, LOG_SCALE = 9.0, 2.0


@dataclass(frozen=True)
class Scaler:
    x_mean: np.ndarray
    x_std: np.ndarray
    y_mean: np.ndarray
    y_std: np.ndarray

    @staticmethod
    def identity(n_features: int, n_targets: int) -> Scaler:
        return Scaler(
            np.zeros(n_features, np.float32),
            np.ones(n_features, np.float32),
            np.zeros(n_targets, np.float32),
            np.ones(n_targets, np.float32),
        )

    @staticmethod
    def log_counts(n_features: int, n_targets: int) -> Scaler:
        """Fixed centring and scale of log1p counts (``features.scaling: log``)."""
        x_mean = np.zeros(n_features, np.float32)
        x_std = np.ones(n_features, np.float32)
        x_mean[:n_targets], x_std[:n_targets] = LOG_CENTRE, LOG_SCALE
        y_mean = np.full(n_targets, LOG_CENTRE, np.float32)
        return Scaler(x_mean, x_std, y_mean, np.full(n_targets, LOG_SCALE, np.float32))

    @staticmethod
    def fit(x_train: np.ndarray, y_train: np.ndarray, n_counts: int) -> Scaler:
        """Standardise the count features and targets (per zone, over every lead); calendar
        features are already in [-1, 1]."""
        flat = x_train.reshape(-1, x_train.shape[-1]).astype(np.float64)
        x_mean = np.zeros(flat.shape[1])
        x_std = np.ones(flat.shape[1])
        x_mean[:n_counts] = flat[:, :n_counts].mean(axis=0)
        x_std[:n_counts] = flat[:, :n_counts].std(axis=0)
        targets = y_train.reshape(-1, y_train.shape[-1]).astype(np.float64)
        y_mean, y_std = targets.mean(axis=0), targets.std(axis=0)
        x_std[x_std == 0] = 1.0
        y_std[y_std == 0] = 1.0
        f32 = np.float32
        return Scaler(x_mean.astype(f32), x_std.astype(f32), y_mean.astype(f32), y_std.astype(f32))
