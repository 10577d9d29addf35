"""The one DP-SGD accountant: its names, its routes (each the figure the route's own module
gives), the record as the one-window unit, and the one noise search."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from dpforecast.config import ACCOUNTANTS, load_params
from dpforecast.privacy import accounting as acc
from dpforecast.privacy.dp_sgd_accountant import DPSGDAccountant, bisect_noise
from dpforecast.privacy.unit_accounting import default_discretization, unit_epsilon, unit_epsilon_rdp

Q = 5 / 3120
STEPS = 62_400
DELTA = 1e-7
MAIN = (4.87, 0.0231, 1720, 1e-7)  # the main job's DP-SGD run (issue 9)
ORDINARY = (1.0, 0.01, 1000, 1e-5)
SHORT = (4.87, 0.0231, 100, 1e-7)  # the main job's first epochs: PRV and a fine PLD in a fraction of a second
ROOT = Path(__file__).resolve().parents[3]


def _unit(name: str):
    return load_params(ROOT / "params.yaml", privacy={"unit": name}).privacy_unit()


def test_its_names_are_the_parameters_names():
    assert ACCOUNTANTS == ("pld", "rdp", "prv")
    assert [DPSGDAccountant(name).name for name in ACCOUNTANTS] == list(ACCOUNTANTS)
    with pytest.raises(ValueError, match="accountant must be one of"):
        DPSGDAccountant("gdp")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="one training window only"):
        DPSGDAccountant("prv", 7, 2.0)
    for windows, s in ((0, 1.0), (1.5, 1.0), (True, 1.0), (7, 0.0), (7, math.inf)):
        with pytest.raises(ValueError, match="windows|sensitivity_per_window"):
            DPSGDAccountant("pld", windows, s)  # type: ignore[arg-type]


def test_on_a_unit_counts_its_windows_and_their_change():
    assert DPSGDAccountant.on("pld", _unit("event"), 6, 1) == DPSGDAccountant("pld", 7, 2.0)
    assert DPSGDAccountant.on("rdp", _unit("day"), 6, 1) == DPSGDAccountant("rdp", 54, 2.0)
    assert DPSGDAccountant.on("prv", _unit("window"), 6, 1) == DPSGDAccountant("prv")


def test_each_route_is_its_modules_figure():
    """The accountant adds no maths: every figure is the one its route's function gives."""
    sigma, q, steps, delta = MAIN
    assert DPSGDAccountant("rdp").epsilon(*MAIN) == acc.rdp_epsilon_and_order(*MAIN)[0]
    assert DPSGDAccountant("prv").epsilon(*SHORT) == acc.prv_epsilon(*SHORT)
    assert DPSGDAccountant("pld").epsilon(*SHORT) == unit_epsilon(*SHORT, 1, 1.0)
    assert DPSGDAccountant("rdp", 7, 2.0).epsilon(*MAIN) == unit_epsilon_rdp(*MAIN, 7, 2.0)
    assert DPSGDAccountant("pld", 7, 2.0).epsilon(*MAIN) == unit_epsilon(*MAIN, 7, 2.0)
    # one window moving the sum by 2C is the record at half the noise (the pair scaled by 1/2)
    assert DPSGDAccountant("rdp", 1, 2.0).epsilon(*MAIN) == acc.rdp_epsilon_and_order(sigma / 2, q, steps, delta)[0]


@pytest.mark.parametrize("setting", [ORDINARY, MAIN], ids=["ordinary", "main"])
def test_the_record_is_the_unit_of_one_window(setting):
    """One window, sensitivity 1: the mixture N(0) against (1 - q) N(0) + q N(1) is the
    Poisson-sampled Gaussian, so its PLD is dp_accounting's own PLD of the sampled Gaussian
    (same grid) and the RDP of both routes agrees where both grids hold the optimum."""
    from dp_accounting.pld import privacy_loss_distribution

    sigma, q, steps, delta = setting
    interval = default_discretization(unit_epsilon_rdp(*setting, 1, 1.0), steps)
    sampled_gaussian = privacy_loss_distribution.from_gaussian_mechanism(
        sigma, sensitivity=1.0, sampling_prob=q, value_discretization_interval=interval,
    ).self_compose(steps).get_epsilon_for_delta(delta)
    assert DPSGDAccountant("pld").epsilon(*setting) == pytest.approx(sampled_gaussian, rel=1e-6)
    # closed form (orders to 32,768) and quadrature (orders to 256): the same divergences
    assert DPSGDAccountant("rdp").epsilon(*setting) == pytest.approx(unit_epsilon_rdp(*setting, 1, 1.0), rel=1e-8)
    # and at a per-window change of 2C the closed form at sigma / 2 is the quadrature's pair
    assert DPSGDAccountant("rdp", 1, 2.0).epsilon(*setting) == pytest.approx(
        unit_epsilon_rdp(*setting, 1, 2.0), rel=1e-6)


