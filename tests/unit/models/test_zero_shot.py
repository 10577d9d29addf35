"""Fracast-0 as a zero-shot model: its bundled weights, its quantiles, never a count past the origin."""

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
from dpforecast.models.zero_shot import Fracast

ZONES = ["z0001", "z0002"]


@pytest.fixture(scope="module")
def windows() -> dict[str, Windows]:
    table = add_calendar_features(synthetic.generate(zones=2, days=10, interval_minutes=60, hierarchy=False), 7.0)
    index = make_windows(table, 24, 3, False, 1, 1, Clock(60, "Europe/Paris"), ZONES)
    return {s: Windows.of(table, index.filter(pl.col("split") == s), 24, 3, ZONES, 60) for s in ("train", "validation", "test")}


@pytest.mark.slow  # two forward passes over its 2,048-step context: about 15 s on a busy 2-core CPU
def test_the_bundled_weights_forecast_from_each_origin_with_an_80_percent_interval(windows):
    model = Fracast(context=256)
    summary = model.fit(windows["train"], windows["validation"], FitContext(Params()))
    assert summary.details["parameters"] == 85_001 and summary.details["zero_shot"]
    test = windows["test"].take(np.array([0, 12]))
    forecast = model.forecast(test)
    assert forecast.mean.shape == (2, 3, 2) and np.isfinite(forecast.mean).all()
    lower, upper = forecast.bounds[0.8]
    assert list(forecast.bounds) == [0.8] and (lower <= forecast.mean).all() and (forecast.mean <= upper).all()
    naive = np.repeat(test.x[:, -1:, :2], 3, axis=1)
    assert np.abs(forecast.mean - test.y).mean() < 2 * np.abs(naive - test.y).mean() + 1  # a forecast, not noise
    # The counts from the first target on replaced by nonsense change nothing.
    first = int(test.index["target_row"][0])
    poisoned = test.table.with_columns([pl.when(pl.int_range(pl.len()) >= first).then(10**9).otherwise(pl.col(z)).alias(z)
                                        for z in ZONES])
    one = test.take(np.array([0]))
    again = model.forecast(Windows(poisoned, one.index, one.x, one.y, one.zones, 60))
    np.testing.assert_allclose(again.mean[0], forecast.mean[0], rtol=1e-6)


def test_its_settings_are_checked():
    with pytest.raises(ValueError, match="fp32 or w8"):
        Fracast(weights="fp16")
    with pytest.raises(ValueError, match="context 4096"):
        Fracast(context=4096)
    assert Fracast(weights="w8").config() == {"alias": None, "weights": "w8", "context": 2048}
