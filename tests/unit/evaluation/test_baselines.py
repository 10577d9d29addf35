"""The baselines every model is measured against: seasonal naive on the wall clock, ridge
on the same windows, MASE's in-sample scale."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from dpforecast.models.ridge import ALPHAS, fit_ridge, select_ridge
from dpforecast.models.seasonal import seasonal_naive_forecast


def test_ridge_recovers_a_linear_map_and_chooses_its_penalty_on_validation():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 3, 2))
    w = rng.normal(size=(6, 2))
    y = 50 + x.reshape(400, -1) @ w  # non-negative enough not to be clipped much
    model = fit_ridge(x[:300], y[:300], 1e-6)
    np.testing.assert_allclose(model.predict(x[300:]), np.clip(y[300:], 0, None), atol=1e-4)
    noisy = y + rng.normal(scale=5.0, size=y.shape)
    chosen = select_ridge((x[:300], noisy[:300]), (x[300:], noisy[300:]))
    assert chosen.alpha in ALPHAS
    errors = {a: np.mean((fit_ridge(x[:300], noisy[:300], a).predict(x[300:]) - noisy[300:]) ** 2) for a in ALPHAS}
    assert chosen.alpha == min(errors, key=errors.get)
    assert select_ridge((x, y), (x[:0], y[:0])).alpha == 1.0  # no validation block: a fixed penalty
    # Multi-output: (n, horizon, zones) targets come back in that shape.
    assert fit_ridge(x, np.stack([y, 2 * y], axis=1), 1.0).predict(x[:5]).shape == (5, 2, 2)


def test_seasonal_naive_follows_the_wall_clock_and_leaves_missing_lags_empty():
    stamps = pl.datetime_range(pl.datetime(2020, 10, 23), pl.datetime(2020, 10, 27), "1h", eager=True,
                               time_zone="Europe/Paris")
    table = pl.DataFrame({"timestamp": stamps, "a": np.arange(len(stamps), dtype=np.int64)})
    table = table.with_columns(pl.when(pl.col("a") == 30).then(None).otherwise(pl.col("a")).alias("a"))
    rows = np.array([48, 60, 55, 2])
    # 10-25 00:00 <- 10-24 00:00 (row 24); 10-25 11:00 (after the change of time) <- 10-24 11:00
    # (row 35, not 36); 10-25 06:00 <- row 30, missing; row 2 has no day before it.
    out = seasonal_naive_forecast(table, rows, ["a"], 1, 60)[:, 0]
    assert out[0, 0] == 24 and out[1, 0] == 35
    assert np.isnan(out[2, 0]) and np.isnan(out[3, 0])


def test_seasonal_naive_never_reads_past_the_forecast_origin():
    """At a lead beyond the lag, the same time one more period back: what was known at the origin."""
    stamps = pl.datetime_range(pl.datetime(2024, 1, 1), pl.datetime(2024, 1, 6), "1h", eager=True, time_zone="UTC")
    table = pl.DataFrame({"timestamp": stamps, "a": np.arange(len(stamps), dtype=np.float64)})
    origin = 72  # 01-04 00:00; leads 1..30 h, the targets are rows 73..102
    rows = origin + 1 + np.arange(30)[None, :]
    out = seasonal_naive_forecast(table, rows, ["a"], 1, 60)[0, :, 0]
    np.testing.assert_array_equal(out[:24], rows[0, :24] - 24)      # yesterday, known at the origin
    np.testing.assert_array_equal(out[24:], rows[0, 24:] - 48)      # 25-30 h ahead: two days back
    assert (out <= origin).all()
    from dpforecast.models.seasonal import lag_days_by_lead

    assert lag_days_by_lead(7, 48 * 8, 30).tolist() == [7] * 336 + [14] * 48


def test_mase_scale_is_the_in_sample_seasonal_error():
    from dpforecast.evaluation.baselines import in_sample_seasonal_mae

    stamps = pl.datetime_range(pl.datetime(2024, 1, 1), pl.datetime(2024, 1, 10), "1h", eager=True, time_zone="UTC")
    a = np.arange(len(stamps), dtype=np.float64) % 24 + (np.arange(len(stamps)) // 24) * 2.0  # +2 a day
    table = pl.DataFrame({"timestamp": stamps, "a": a})
    windows = pl.DataFrame({"target_row": np.arange(24, len(stamps)), "split": ["train"] * (len(stamps) - 24)})
    assert in_sample_seasonal_mae(table, windows, ["a"], 60)["a"] == pytest.approx(2.0)


def test_seasonal_naive_steps_back_a_day_more_where_a_23_hour_day_would_read_past_the_origin():
    """Europe/Paris, 2021-03-28 has 23 hours: from the origin 03-27 12:00, the leads 23.5 h and
    24 h land on 03-28 12:30 and 13:00 wall time, whose "yesterday" is after the origin."""
    stamps = pl.datetime_range(pl.datetime(2021, 3, 25), pl.datetime(2021, 3, 30), "30m", eager=True,
                               time_zone="Europe/Paris")
    table = pl.DataFrame({"timestamp": stamps, "a": np.arange(len(stamps), dtype=np.float64)})
    origin = 2 * 48 + 24  # 03-27 12:00
    rows = origin + 1 + np.arange(48)[None, :]
    out = seasonal_naive_forecast(table, rows, ["a"], 1, 30)[0, :, 0]
    assert (out <= origin).all()
    assert out[0] == 73          # 03-27 12:30 <- 03-26 12:30
    assert out[-3] == origin     # 03-28 12:00 <- 03-27 12:00, the origin itself
    assert out[-2:].tolist() == [73, 74]  # 03-28 12:30, 13:00 <- two days back, not 03-27 12:30, 13:00
