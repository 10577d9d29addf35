"""dpforecast.features.scaling: standardisation fitted on training windows, or fixed scales that fit nothing."""

from __future__ import annotations

import numpy as np
import pytest

from dpforecast.features.scaling import LOG_CENTRE, LOG_SCALE, Scaler
from dpforecast.features.windows import make_windows, window_arrays

from montreuil_spec import SPEC, ZONES


def test_identity_and_log_scalers_fit_nothing():
    identity = Scaler.identity(5, 2)
    assert identity.x_mean.tolist() == [0] * 5 and identity.x_std.tolist() == [1] * 5
    assert identity.y_mean.tolist() == [0, 0] and identity.y_std.tolist() == [1, 1]
    log = Scaler.log_counts(5, 2)
    assert log.x_mean.tolist() == [LOG_CENTRE, LOG_CENTRE, 0, 0, 0]  # counts first, calendar features untouched
    assert log.x_std.tolist() == [LOG_SCALE, LOG_SCALE, 1, 1, 1]
    assert log.y_mean.tolist() == [LOG_CENTRE] * 2 and log.y_std.tolist() == [LOG_SCALE] * 2
    assert {a.dtype for a in (*identity.__dict__.values(), *log.__dict__.values())} == {np.dtype(np.float32)}


def test_fit_standardises_counts_and_targets_per_zone_over_every_step_and_lead():
    rng = np.random.default_rng(0)
    counts = rng.normal([100.0, 5.0], [10.0, 2.0], size=(50, 4, 2))
    calendar = rng.uniform(-1, 1, size=(50, 4, 2))
    x, y = np.concatenate([counts, calendar], axis=-1), rng.normal(300.0, 30.0, size=(50, 3, 2))
    scaler = Scaler.fit(x, y, n_counts=2)
    np.testing.assert_allclose(scaler.x_mean[:2], counts.reshape(-1, 2).mean(axis=0), rtol=1e-6)
    np.testing.assert_allclose(scaler.x_std[:2], counts.reshape(-1, 2).std(axis=0), rtol=1e-6)
    assert scaler.x_mean[2:].tolist() == [0, 0] and scaler.x_std[2:].tolist() == [1, 1]
    np.testing.assert_allclose(scaler.y_mean, y.reshape(-1, 2).mean(axis=0), rtol=1e-6)
    np.testing.assert_allclose(scaler.y_std, y.reshape(-1, 2).std(axis=0), rtol=1e-6)
    assert scaler.y_mean.dtype == np.float32


def test_a_constant_zone_gets_unit_scale_not_a_division_by_zero():
    x = np.stack([np.full((10, 3), 7.0), np.arange(30.0).reshape(10, 3)], axis=-1)
    y = np.stack([np.full((10, 1), 7.0), np.arange(10.0)[:, None]], axis=-1)
    scaler = Scaler.fit(x, y, n_counts=2)
    assert scaler.x_std[0] == 1.0 and scaler.y_std[0] == 1.0 and scaler.x_mean[0] == 7.0
    assert scaler.x_std[1] == pytest.approx(np.arange(30.0).std())


@pytest.mark.real_data
def test_scaler_is_fitted_on_training_windows_only(table):
    windows = make_windows(table, 6, 1, contiguous=False, test_days=7, validation_days=7, clock=SPEC.clock, zones=ZONES)
    x, y = window_arrays(table, windows, "train", 6, 1, ZONES)
    scaler = Scaler.fit(x, y, n_counts=6)
    assert np.allclose(scaler.y_mean, y[:, 0].mean(axis=0), rtol=1e-5)
    assert np.allclose(scaler.x_mean[6:], 0) and np.allclose(scaler.x_std[6:], 1)