def test_edge_cases():
    assert DPSGDAccountant("rdp").epsilon(0.0, Q, STEPS, DELTA) == math.inf
    assert DPSGDAccountant("rdp").epsilon(1.0, Q, 0, DELTA) == 0.0
    assert DPSGDAccountant("rdp").epsilon(2.0, 1.0, 10, 1e-5) == pytest.approx(
        acc.rdp_epsilon_and_order(2.0, 1.0, 10, 1e-5)[0]
    )
    with pytest.raises(ValueError, match="accountant"):
        DPSGDAccountant("gdp").epsilon(1.0, Q, 10, DELTA)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="delta"):
        DPSGDAccountant("rdp").epsilon(1.0, Q, 10, 0.0)
    # every accountant, every unit: no noise protects nothing, no step spends nothing
    assert DPSGDAccountant("pld", 7, 2.0).epsilon(0.0, Q, 10, DELTA) == math.inf
    assert DPSGDAccountant("pld", 7, 2.0).epsilon(1.0, 0.0, 10, DELTA) == 0.0
    assert DPSGDAccountant("pld", 7, 2.0).noise_for(1.0, Q, 0, DELTA) == 0.0


# ----------------------------------------------------------------------------- the noise search


@pytest.mark.parametrize(
    ("target", "delta", "q", "steps"),
    [(0.049, DELTA, Q, STEPS), (1.0, 1e-5, 0.01, 1_000), (3.0, 1e-5, 0.02, 5_000)],
)
def test_noise_multiplier_for_round_trips_rdp(target, delta, q, steps):
    sigma = DPSGDAccountant("rdp").noise_for(target, q, steps, delta)
    eps = DPSGDAccountant("rdp").epsilon(sigma, q, steps, delta)
    assert eps <= target
    assert eps >= 0.99 * target


def test_noise_multiplier_for_the_study_first_setting_is_about_35():
    rdp = DPSGDAccountant("rdp")
    sigma = rdp.noise_for(rdp.epsilon(35.0, Q, STEPS, DELTA), Q, STEPS, DELTA)
    assert sigma == pytest.approx(35.0, rel=1e-3)


def test_noise_multiplier_for_round_trips_prv():
    target, delta, q, steps = 2.0, 1e-5, 0.01, 1_000
    sigma = DPSGDAccountant("prv").noise_for(target, q, steps, delta)
    eps = DPSGDAccountant("prv").epsilon(sigma, q, steps, delta)
    assert 0.98 * target <= eps <= target
    # PRV is tighter than RDP, so it needs less noise for the same target.
    assert sigma <= DPSGDAccountant("rdp").noise_for(target, q, steps, delta)


def test_noise_multiplier_for_refuses_an_unreachable_target():
    with pytest.raises(acc.AccountingError, match="no noise multiplier"):
        DPSGDAccountant("rdp").noise_for(1e-6, 0.01, 1_000, 1e-7, max_noise=10)
    with pytest.raises(acc.AccountingError, match="no noise multiplier"):
        DPSGDAccountant("pld", 7, 2.0).noise_for(1e-6, 0.01, 1_000, 1e-7, max_noise=10)


def test_the_noise_search_meets_the_target_on_the_unit():
    k, sigmas = 7, {}
    for accountant in ("pld", "rdp"):
        sigmas[accountant] = DPSGDAccountant(accountant, k, 2.0).noise_for(1.0, 0.0231, 1720, 1e-7)
        eps = DPSGDAccountant(accountant, k, 2.0).epsilon(sigmas[accountant], 0.0231, 1720, 1e-7)
        assert 0.99 <= eps <= 1.0
    assert sigmas["pld"] < sigmas["rdp"], "the tighter accountant needs less noise for the same guarantee"


def test_bisect_noise_returns_the_bracket_end_that_meets_the_target():
    calls: list[float] = []

    def eps(sigma: float) -> float:
        calls.append(sigma)
        return 1.0 / sigma

    sigma = bisect_noise(eps, 0.3, 64.0, rtol=1e-4, floor=1e-6)
    assert 1.0 / sigma <= 0.3 and sigma == pytest.approx(1 / 0.3, rel=1e-4)
    assert min(calls) >= 1 / 0.3 / 2, "halving stops at the first noise that misses the target"
    # a target every noise meets: halving stops at the floor
    assert bisect_noise(lambda sigma: 0.0, 1.0, 1.0, rtol=1e-3, floor=1e-3) < 2e-3
