"""dpforecast.models.ridge: closed-form ridge on the flattened window, its penalty chosen on validation."""

from __future__ import annotations

import numpy as np
import pytest

from dpforecast.config import Params
from dpforecast.models.base import FitContext
from dpforecast.models.ridge import ALPHAS, Ridge, fit_ridge, select_ridge


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


def test_ridge_saves_and_loads_its_coefficients(table, windows_of, tmp_path):
    train, validation, test = (windows_of(table, s) for s in ("train", "validation", "test"))
    ridge = Ridge()
    summary = ridge.fit(train, validation, FitContext(Params()))
    assert summary.details["alpha"] in (0.001, 0.01, 0.1, 1.0, 10.0, 100.0)
    ridge.save(tmp_path)
    again = Ridge()
    again.load(tmp_path)
    np.testing.assert_array_equal(again.predict(test), ridge.predict(test))
    with pytest.raises(ValueError, match="predict before fit"):
        Ridge().predict(test)


def test_a_constant_input_gets_unit_scale_and_forecasts_are_clipped_at_zero():
    x = np.stack([np.ones(20), np.arange(20.0)], axis=1)[:, None, :]  # (20, 1, 2), the first input constant
    y = (10.0 - np.arange(20.0))[:, None]  # falls below zero
    fit = fit_ridge(x, y, 1e-9)
    assert fit.scale[0] == 1.0 and np.isfinite(fit.coef).all()
    np.testing.assert_allclose(fit.predict(x)[:, 0], np.clip(y[:, 0], 0, None), atol=1e-6)
    assert fit.target_shape == (1,) and fit.predict(x).shape == (20, 1)


def test_save_before_fit_is_refused_and_an_alias_renames_it(tmp_path):
    with pytest.raises(ValueError, match="ridge: save before fit"):
        Ridge().save(tmp_path)
    assert not any(tmp_path.iterdir())
    assert Ridge().name == "ridge" and Ridge(alias="linear").name == "linear"
    assert Ridge(alias="linear").config() == {"alias": "linear"}
