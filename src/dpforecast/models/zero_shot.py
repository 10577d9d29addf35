"""A zero-shot foundation model as a baseline: Fracast-0 (the ``fracast`` package).

What a forecaster that was never trained on these counts does: 85,001 parameters pretrained
on public corpora (GIFT-Eval's pretraining set, LOTSA, Chronos's and fev's data sets, BOOM,
TinyCast synthetic series; Apache-2.0), whose weights ship inside the ``fracast`` wheel, so
they install from the package index and load without a network. Nothing is fitted: each
window is forecast from each zone's last ``context`` steps before its origin on the regular
grid (:mod:`dpforecast.models.regular`; an absent step is left missing, which the model
masks), every window and zone one row of a batch. The point forecast is the median of its
nine quantiles (0.1 ... 0.9); the 0.1 and 0.9 quantiles are its 80% interval (it has no
95%). It reads the series the models train on: the noisy release under input perturbation
(post-processing), the raw counts otherwise.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from dpforecast.features.windows import target_rows
from dpforecast.models.base import FitContext, FitSummary, Forecast, Model, Windows
from dpforecast.models.regular import regular_series

#: The model's native context (its config's ``W``) and the rows forecast at once.
CONTEXT = 2048
BATCH = 256
_LEAST = 8  # finite steps the model needs in a context


class Fracast(Model):
    """Fracast-0's bundled weights (``fp32`` or its int8 ``w8``), zero-shot."""

    default_name = "fracast"

    def __init__(self, weights: str = "fp32", context: int = CONTEXT, alias: str | None = None) -> None:
        if weights not in ("fp32", "w8"):
            raise ValueError(f"Fracast: weights {weights!r} is not fp32 or w8")
        if not 1 <= context <= CONTEXT:
            raise ValueError(f"Fracast: context {context} is not between 1 and the model's {CONTEXT} steps")
        super().__init__(alias)
        self.weights, self.context = weights, context
        self._model: Any = None

    def config(self) -> dict[str, Any]:
        return {**super().config(), "weights": self.weights, "context": self.context}

    def loaded(self) -> Any:
        """The pretrained model, read from the installed package once."""
        if self._model is None:
            import torch
            from fracast import FracastModel

            self._model = FracastModel.from_pretrained(weights=self.weights, device=torch.device("cpu"))
        return self._model

    def fit(self, train: Windows, validation: Windows, context: FitContext) -> FitSummary:
        began = time.perf_counter()
        model = self.loaded()
        parameters = sum(p.numel() for m in (model.core, model.head) for p in m.parameters())
        return FitSummary(seconds=time.perf_counter() - began, details={
            "zero_shot": True, "weights": f"fracast {_version()} bundled {self.weights}", "parameters": int(parameters),
            "context": self.context})

    def predict(self, windows: Windows) -> np.ndarray:
        return self.forecast(windows).mean

    def forecast(self, windows: Windows) -> Forecast:
        model = self.loaded()
        rows = target_rows(windows.index, windows.horizon)
        n, h, k = len(windows), windows.horizon, len(windows.zones)
        mean, lower, upper = (np.full((n, h, k), np.nan) for _ in range(3))
        if n:
            last_origin = int(rows[:, 0].max()) - 1  # no count after the last origin is read
            series = regular_series(windows.table, list(windows.zones), windows.interval_minutes, read=last_origin + 1)
            origins, ahead = series.lead_steps(rows)
            padded = np.concatenate([np.full((self.context, k), np.nan), series.values])
            # contexts[i, :, z]: the context steps ending at window i's origin (padding before the series' start)
            picks = origins[:, None] + 1 + np.arange(self.context)[None, :]
            contexts = np.transpose(padded[picks], (0, 2, 1)).reshape(n * k, self.context).astype(np.float32)
            usable = np.isfinite(contexts).sum(axis=1) >= _LEAST
            steps = int(ahead.max())
            quantiles = np.full((n * k, steps, len(model.quantiles)), np.nan, np.float32)
            chosen = np.flatnonzero(usable)
            for first in range(0, len(chosen), BATCH):
                batch = chosen[first:first + BATCH]
                quantiles[batch] = model.forecast_batch(contexts[batch], horizon=steps)
            levels = np.asarray(model.quantiles)
            q = quantiles.reshape(n, k, steps, len(levels)).transpose(0, 2, 1, 3)  # (n, steps, zones, quantiles)
            at = np.take_along_axis(q, (ahead - 1)[:, :, None, None], axis=1)
            mean = at[..., int(np.argmin(np.abs(levels - 0.5)))].astype(np.float64)
            lower = at[..., int(np.argmin(np.abs(levels - 0.1)))].astype(np.float64)
            upper = at[..., int(np.argmin(np.abs(levels - 0.9)))].astype(np.float64)
        return Forecast(mean, {0.8: (np.clip(lower, 0.0, None), upper)},
                        "Fracast-0's 0.1 and 0.9 quantiles (zero-shot, not calibrated here)")


def _version() -> str:
    from importlib.metadata import version

    return version("fracast")
