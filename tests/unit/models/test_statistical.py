"""The statsforecast baselines as models: fit and forecast through the base, never past the origin."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from dpforecast.config import Params
from dpforecast.data import synthetic
from dpforecast.data.clock import Clock
from dpforecast.features.calendar import add_calendar_features
from dpforecast.features.windows import make_windows
from dpforecast.models.base import FitContext, Windows
from dpforecast.models.statistical import MSTL, AutoETS, seasons

ZONES = ["z0001", "z0002"]


@pytest.fixture(scope="module")
def table() -> pl.DataFrame:
    frame = synthetic.generate(zones=2, days=17, interval_minutes=60, hierarchy=False)
    return add_calendar_features(frame, 7.0)


def _windows(table: pl.DataFrame, split: str, horizon: int = 3) -> Windows:
    index = make_windows(table, 24, horizon, False, 2, 1, Clock(60, "Europe/Paris"), ZONES)
    return Windows.of(table, index.filter(pl.col("split") == split), 24, horizon, ZONES, 60)


@pytest.fixture(scope="module", params=[AutoETS, MSTL])
def fitted(request, table):
    model = request.param()
    summary = model.fit(_windows(table, "train"), _windows(table, "validation"), FitContext(Params()))
    return model, summary


def test_they_fit_and_forecast_every_window_with_their_own_intervals(fitted, table):
    model, summary = fitted
    test = _windows(table, "test")
    forecast = model.forecast(test)
    assert forecast.mean.shape == test.y.shape and np.isfinite(forecast.mean).all()
    np.testing.assert_array_equal(model.predict(test), forecast.mean)
    (lo80, hi80), (lo95, hi95) = forecast.bounds[0.8], forecast.bounds[0.95]
    assert (lo95 <= lo80).all() and (lo80 <= forecast.mean + 1e-9).all() and (forecast.mean <= hi80).all()
    assert (hi80 <= hi95).all() and (lo95 >= 0).all() and model.method in forecast.source
    naive = np.repeat(test.x[:, -1:, :2], 3, axis=1)
    assert np.abs(forecast.mean - test.y).mean() < np.abs(naive - test.y).mean()  # beats persistence on a daily cycle
    assert set(summary.details["models"]) == set(ZONES) and summary.seconds > 0


def test_a_window_is_forecast_from_its_past_only(fitted, table):
    """The counts from a window's first target on are replaced by nonsense: a model that read
    them (the target block) would forecast differently."""
    model, _ = fitted
    test = _windows(table, "test")
    pick = [0, len(test) // 2, len(test) - 1]
    honest = model.forecast(test.take(np.asarray(pick)))
    for k, i in enumerate(pick):
        first_target = int(test.index["target_row"][i])
        poisoned = table.with_columns([pl.when(pl.int_range(pl.len()) >= first_target).then(10**9).otherwise(pl.col(z))
                                       .alias(z) for z in ZONES])
        window = test.take(np.asarray([i]))
        again = model.forecast(Windows(poisoned, window.index, window.x, window.y, window.zones, 60))
        np.testing.assert_allclose(again.mean[0], honest.mean[k], rtol=1e-9)
        np.testing.assert_allclose(again.bounds[0.95][1][0], honest.bounds[0.95][1][k], rtol=1e-9)


def test_the_seasons_are_a_day_and_a_week_of_steps():
    assert seasons(30) == (48, 336) and seasons(60) == (24, 168)
    with pytest.raises(ValueError, match="whole steps"):
        seasons(7)
    with pytest.raises(ValueError, match="predict before fit"):
        AutoETS().predict(Windows(pl.DataFrame(), pl.DataFrame(), np.zeros((0, 1, 1)), np.zeros((0, 1, 1)), (), 60))


def test_a_fit_is_not_saved_with_pickle(tmp_path):
    with pytest.raises(ValueError, match="not saved"):
        MSTL().save(tmp_path)
