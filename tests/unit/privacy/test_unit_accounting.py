"""Data-level (event, day) epsilons of DP-SGD: the mixture's PLD and RDP routes of unit_accounting."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from dpforecast.privacy import accounting
from dpforecast.privacy.dp_sgd_accountant import DPSGDAccountant
from dpforecast.privacy.unit_accounting import (
    unit_epsilon,
    unit_epsilon_rdp,
    unit_pld,
    unit_rdp,
    windows_per_unit,
)

# The main job's DP-SGD run (issue 9).
MAIN = dict(noise_multiplier=4.87, sample_rate=0.0231, steps=1720, delta=1e-7)


def test_windows_per_unit():
    assert windows_per_unit(6, 1) == 7  # one event
    assert windows_per_unit(6, 1, 48) == 54  # one day of 30-minute intervals
    assert windows_per_unit(1, 1) == 2
    assert windows_per_unit(6, 3, 2) == 10
    with pytest.raises(ValueError):
        windows_per_unit(0, 1)
    with pytest.raises(ValueError):
        windows_per_unit(6, 1, 0)


@pytest.mark.parametrize(
    "bad",
    [
        dict(noise_multiplier=0.0),
        dict(noise_multiplier=-1.0),
        dict(sample_rate=0.0),
        dict(sample_rate=1.5),
        dict(steps=0),
        dict(delta=0.0),
        dict(delta=1.0),
        dict(windows=0),
    ],
)
def test_bad_inputs_raise(bad):
    args = dict(MAIN, windows=7) | bad
    with pytest.raises(ValueError):
        unit_epsilon(**args)
    with pytest.raises(ValueError):
        unit_epsilon_rdp(**args)


def test_one_window_rdp_is_the_sampled_gaussian():
    orders = [2, 3, 10, 50]
    for sigma, q in ((1.0, 0.01), (2.0, 0.3), (4.87, 0.0231)):
        np.testing.assert_allclose(
            unit_rdp(sigma, q, 1, 1.0, orders), accounting.sampled_gaussian_rdp(sigma, q, 1, orders), rtol=1e-8
        )


@pytest.mark.parametrize(
    "sigma, q, steps, delta",
    [(35.0, 5 / 3120, 62_400, 1e-7), (1.0, 0.01, 1000, 1e-5)],
)
def test_one_window_sensitivity_one_is_the_per_window_epsilon(sigma, q, steps, delta):
    pld = unit_epsilon(sigma, q, steps, delta, windows=1, sensitivity_per_window=1.0)
    rdp = DPSGDAccountant("rdp").epsilon(sigma, q, steps, delta)
    err = accounting.default_prv_eps_error(rdp)
    prv = accounting.prv_epsilon(sigma, q, steps, delta, eps_error=err)
    # PRV returns estimate + err, and the true epsilon is within err of the estimate.
    assert prv - 2 * err - 0.005 * pld <= pld <= prv + 0.005 * pld
    assert pld <= rdp
    assert unit_epsilon_rdp(sigma, q, steps, delta, 1, 1.0) == pytest.approx(rdp, rel=0.2)


def test_main_job_event_epsilon():
    eps = unit_epsilon(**MAIN, windows=windows_per_unit(6, 1))
    assert 15.0 <= eps <= 25.0
    assert eps == pytest.approx(19.056, rel=0.01)  # PLD at discretisation 1e-4: 19.0558
    assert eps <= unit_epsilon_rdp(**MAIN, windows=7)


@pytest.mark.parametrize(
    "sigma, q, steps, delta, windows",
    [
        (4.87, 0.0231, 1720, 1e-7, 7),
        (4.87, 0.0231, 1720, 1e-5, 3),
        (1.0, 0.3, 5, 1e-3, 2),
        (35.0, 5 / 3120, 62_400, 1e-7, 7),
        (2.0, 1.0, 10, 1e-6, 2),
    ],
)
def test_pld_below_rdp_upper_bound(sigma, q, steps, delta, windows):
    assert unit_epsilon(sigma, q, steps, delta, windows) <= unit_epsilon_rdp(sigma, q, steps, delta, windows)


def test_more_windows_more_epsilon():
    eps = [unit_epsilon(**MAIN, windows=k) for k in (1, 2, 7, 14)]
    assert all(a < b for a, b in zip(eps, eps[1:]))


def test_one_window_dominates_the_tight_replace_one_pair():
    from dp_accounting.pld import privacy_loss_distribution as pldm

    for sigma, q, steps, delta in ((1.0, 0.3, 10, 1e-5), (4.87, 0.0231, 1720, 1e-7)):
        tight = pldm.from_gaussian_mechanism(
            sigma, sensitivity=1.0, sampling_prob=q, value_discretization_interval=1e-3,
            neighboring_relation=pldm.NeighborRel.REPLACE_ONE,
        ).self_compose(steps).get_epsilon_for_delta(delta)
        assert unit_epsilon(sigma, q, steps, delta, 1) >= tight


# ---------------------------------------------------------------- brute force

SIGMA, Q, K, S = 1.0, 0.3, 2, 2.0
H = 0.02
X = np.arange(-10.0, K * S + 10.0, H)


def _densities() -> tuple[np.ndarray, np.ndarray]:
    """N(0, 1) and the mixture sum_j Binom(2, 0.3)(j) N(2 j, 1) on the grid."""
    gauss = stats.norm.pdf(X, scale=SIGMA)
    weights = stats.binom.pmf(np.arange(K + 1), K, Q)
    mixture = sum(w * stats.norm.pdf(X, loc=S * j, scale=SIGMA) for j, w in enumerate(weights))
    return gauss, mixture


def _hockey_stick(p: np.ndarray, q: np.ndarray, eps: float, steps: int) -> float:
    """int max(0, P - e^eps Q) over the grid (1 step) or its square (2 steps: product densities)."""
    if steps == 1:
        return float(np.maximum(0.0, p - math.exp(eps) * q).sum() * H)
    return float(np.maximum(0.0, np.outer(p, p) - math.exp(eps) * np.outer(q, q)).sum() * H * H)


def test_pld_matches_brute_force_hockey_stick():
    """The PLD's delta(eps), each direction and their max, against direct integration.

    Tolerance 2e-4 absolute: the grid's error is about 1e-5 (h = 0.02 against 0.01), the
    PLD's pessimistic rounding at discretisation 1e-2 adds about 1e-5 here. The ADD
    direction's loss is at most -ln Binom(2, 0.3)(0) = 0.71 per step: its delta is 0 above.
    """
    gauss, mixture = _densities()
    one = unit_pld(SIGMA, Q, K, S, 1e-2)
    plds = {1: one, 2: one.self_compose(2)}
    for steps, eps in [(1, 0.3), (1, 0.5), (1, 1.0), (1, 2.0), (2, 0.5), (2, 1.0), (2, 2.5)]:
        add = _hockey_stick(gauss, mixture, eps, steps)  # N(0) against the mixture
        remove = _hockey_stick(mixture, gauss, eps, steps)  # the mixture against N(0)
        pld = plds[steps]
        # dp_accounting keeps the directions apart (private attributes, no public accessor).
        assert pld._pmf_add.get_delta_for_epsilon(eps) == pytest.approx(add, abs=2e-4)
        assert pld._pmf_remove.get_delta_for_epsilon(eps) == pytest.approx(remove, abs=2e-4)
        assert pld.get_delta_for_epsilon(eps) == pytest.approx(max(add, remove), abs=2e-4)
        # and unit_epsilon inverts it: epsilon at the brute-force delta is eps
        delta = max(add, remove)
        assert unit_epsilon(SIGMA, Q, steps, delta, K, S, value_discretization_interval=1e-2) == pytest.approx(
            eps, abs=5e-3
        )
