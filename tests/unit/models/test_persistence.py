"""dpforecast.models.persistence: the last observed count, at every lead."""

from __future__ import annotations

import numpy as np

from dpforecast.config import Params
from dpforecast.models.base import FitContext, FitSummary
from dpforecast.models.persistence import Persistence, persistence_forecast


def test_the_forecast_repeats_each_windows_last_counts_at_every_lead():
    x = np.arange(2 * 3 * 4, dtype=np.float64).reshape(2, 3, 4)  # 2 zones then 2 calendar features
    out = persistence_forecast(x, n_zones=2, horizon=3)
    assert out.shape == (2, 3, 2)
    np.testing.assert_array_equal(out[0], [[8, 9]] * 3)
    np.testing.assert_array_equal(out[1], [[20, 21]] * 3)
    assert persistence_forecast(x, 2).shape == (2, 1, 2)


def test_as_a_model_it_fits_nothing_and_forecasts_the_last_input(table, windows_of):
    test = windows_of(table, "test", window=6, horizon=2)
    model = Persistence(alias="last")
    assert model.fit(windows_of(table, "train"), windows_of(table, "validation"), FitContext(Params())) == FitSummary()
    counts = table.select(["z0001", "z0002", "z0003"]).to_numpy()
    last = test.index["target_row"].to_numpy() - 1
    np.testing.assert_array_equal(model.predict(test), np.repeat(counts[last][:, None, :], 2, axis=1))
    assert model.name == "last" and Persistence().name == "persistence"
