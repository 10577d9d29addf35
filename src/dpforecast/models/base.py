"""What every forecaster is to the rest of dpforecast: ``fit`` on windows, ``predict`` windows.

Networks, the baselines a forecaster tries first (persistence, seasonal naive, ridge) and
the field's (statistical methods, a zero-shot model) share this base, so the in-memory API, evaluation and backtests treat them alike and
compare them on the same windows. A model sees :class:`Windows`, never a file: the
feature table, the index of the windows and their arrays travel together, so a baseline
that reads the calendar (seasonal naive) and one that reads the arrays (ridge) are fitted
and scored on exactly the same windows.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import polars as pl

from dpforecast.config import Params
from dpforecast.features.windows import index_arrays


@dataclass(frozen=True)
class Windows:
    """Windows over one feature table: inputs ``x`` ``(n, window, features)`` and targets
    ``y`` ``(n, horizon, zones)`` (NaN where the targets are in the future)."""

    table: pl.DataFrame  # timestamp, the zones' counts, the calendar features
    index: pl.DataFrame  # one row per window: start_row, target_row (lead 1), target_time
    x: np.ndarray
    y: np.ndarray
    zones: tuple[str, ...]
    interval_minutes: int

    @classmethod
    def of(cls, table: pl.DataFrame, index: pl.DataFrame, window: int, horizon: int, zones: Sequence[str],
           interval_minutes: int, targets: pl.DataFrame | None = None) -> Windows:
        """The arrays of ``index``'s windows: targets from ``targets`` (raw counts) when
        given, else from ``table``; a target row past the table's end is NaN."""
        x, y = index_arrays(table, index, window, horizon, list(zones), targets)
        return cls(table, index, x, y, tuple(zones), interval_minutes)

    def __len__(self) -> int:
        return len(self.x)

    @property
    def horizon(self) -> int:
        return self.y.shape[1]

    def take(self, rows: slice | np.ndarray) -> Windows:
        """A subset of the windows (a slice or positions), over the same table."""
        positions = np.arange(len(self))[rows]
        return Windows(self.table, self.index[positions], self.x[positions], self.y[positions], self.zones,
                       self.interval_minutes)


@dataclass(frozen=True)
class Forecast:
    """Point forecasts ``(n, horizon, zones)`` and the intervals the method gives itself
    (statistical models' prediction intervals, a zero-shot model's quantiles): level ->
    ``(lower, upper)``, each shaped like ``mean``; none for a model without them (its
    intervals, if any, are calibrated on a held-out block: :mod:`dpforecast.models.conformal`)."""

    mean: np.ndarray
    bounds: dict[float, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    source: str = ""  # what the intervals are, in words


@dataclass
class FitSummary:
    """How one model's fit went (typed, the same for every model)."""

    seconds: float = 0.0
    history: list[dict[str, float]] = field(default_factory=list)
    best_epoch: int | None = None
    stopped_early: bool = False
    details: dict[str, Any] = field(default_factory=dict)  # model-specific, JSON types (e.g. ridge's penalty)


class Callback:
    """Hooks a fit calls (MLflow logging is one: :class:`dpforecast.tracking.mlflow_callback.MLflowLogger`).
    Every hook does nothing unless overridden."""

    def on_fit_start(self, model: str, settings: Mapping[str, Any]) -> None:
        """Before ``model`` reads a window, with the settings that shape it."""

    def on_epoch_end(self, model: str, epoch: int, metrics: Mapping[str, float]) -> None:
        """After each epoch of a network (train and validation loss, steps)."""

    def on_fit_end(self, model: str, summary: FitSummary, guarantee: Mapping[str, Any]) -> None:
        """After the fit, with its privacy guarantee (a privacy report's JSON)."""


@dataclass(frozen=True)
class FitContext:
    """What a fit needs beyond its windows: the resolved parameters, the seed, the hooks."""

    params: Params
    seed: int = 0
    callbacks: tuple[Callback, ...] = ()
    progress: bool = False
    data_version: str = ""  # what a private fit's ledger entry names as its data (the owner's ledger only)


class Model(ABC):
    """A forecaster of every zone at every lead of the horizon."""

    #: True for a model whose fit runs its own private mechanism (DP-SGD); a baseline fitted
    #: on raw counts is covered only when its input is itself private (a noisy release).
    trains_privately: ClassVar[bool] = False
    #: The model's name unless an alias is given.
    default_name: ClassVar[str]

    def __init__(self, alias: str | None = None) -> None:
        self.alias = alias

    @property
    def name(self) -> str:
        """The model's column in forecasts and metrics (unique within one DPForecast)."""
        return self.alias or self.default_name

    @abstractmethod
    def fit(self, train: Windows, validation: Windows, context: FitContext) -> FitSummary:
        """Fit on ``train``; ``validation`` may stop or select (never the test windows)."""

    @abstractmethod
    def predict(self, windows: Windows) -> np.ndarray:
        """``(n, horizon, zones)`` forecasts, NaN where the model has none."""

    def forecast(self, windows: Windows) -> Forecast:
        """:meth:`predict` with the method's own intervals, where it has any (none here)."""
        return Forecast(self.predict(windows))

    def config(self) -> dict[str, Any]:
        """The constructor's arguments, JSON types: what :meth:`save` writes to rebuild it."""
        return {"alias": self.alias}

    def save(self, folder: Path) -> None:
        """Write what :meth:`fit` learned into ``folder`` (nothing for a rule)."""
        return None

    def load(self, folder: Path) -> None:
        """Read back what :meth:`save` wrote."""
        return None
