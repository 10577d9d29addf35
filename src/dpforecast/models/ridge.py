"""The linear autoregressive baseline: ridge regression on the same windows the networks see.

The flattened window (every zone's counts and the calendar features at every input step)
maps to every zone's counts at every lead (one linear map per lead and zone, fitted at once),
with an L2 penalty chosen on the validation block
(the test block is never used). If a recurrent network cannot beat this, its depth buys
nothing. It is fitted on the series the models train on (the noisy release in ``ip``
mode) and is a non-private baseline like persistence.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from dpforecast.models.base import FitContext, FitSummary, Model, Windows

ALPHAS = (0.001, 0.01, 0.1, 1.0, 10.0, 100.0)


@dataclass(frozen=True)
class RidgeFit:
    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: np.ndarray
    alpha: float
    target_shape: tuple[int, ...]  # (horizon, zones)

    def predict(self, x: np.ndarray) -> np.ndarray:
        z = (x.reshape(len(x), -1).astype(np.float64) - self.mean) / self.scale
        return np.clip(z @ self.coef + self.intercept, 0.0, None).reshape(len(x), *self.target_shape)


def fit_ridge(x: np.ndarray, y: np.ndarray, alpha: float) -> RidgeFit:
    """Closed-form ridge on standardised inputs (a constant input gets scale 1)."""
    flat = x.reshape(len(x), -1).astype(np.float64)
    mean, scale = flat.mean(axis=0), flat.std(axis=0)
    scale[scale == 0] = 1.0
    z = (flat - mean) / scale
    target = y.reshape(len(y), -1).astype(np.float64)
    intercept = target.mean(axis=0)
    coef = np.linalg.solve(z.T @ z + alpha * np.eye(z.shape[1]), z.T @ (target - intercept))
    return RidgeFit(mean, scale, coef, intercept, alpha, tuple(y.shape[1:]))


def select_ridge(train: tuple[np.ndarray, np.ndarray], validation: tuple[np.ndarray, np.ndarray]) -> RidgeFit:
    """The penalty with the lowest validation RMSE (1.0 without a validation block), refitted."""
    x, y = train
    if len(validation[0]) == 0:
        return fit_ridge(x, y, 1.0)

    def rmse(alpha: float) -> float:
        pred = fit_ridge(x, y, alpha).predict(validation[0])
        return float(np.sqrt(np.mean((pred - validation[1]) ** 2)))

    return fit_ridge(x, y, min(ALPHAS, key=rmse))


class Ridge(Model):
    """Ridge regression on the flattened window, its penalty chosen on the validation windows."""

    default_name = "ridge"

    def __init__(self, alias: str | None = None) -> None:
        super().__init__(alias)
        self.fitted: RidgeFit | None = None

    def fit(self, train: Windows, validation: Windows, context: FitContext) -> FitSummary:
        start = time.perf_counter()
        self.fitted = select_ridge((train.x, train.y), (validation.x, validation.y))
        return FitSummary(seconds=time.perf_counter() - start, details={"alpha": self.fitted.alpha})

    def predict(self, windows: Windows) -> np.ndarray:
        if self.fitted is None:
            raise ValueError(f"{self.name}: predict before fit")
        return self.fitted.predict(windows.x)

    def save(self, folder: Path) -> None:
        if self.fitted is None:
            raise ValueError(f"{self.name}: save before fit")
        folder.mkdir(parents=True, exist_ok=True)
        arrays = {k: np.asarray(v) for k, v in asdict(self.fitted).items()}
        with (folder / "ridge.npz").open("wb") as f:
            np.savez(f, **arrays)

    def load(self, folder: Path) -> None:
        with np.load(folder / "ridge.npz", allow_pickle=False) as data:
            self.fitted = RidgeFit(data["mean"], data["scale"], data["coef"], data["intercept"], float(data["alpha"]),
                                   tuple(int(v) for v in data["target_shape"]))
