"""DP-SGD accounting against dp-accounting, the study's printed epsilons and Opacus's pitfalls.

Settings: the study's four (noise 35, 70, 140, 500; sample rate 5/3,120; 62,400 steps =
100 epochs; delta 1e-7) and two ordinary ones (delta 1e-5).
"""

from __future__ import annotations

import functools
import math
import warnings

import numpy as np
import pytest

from dpforecast.privacy import accounting as acc
from dpforecast.privacy.dp_sgd_accountant import DPSGDAccountant

Q = 5 / 3120
STEPS = 62_400
DELTA = 1e-7
STUDY = [(35.0, Q, STEPS, DELTA), (70.0, Q, STEPS, DELTA), (140.0, Q, STEPS, DELTA), (500.0, Q, STEPS, DELTA)]
ORDINARY = [(1.0, 0.01, 10_000, 1e-5), (1.5, 0.05, 2_000, 1e-5)]
SETTINGS = STUDY + ORDINARY


def _event(noise: float, q: float, steps: int):
    from dp_accounting import dp_event

    return dp_event.SelfComposedDpEvent(
        dp_event.PoissonSampledDpEvent(q, dp_event.GaussianDpEvent(noise)), steps
    )


@functools.cache
def _dp_accounting_rdp(noise: float, q: float, steps: int, delta: float) -> float:
    from dp_accounting.rdp import RdpAccountant

    return RdpAccountant(list(acc.RDP_ORDERS)).compose(_event(noise, q, steps)).get_epsilon(delta)


@functools.cache
def _dp_accounting_pld(noise: float, q: float, steps: int, delta: float, interval: float) -> float:
    from dp_accounting.pld import PLDAccountant

    return PLDAccountant(value_discretization_interval=interval).compose(_event(noise, q, steps)).get_epsilon(delta)


def test_steps_of_the_study():
    assert acc.steps_for(100, Q) == STEPS
    assert acc.steps_for(100, 10 / 3120) == 31_200


def test_orders_grid():
    orders = acc.RDP_ORDERS
    assert list(orders) == sorted(set(orders))
    assert orders[0] == pytest.approx(1.1) and max(orders) == 2**15
    assert {12, 63, 64, 128, 256, 512, 1024, 4096}.issubset(set(orders))


def test_integer_order_rdp_matches_opacus_where_opacus_is_finite():
    from opacus.accountants.analysis import rdp as opacus_rdp

    orders = [2, 12, 64, 512, 1024]
    for noise, q, steps, _ in (STUDY[0], STUDY[-1], ORDINARY[0]):
        ours = acc.sampled_gaussian_rdp(noise, q, steps, orders)
        theirs = np.asarray(opacus_rdp.compute_rdp(q=q, noise_multiplier=noise, steps=steps, orders=orders))
        # Opacus sums terms that add up to ~1 and loses ~1e-6 relative on tiny RDP values.
        np.testing.assert_allclose(ours, theirs, rtol=1e-5)


def test_integer_order_rdp_is_exact_at_order_2():
    # A_2 = 1 + q^2 (exp(1/sigma^2) - 1) in closed form.
    for noise, q in ((500.0, Q), (1.0, 0.01)):
        exact = math.log1p(q * q * math.expm1(1 / noise**2))
        assert acc.sampled_gaussian_rdp(noise, q, 1, [2])[0] == pytest.approx(exact, rel=1e-12)


@pytest.mark.parametrize("setting", SETTINGS, ids=lambda s: f"noise{s[0]}-q{s[1]:.4f}-T{s[2]}")
def test_rdp_matches_dp_accounting(setting):
    """Same orders (RDP_ORDERS), same improved conversion: within 1 % (observed < 0.02 %)."""
    ours = DPSGDAccountant("rdp").epsilon(*setting)
    theirs = _dp_accounting_rdp(*setting)
    assert ours == pytest.approx(theirs, rel=0.01)


