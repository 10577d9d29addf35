"""The field's statistical baselines (statsforecast): AutoETS, MSTL and AutoARIMA, per zone.

The protocol: each zone's model is chosen and fitted on the history the fit is given (every
step up to the last target of the training and validation windows, on the regular grid of
:mod:`dpforecast.models.regular`), so no test count shapes it. A window is then forecast
from what was known at its origin: the fitted model is run forward (statsforecast's
``forward``: the fitted parameters and initial state, filtered through the zone's counts up
to the origin) to the window's leads, with the method's own 80% and 95% prediction
intervals. AutoETS and AutoARIMA are fitted once (a model search per zone and origin would
cost minutes; filtering is the state-space way to take in new counts). MSTL is refitted at
the start of each day after the fitted history, on its last ``HISTORY_WEEKS`` weeks up to
there, and filtered forward within the day: its seasonal components are the last fit's,
repeated past its end as MSTL forecasts them, its AutoETS trend filtered through the
deseasonalised counts. Decomposing once and filtering a whole test week scored worse than
seasonal naive a day ahead on Montreuil (MAE 1,550 against 1,452 at midnight origins;
refitted at each origin, 1,396).

Seasons are one day and one week in steps of the data set's interval. ETS has no seasonal
model beyond 24 steps (statsforecast, like R's ``forecast::ets``, searches 17 times longer to
drop it), so at 30 minutes (48 steps a day) AutoETS is non-seasonal and the daily and weekly
patterns are MSTL's (a season needs two full cycles of its history). AutoARIMA's seasonal
search at a daily season takes minutes per zone: it is opt-in (``evaluate.baselines``).

They fit the series the models train on (``Windows.table``): the noisy release under input
perturbation, so their forecasts are post-processing covered by its guarantee; the raw
counts otherwise, non-private baselines beside DP-SGD. statsforecast is imported on first
fit, so the rest of the package does not pay for it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from dpforecast.features.windows import target_rows
from dpforecast.models.base import FitContext, FitSummary, Forecast, Model, Windows
from dpforecast.models.regular import RegularSeries, causal_fill, first_counts, regular_series

LEVELS = (80, 95)
#: MSTL's history: the last weeks before each fit (its cost grows with them).
HISTORY_WEEKS = 8
#: The longest season ETS models (statsforecast, like R's forecast::ets).
ETS_MAX_SEASON = 24
_DAY_MINUTES = 1440


def seasons(interval_minutes: int) -> tuple[int, int]:
    """One day and one week in steps of ``interval_minutes``."""
    if _DAY_MINUTES % interval_minutes:
        raise ValueError(f"an interval of {interval_minutes} minutes does not divide a day into whole steps")
    day = _DAY_MINUTES // interval_minutes
    return day, 7 * day


@dataclass
class ZoneFit:
    """One zone's fitted model: the statsforecast object, the grid step its history starts
    at, and (MSTL) the fitted seasonal components ``(seasons, steps)`` with their periods."""

    model: Any
    start: int
    seasonal: np.ndarray | None = None
    periods: tuple[int, ...] = ()

    def seasonal_at(self, steps: np.ndarray) -> np.ndarray:
        """The seasonal components' sum at grid ``steps`` from ``start``: the fit's own
        inside it, each component's last cycle repeated after it."""
        if self.seasonal is None:
            return np.zeros(len(steps))
        n = self.seasonal.shape[1]
        out = np.zeros(len(steps))
        for component, period in zip(self.seasonal, self.periods, strict=True):
            source = np.where(steps < n, steps, n - period + (steps - n) % period)
            out += component[source]
        return out


