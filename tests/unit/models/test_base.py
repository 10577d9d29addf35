"""The model base: windows over a table, and the baselines as models."""

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
from dpforecast.models.persistence import Persistence
from dpforecast.models.ridge import Ridge
from dpforecast.models.seasonal import SeasonalNaive

ZONES = ["z0001", "z0002", "z0003"]


@pytest.fixture(scope="module")
def table() -> pl.DataFrame:
    frame = synthetic.generate(zones=3, days=21, interval_minutes=60, hierarchy=False)
    return add_calendar_features(frame, 7.0)


def _windows(table: pl.DataFrame, split: str, window: int = 24, horizon: int = 3) -> Windows:
    index = make_windows(table, window, horizon, False, 3, 3, Clock(60, "Europe/Paris"), ZONES)
    return Windows.of(table, index.filter(pl.col("split") == split), window, horizon, ZONES, 60)


def test_windows_hold_inputs_and_targets_of_their_rows(table):
    w = _windows(table, "train")
    counts = table.select(ZONES).to_numpy()
    first = w.index.row(0, named=True)
    np.testing.assert_array_equal(w.x[0, :, :3], counts[first["start_row"]:first["start_row"] + 24])
    np.testing.assert_array_equal(w.y[0], counts[first["target_row"]:first["target_row"] + 3])
    part = w.take(slice(2, 5))
    assert len(part) == 3 and part.index["target_row"].to_list() == w.index["target_row"].to_list()[2:5]
    beyond = Windows.of(table, pl.DataFrame({"start_row": [table.height - 24], "target_row": [table.height]}), 24, 3,
                        ZONES, 60)
    assert np.isnan(beyond.y).all() and beyond.x.shape == (1, 24, 7)  # targets in the future: NaN


def test_baselines_fit_and_predict_as_models(table):
    train, validation, test = (_windows(table, s) for s in ("train", "validation", "test"))
    context = FitContext(Params())
    persistence, seasonal, ridge = Persistence(), SeasonalNaive("1d"), Ridge()
    for model in (persistence, seasonal, ridge):
        model.fit(train, validation, context)
    np.testing.assert_array_equal(persistence.predict(test), np.repeat(test.x[:, -1:, :3], 3, axis=1))
    counts = table.select(ZONES).to_numpy()
    rows = test.index["target_row"].to_numpy()[:, None] + np.arange(3)
    np.testing.assert_array_equal(seasonal.predict(test), counts[rows - 24])  # no change of time in January
    rmse = {m.name: float(np.sqrt(np.mean((m.predict(test) - test.y) ** 2))) for m in (persistence, seasonal, ridge)}
    assert rmse["ridge"] < rmse["persistence"]
    assert SeasonalNaive("7d").name == "seasonal_week" and SeasonalNaive("2d").name == "seasonal_2d"
    with pytest.raises(ValueError, match="whole number of days"):
        SeasonalNaive("12h")


def test_ridge_saves_and_loads_its_coefficients(table, tmp_path):
    train, validation, test = (_windows(table, s) for s in ("train", "validation", "test"))
    ridge = Ridge()
    summary = ridge.fit(train, validation, FitContext(Params()))
    assert summary.details["alpha"] in (0.001, 0.01, 0.1, 1.0, 10.0, 100.0)
    ridge.save(tmp_path)
    again = Ridge()
    again.load(tmp_path)
    np.testing.assert_array_equal(again.predict(test), ridge.predict(test))
    with pytest.raises(ValueError, match="predict before fit"):
        Ridge().predict(test)