@pytest.mark.parametrize("setting", SETTINGS, ids=lambda s: f"noise{s[0]}-q{s[1]:.4f}-T{s[2]}")
def test_prv_matches_dp_accounting_pld(setting):
    """PRV (Opacus) against the PLD accountant (dp-accounting), within their stated errors.

    Opacus's PRV returns ``estimate + eps_error`` where ``|estimate - eps_true| <= eps_error``
    (Gopi et al. 2021), so ``prv - eps_error`` is within ``eps_error`` of the true epsilon.
    The pessimistic PLD (connect-the-dots) is an upper bound whose discretisation error at
    interval 1e-6 (study settings) or 1e-4 (ordinary ones) is below 1e-4 (halving the
    interval moves it by less than that); we allow 1e-3. Hence
    ``|(prv - eps_error) - pld| <= eps_error + 1e-3``. ``eps_error`` is 0.003 for the study's
    settings (the default 0.01 would be as large as the epsilons) and 0.01 otherwise.
    """
    noise, q, steps, delta = setting
    study = noise >= 10
    eps_error = 0.003 if study else 0.01
    prv = acc.prv_epsilon(noise, q, steps, delta, eps_error=eps_error)
    pld = _dp_accounting_pld(noise, q, steps, delta, 1e-6 if study else 1e-4)
    assert abs((prv - eps_error) - pld) <= eps_error + 1e-3
    # PRV is the tighter accountant: never above RDP by more than its own error.
    assert prv <= DPSGDAccountant("rdp").epsilon(*setting) + 2 * eps_error


def test_prv_default_error_is_relative_to_the_epsilon():
    assert acc.default_prv_eps_error(0.049) == pytest.approx(0.00245)
    assert acc.default_prv_eps_error(0.003) == 0.001
    assert acc.default_prv_eps_error(8.0) == 0.01
    assert acc.default_prv_eps_error(math.inf) == 0.01


def test_prv_refuses_a_grid_too_large_instead_of_exhausting_memory():
    # Opacus would allocate ~5e8 points here and the process would be killed.
    with pytest.raises(acc.AccountingError, match="points"):
        acc.prv_epsilon(0.5, 0.5, 10_000, 1e-5, eps_error=0.01)


@pytest.mark.parametrize(("noise", "batch", "printed"), acc.STUDY_GP_SETTINGS)
def test_tf_privacy_2020_reproduces_the_study(noise, batch, printed):
    q = batch / acc.STUDY_N
    eps = acc.tf_privacy_2020_epsilon(noise, q, acc.steps_for(acc.STUDY_EPOCHS, q), acc.STUDY_DELTA)
    assert round(eps, 3) == round(printed, 3)
    assert math.floor(eps * 1e4) / 1e4 == pytest.approx(printed)  # truncated to 4 decimals


def test_tf_privacy_2020_with_batch_5_for_all_settings():
    """With 5 micro-batches throughout (the paper's text) the third figure is 0.0336, not 0.0357."""
    got = [acc.tf_privacy_2020_epsilon(n, Q, STEPS, DELTA) for n in (35, 70, 140, 500)]
    assert got == pytest.approx([0.06507, 0.03992, 0.03364, 0.03171], abs=5e-5)
    # Every one sits just above the floor of the largest order, ln(1/delta)/511.
    assert min(got) > math.log(1 / DELTA) / 511


def test_opacus_default_orders_are_stuck_at_a_floor():
    """Regression test for the orders pitfall: Opacus's default orders (<= 63) give ~0.18."""
    stuck = acc.opacus_default_orders_epsilon(35.0, Q, STEPS, DELTA)
    ours = DPSGDAccountant("rdp").epsilon(35.0, Q, STEPS, DELTA)
    assert 0.17 < stuck < 0.19
    assert ours == pytest.approx(0.049, abs=0.002)
    # The floor does not move with the noise: noise 500 is "as private" as noise 35.
    assert acc.opacus_default_orders_epsilon(500.0, Q, STEPS, DELTA) == pytest.approx(stuck, rel=0.05)


def test_opacus_accountant_drops_integer_orders_above_1029():
    """Passing our orders to Opacus's RDPAccountant is not enough: orders > ~1,029 come back NaN."""
    from opacus.accountants import RDPAccountant

    a = RDPAccountant()
    a.history = [(500.0, Q, STEPS)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        opacus_eps, opacus_order = a.get_privacy_spent(delta=DELTA, alphas=list(acc.RDP_ORDERS))
    ours, order = acc.rdp_epsilon_and_order(500.0, Q, STEPS, DELTA)
    assert opacus_order <= 1030 < order
    assert ours < 0.5 * opacus_eps


def test_warns_when_the_optimum_is_the_largest_order():
    with pytest.warns(RuntimeWarning, match="largest order"):
        acc.rdp_epsilon_and_order(500.0, Q, STEPS, DELTA, orders=acc.TF_PRIVACY_2020_ORDERS)
