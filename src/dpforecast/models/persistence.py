"""The persistence baseline: every future count is the last observed count."""

from __future__ import annotations

import numpy as np

from dpforecast.models.base import FitContext, FitSummary, Model, Windows


def persistence_forecast(x: np.ndarray, n_zones: int, horizon: int = 1) -> np.ndarray:
    """``(n, horizon, zones)``: each window's last input counts (features are ordered zones
    first), repeated at every lead."""
    return np.repeat(x[:, -1:, :n_zones], horizon, axis=1)


class Persistence(Model):
    """The last observed count, at every lead: the first thing any forecaster tries."""

    default_name = "persistence"

    def fit(self, train: Windows, validation: Windows, context: FitContext) -> FitSummary:
        return FitSummary()

    def predict(self, windows: Windows) -> np.ndarray:
        return persistence_forecast(windows.x, len(windows.zones), windows.horizon)
