"""The ledger's account of the discrete Gaussian (``privacy.discrete_gaussian_accounting``).

Checked by exact summation (``tests/exact_discrete_gaussian.py``): the worst neighbour the
ledger assumes (every count moved by the full shift) is the worst on the scales the specs
produce; the ledger's epsilon of a release is an upper bound of the exact one and close to
it; re-discretised onto the ledger's coarser grid it stays an upper bound; and the review's
case (Montreuil's event at epsilon 10 with raw counts) is charged what it spends.
"""

from __future__ import annotations

import json
import math

import numpy as np
import opendp.prelude as dp
import pytest

from dpforecast.privacy.charges import (
    DiscreteGaussianRelease,
    GaussianRelease,
    compose,
    epsilon_of,
    mechanism_from_json,
)
from dpforecast.privacy.discrete_gaussian_accounting import (
    coarsened,
    discrete_epsilon,
    discrete_gaussian_pld,
    gaussian_epsilon,
    zcdp_epsilon,
)

from exact_discrete_gaussian import exact_delta, exact_delta_shifts

DELTA = 1e-7
EPSILONS = np.linspace(0.0, 12.0, 25)


@pytest.mark.parametrize("sigma", [0.8, 2.5, 20.0])
def test_a_smaller_shift_never_costs_more(sigma: float) -> None:
    for epsilon in EPSILONS:
        curve = [exact_delta_shifts(sigma, [c], epsilon) for c in range(1, 5)]
        assert all(a <= b + 1e-15 for a, b in zip(curve, curve[1:]))
        # and on two counts: lowering either shift never raises delta
        assert exact_delta_shifts(sigma, [3, 2], epsilon) <= exact_delta_shifts(sigma, [3, 3], epsilon) + 1e-15


@pytest.mark.parametrize("sigma", [0.8, 2.5, 20.0])
def test_a_declared_bound_costs_most_on_one_count(sigma: float) -> None:
    """Auckland's bound (10 crossings an hour, anywhere): all ten on one sensor is the worst."""
    splits = [[5, 5], [7, 3], [4, 3, 3], [2] * 5, [1] * 10]
    for epsilon in EPSILONS:
        worst = exact_delta_shifts(sigma, [10], epsilon)
        assert all(exact_delta_shifts(sigma, split, epsilon) <= worst + 1e-15 for split in splits)


@pytest.mark.parametrize("sigma, shift, coordinates", [(0.82, 1, 2), (2.46, 3, 2), (19.85, 3, 2), (5.0, 1, 24)])
def test_the_ledgers_epsilon_bounds_the_exact_one_closely(sigma: float, shift: int, coordinates: int) -> None:
    ours = discrete_epsilon(sigma, shift, coordinates, DELTA)
    assert exact_delta(sigma, shift, coordinates, ours) <= DELTA  # an upper bound
    assert exact_delta(sigma, shift, coordinates, ours * 0.99) > DELTA  # within 1 %


def test_the_reviews_case_is_charged_what_it_spends() -> None:
    """Montreuil's event with raw counts (two counts moved by one) at sigma 0.82: the continuous
    formula says 10.00, the discrete Gaussian spends more, and the ledger charges that."""
    record = DiscreteGaussianRelease(0.82, 1, 2)
    continuous = gaussian_epsilon(math.sqrt(2) / 0.82, DELTA)
    assert continuous == pytest.approx(10.0, abs=0.02)
    assert exact_delta(0.82, 1, 2, continuous) > DELTA  # what the ledger used to charge falls short
    charged = compose([record], DELTA).epsilon
    assert exact_delta(0.82, 1, 2, charged) <= DELTA
    assert charged > continuous * 1.01


@pytest.mark.parametrize("interval", [1e-3, 1e-2])
def test_coarsening_stays_an_upper_bound(interval: float) -> None:
    fine = discrete_gaussian_pld(137.5, 3, 96)
    coarse = coarsened(fine, interval)
    for delta in (1e-5, DELTA):
        a, b = fine.get_epsilon_for_delta(delta), coarse.get_epsilon_for_delta(delta)
        assert a <= b <= a + 2 * interval


def test_discrete_records_compose_with_the_others() -> None:
    release = DiscreteGaussianRelease(19.85, 3, 2)
    other = GaussianRelease(20.0, 3 * math.sqrt(2))
    alone = epsilon_of(release, DELTA)
    both = compose([release, other], DELTA)
    assert both.epsilon > max(alone, epsilon_of(other, DELTA))
    assert both.epsilon <= both.epsilon_rdp  # RDP: the discrete Gaussian's zCDP is the continuous one's
    assert both.epsilon <= both.epsilon_basic
    assert compose([release], DELTA).epsilon == pytest.approx(alone, rel=5e-3)
    assert mechanism_from_json(release.to_json()) == release


@pytest.mark.parametrize("record", [{"kind": "discrete_gaussian", "sigma": 2.0, "shift": 0, "coordinates": 2},
                                    {"kind": "discrete_gaussian", "sigma": 2.0, "shift": 1, "coordinates": 1.5},
                                    {"kind": "discrete_gaussian", "sigma": 2.0, "l2_sensitivity": 1.0}])
def test_bad_records_are_refused(record: dict) -> None:
    with pytest.raises(ValueError):
        mechanism_from_json(record)


def test_an_epsilon_in_the_hundreds_falls_back_to_the_zcdp_bound() -> None:
    """An Auckland week release (sigma 75) seen from the person unit (61,368 counts moved by 10):
    dp_accounting overflows there. The ledger reports the zCDP bound instead, which is finite,
    an upper bound, and what a release's metadata (strict JSON) can hold; it used to be inf,
    and the release crashed writing it."""
    record = DiscreteGaussianRelease(75.272, 10, 61368)
    mu = 10 * math.sqrt(61368) / 75.272
    charged = epsilon_of(record, DELTA)
    assert math.isfinite(charged) and charged >= gaussian_epsilon(mu, DELTA)
    assert charged == pytest.approx(zcdp_epsilon(mu, DELTA))
    # OpenDP, independently: the same rho, and its tighter zCDP conversion lies just below ours
    dp.enable_features("contrib")
    gaussian = dp.m.make_gaussian(dp.vector_domain(dp.atom_domain(T=float, nan=False)), dp.l2_distance(T=float),
                                  75.272)
    l2 = 10 * math.sqrt(61368)
    assert gaussian.map(l2) == pytest.approx(mu**2 / 2, rel=1e-9)
    theirs = dp.c.make_zCDP_to_approxDP(gaussian).map(l2).epsilon(DELTA)
    assert theirs <= charged <= 1.01 * theirs
    assert math.isfinite(compose([record], DELTA).epsilon)
    json.dumps({"person": charged}, allow_nan=False)