class StatisticalModel(Model):
    """A statsforecast model per zone, fitted once, run forward to each window's origin."""

    #: The method's name in the intervals' description.
    method: ClassVar[str]
    #: Refit at each day's start (grid days from the series' first row) after the fitted
    #: history, on everything up to it, then filter forward within the day; else fit once.
    refit_daily: ClassVar[bool] = False
    #: The most grid steps a fit reads (the last ones), None: all.
    max_history: int | None = None

    def __init__(self, alias: str | None = None) -> None:
        super().__init__(alias)
        self.fits: dict[str, ZoneFit] = {}
        self.interval_minutes = self.fit_end = 0

    def new(self, history: int, interval_minutes: int) -> tuple[Any, tuple[int, ...]]:
        """An unfitted statsforecast model for ``history`` steps, and its seasons."""
        raise NotImplementedError

    def fit(self, train: Windows, validation: Windows, context: FitContext) -> FitSummary:
        began = time.perf_counter()
        last = max(int(target_rows(w.index, w.horizon).max()) for w in (train, validation) if len(w))
        series = regular_series(train.table, list(train.zones), train.interval_minutes, read=last + 1)
        self.interval_minutes, self.fits = train.interval_minutes, {}
        self.fit_end = int(series.position[last])
        values = causal_fill(series.values[:self.fit_end + 1], seasons(train.interval_minutes)[0])
        starts = first_counts(values)
        for k, zone in enumerate(train.zones):
            self.fits[zone] = self.fit_zone(values[:, k], int(starts[k]), self.fit_end, zone)
        return FitSummary(seconds=time.perf_counter() - began, details={
            "history_steps": int(len(values) - min(f.start for f in self.fits.values())),
            "models": {zone: self.describe(f.model) for zone, f in self.fits.items()}})

    def fit_zone(self, values: np.ndarray, first: int, end: int, zone: str) -> ZoneFit:
        """One zone's model on its filled counts ``values`` from ``first`` (its first count, or
        ``max_history`` steps before the end) to grid step ``end``."""
        start = first if self.max_history is None else max(first, end + 1 - self.max_history)
        y = values[start:end + 1]
        model, periods = self.new(len(y), self.interval_minutes)
        try:
            model.fit(y)
        except Exception as exc:  # statsforecast raises bare Exceptions
            raise ValueError(f"{self.name}: cannot fit zone {zone} on {len(y)} steps: {exc}") from exc
        return self.zone_fit(model, start, periods)

    def zone_fit(self, model: Any, start: int, periods: tuple[int, ...]) -> ZoneFit:
        return ZoneFit(model, start)

    def describe(self, model: Any) -> str:
        """The model the method chose for a zone, in its own notation."""
        return self.method

    def forward(self, fit: ZoneFit, y: np.ndarray, h: int) -> dict[str, np.ndarray]:
        """``h`` steps after ``y`` (the zone's filled counts from ``fit.start`` to the
        origin): ``mean``, ``lo-80``, ``hi-80``, ``lo-95``, ``hi-95``."""
        return fit.model.forward(y=y, h=h, level=list(LEVELS))

    def predict(self, windows: Windows) -> np.ndarray:
        return self.forecast(windows).mean

    def forecast(self, windows: Windows) -> Forecast:
        if not self.fits:
            raise ValueError(f"{self.name}: predict before fit")
        rows = target_rows(windows.index, windows.horizon)
        n, h, zones = len(windows), windows.horizon, list(windows.zones)
        mean = np.full((n, h, len(zones)), np.nan)
        bounds = {level: (mean.copy(), mean.copy()) for level in LEVELS}
        if n == 0:
            return self._result(mean, bounds)
        # Only rows up to the last origin are read: no target of any window beyond it.
        last_origin = int(rows[:, 0].max()) - 1
        series = regular_series(windows.table, zones, windows.interval_minutes, read=last_origin + 1)
        values = causal_fill(series.values, seasons(windows.interval_minutes)[0])
        origins, ahead = RegularSeries(values, series.position).lead_steps(rows)
        day = seasons(windows.interval_minutes)[0]
        starts = first_counts(values)
        for k, zone in enumerate(zones):
            refits = {self.fit_end: self.fits[zone]}
            for i, (origin, steps) in enumerate(zip(origins, ahead, strict=True)):
                end = self.fit_end
                if self.refit_daily and (boundary := (int(origin) + 1) // day * day - 1) > end:
                    end = boundary  # the last step before the origin's day: refit on everything up to it
                    if end not in refits:
                        refits[end] = self.fit_zone(values[:, k], int(starts[k]), end, zone)
                fit = refits[end]
                y = values[fit.start:origin + 1, k]
                if len(y) < 2 or np.isnan(y).any():
                    continue  # no history for this zone at this origin: no forecast
                out = self.forward(fit, y, int(steps.max()))
                mean[i, :, k] = out["mean"][steps - 1]
                for level in LEVELS:
                    bounds[level][0][i, :, k] = out[f"lo-{level}"][steps - 1]
                    bounds[level][1][i, :, k] = out[f"hi-{level}"][steps - 1]
        return self._result(mean, bounds)

    def _result(self, mean: np.ndarray, bounds: dict[int, tuple[np.ndarray, np.ndarray]]) -> Forecast:
        return Forecast(mean, {level / 100: (np.clip(lo, 0.0, None), hi) for level, (lo, hi) in bounds.items()},
                        f"{self.method}'s own prediction intervals (statsforecast), fitted once and run forward")

    def save(self, folder: Path) -> None:
        raise ValueError(f"{self.name}: a statsforecast fit is not saved (its objects would need pickle, which "
                         f"loading a model never runs); fit it again instead")


class AutoETS(StatisticalModel):
    """statsforecast's AutoETS, its season one day where ETS allows it (at most 24 steps),
    else none."""

    default_name = "autoets"
    method = "AutoETS"

    def new(self, history: int, interval_minutes: int) -> tuple[Any, tuple[int, ...]]:
        from statsforecast.models import AutoETS as StatsAutoETS

        day, _ = seasons(interval_minutes)
        season = day if day <= ETS_MAX_SEASON else 1  # beyond it statsforecast drops the season after a long search
        return StatsAutoETS(season_length=season), (season,)

    def describe(self, model: Any) -> str:
        return f"ETS({','.join(model.model_['components'][:3])}{', damped' if model.model_['components'][3] != 'N' else ''})"


class AutoARIMA(StatisticalModel):
    """statsforecast's AutoARIMA, its season one day (slow: opt-in)."""

    default_name = "autoarima"
    method = "AutoARIMA"

    def new(self, history: int, interval_minutes: int) -> tuple[Any, tuple[int, ...]]:
        from statsforecast.models import AutoARIMA as StatsAutoARIMA

        day, _ = seasons(interval_minutes)
        return StatsAutoARIMA(season_length=day), (day,)

    def describe(self, model: Any) -> str:
        from statsforecast.arima import arima_string

        return str(arima_string(model.model_))


class MSTL(StatisticalModel):
    """statsforecast's MSTL: daily and weekly seasons (those with two full cycles in the
    history), an AutoETS trend."""

    default_name = "mstl"
    method = "MSTL"
    refit_daily = True

    def __init__(self, alias: str | None = None) -> None:
        super().__init__(alias)
        self.max_history: int | None = None  # set from the interval at fit: HISTORY_WEEKS weeks

    def fit(self, train: Windows, validation: Windows, context: FitContext) -> FitSummary:
        self.max_history = HISTORY_WEEKS * seasons(train.interval_minutes)[1]
        return super().fit(train, validation, context)

    def new(self, history: int, interval_minutes: int) -> tuple[Any, tuple[int, ...]]:
        from statsforecast.models import MSTL as StatsMSTL
        from statsforecast.models import AutoETS as StatsAutoETS

        periods = tuple(p for p in seasons(interval_minutes) if 2 * p <= history)
        if not periods:
            raise ValueError(f"{self.name}: {history} steps hold less than two days")
        return StatsMSTL(season_length=list(periods), trend_forecaster=StatsAutoETS(model="ZZN")), periods

    def zone_fit(self, model: Any, start: int, periods: tuple[int, ...]) -> ZoneFit:
        seasonal = np.stack([model.model_[f"seasonal{p}"].to_numpy() for p in periods]) if len(periods) > 1 else \
            model.model_[["seasonal"]].to_numpy().T
        return ZoneFit(model, start, seasonal, periods)

    def describe(self, model: Any) -> str:
        trend = model.trend_forecaster.model_["components"]
        return f"MSTL({', '.join(str(p) for p in model.season_length)}) + ETS({','.join(trend[:3])})"

    def forward(self, fit: ZoneFit, y: np.ndarray, h: int) -> dict[str, np.ndarray]:
        steps = np.arange(len(y) + h)
        seasonal = fit.seasonal_at(steps)
        trend = fit.model.trend_forecaster.forward(y=y - seasonal[:len(y)], h=h, level=list(LEVELS))
        return {key: value + seasonal[len(y):] for key, value in trend.items()}
