"""Calibration of the discrete mechanisms, checked independently of dp_accounting.

The discrete Gaussian's sigma is the smallest that meets (epsilon, delta) by its own privacy
loss distribution on the unit (``privacy.discrete_gaussian_accounting``). Here the hockey-stick
divergence is summed exactly instead: for ``coordinates`` counts moved by ``shift`` each, the
privacy loss depends only on the sum S of the coordinates' noise, ``L = (k c^2 - 2 c S) /
(2 sigma^2)``, and S's law is the k-fold convolution of the discrete Gaussian's pmf. Against
that sum: the calibrated sigma meets delta and is within 1 % of the smallest that does; the
continuous (analytic) sigma, which the ledger used before, does *not* meet it at small sigma
(the test that shows the check can fail); and the analytic sigma of Balle & Wang (an
independent transcription of their Algorithm 1) is a lower bound the discrete one stays
close to at large sigma.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import special

from dpforecast.privacy.discrete import (
    discrete_gaussian,
    discrete_gaussian_sigma,
    discrete_laplace,
    discrete_laplace_scale,
)
from dpforecast.privacy.randomness import PrivacyKey, SecretStream

from exact_discrete_gaussian import exact_delta

DELTA = 1e-7
STUDY_EPSILONS = [0.0650, 0.0399, 0.0357, 0.0317]


def plain_delta(sigma: float, epsilon: float, sensitivity: float = 1.0) -> float:
    """Balle & Wang's condition written as in the paper (the continuous Gaussian)."""
    a = sensitivity / (2 * sigma) - epsilon * sigma / sensitivity
    b = -sensitivity / (2 * sigma) - epsilon * sigma / sensitivity
    return float(special.ndtr(a) - math.exp(epsilon) * special.ndtr(b))


def balle_wang_algorithm1(epsilon: float, delta: float, sensitivity: float = 1.0) -> float:
    """An independent transcription of the paper's Algorithm 1 (reparametrised search on
    ``v``, cases A and B), used only to cross-check the calibration."""

    def case_a(s: float) -> float:
        return special.ndtr(math.sqrt(epsilon * s)) - math.exp(epsilon) * special.ndtr(-math.sqrt(epsilon * (s + 2)))

    def case_b(s: float) -> float:
        return special.ndtr(-math.sqrt(epsilon * s)) - math.exp(epsilon) * special.ndtr(-math.sqrt(epsilon * (s + 2)))

    threshold = case_a(0.0)
    if delta >= threshold:
        f, alpha = case_a, lambda s: math.sqrt(1 + s / 2) - math.sqrt(s / 2)
        above = lambda s: f(s) >= delta  # noqa: E731 - case A increases in s
    else:
        f, alpha = case_b, lambda s: math.sqrt(1 + s / 2) + math.sqrt(s / 2)
        above = lambda s: f(s) <= delta  # noqa: E731 - case B decreases in s
    lo, hi = 0.0, 1.0
    while not above(hi):
        lo, hi = hi, 2 * hi
    for _ in range(200):
        mid = (lo + hi) / 2
        if above(mid):
            hi = mid
        else:
            lo = mid
    return alpha(hi) * sensitivity / math.sqrt(2 * epsilon)


def classic_sigma(epsilon: float, delta: float, sensitivity: float = 1.0) -> float:
    """Dwork & Roth (2014) Thm A.1, proven for epsilon < 1 only: the study's calibration."""
    return sensitivity * math.sqrt(2 * math.log(1.25 / delta)) / epsilon


@pytest.mark.parametrize(
    "epsilon, delta, shift, coordinates",
    [(10.0, DELTA, 1, 2), (10.0, DELTA, 3, 2), (1.0, DELTA, 3, 2), (1.0, 1e-5, 1, 1), (0.3, 1e-6, 10, 1),
     (4.0, 1e-9, 3, 24), (0.1, DELTA, 1, 1)],
)
def test_sigma_meets_delta_by_exact_summation_and_is_nearly_the_smallest(
        epsilon: float, delta: float, shift: int, coordinates: int) -> None:
    sigma = discrete_gaussian_sigma(epsilon, delta, shift, coordinates)
    assert exact_delta(sigma, shift, coordinates, epsilon) <= delta
    assert exact_delta(sigma * 0.99, shift, coordinates, epsilon) > delta


@pytest.mark.parametrize("epsilon", [5.0, 8.0, 20.0])
def test_sigma_meets_delta_on_the_lattice(epsilon: float) -> None:
    """Near sigma 1 the loss lives on a coarse lattice and delta is not even monotone in sigma;
    the calibration still meets it, with at most 3 % more noise than the continuous optimum."""
    sigma = discrete_gaussian_sigma(epsilon, DELTA, 1, 1)
    assert exact_delta(sigma, 1, 1, epsilon) <= DELTA
    assert sigma <= 1.03 * balle_wang_algorithm1(epsilon, DELTA)


@pytest.mark.parametrize("epsilon, shift, coordinates", [(10.0, 1, 2), (10.0, 1, 1)])
def test_the_continuous_calibration_fails_the_discrete_gaussian_at_small_sigma(
        epsilon: float, shift: int, coordinates: int) -> None:
    """What the ledger did before: the analytic Gaussian's sigma, whose discrete Gaussian spends
    more than it states. The exact sum sees it, so the test above can fail."""
    analytic = balle_wang_algorithm1(epsilon, DELTA, shift * math.sqrt(coordinates))
    assert exact_delta(analytic, shift, coordinates, epsilon) > DELTA
    assert discrete_gaussian_sigma(epsilon, DELTA, shift, coordinates) > analytic


@pytest.mark.parametrize("epsilon", [*STUDY_EPSILONS, 0.1, 0.5, 1.0])
@pytest.mark.parametrize("delta", [DELTA, 1e-5])
def test_sigma_is_close_above_the_analytic_gaussians_at_large_sigma(epsilon: float, delta: float) -> None:
    """Balle & Wang's Algorithm 1 (independent transcription) is the continuous optimum; at these
    sigmas (above 3) the discrete one costs at most 1 % more noise, and still meets the
    continuous condition."""
    sigma = discrete_gaussian_sigma(epsilon, delta, 1, 1)
    reference = balle_wang_algorithm1(epsilon, delta)
    assert reference * (1 - 1e-9) <= sigma <= reference * 1.01
    assert plain_delta(sigma, epsilon) <= delta * (1 + 1e-6)


@pytest.mark.parametrize("epsilon", STUDY_EPSILONS)
def test_sigma_is_smaller_than_the_studys_classic_sigma(epsilon: float) -> None:
    assert discrete_gaussian_sigma(epsilon, DELTA, 1, 1) < classic_sigma(epsilon, DELTA)
    assert [round(classic_sigma(e, DELTA)) for e in STUDY_EPSILONS] == [88, 143, 160, 180]


def test_sigma_is_monotone_in_epsilon_delta_and_the_unit() -> None:
    epsilons = [0.01, 0.0317, 0.065, 0.1, 0.5, 1.0, 2.0, 5.0, 10.0]
    sigmas = [discrete_gaussian_sigma(e, DELTA, 1, 1) for e in epsilons]
    assert all(a > b for a, b in zip(sigmas, sigmas[1:])), "sigma must decrease as epsilon grows"
    by_delta = [discrete_gaussian_sigma(0.5, d, 1, 1) for d in [1e-9, 1e-7, 1e-5, 1e-3]]
    assert all(a > b for a, b in zip(by_delta, by_delta[1:])), "sigma must decrease as delta grows"
    # Montreuil's event (two counts, each moved by up to 3) against raw counts, and a day
    assert discrete_gaussian_sigma(1.0, DELTA, 3, 2) > discrete_gaussian_sigma(1.0, DELTA, 1, 2)
    assert discrete_gaussian_sigma(1.0, DELTA, 3, 96) > discrete_gaussian_sigma(1.0, DELTA, 3, 2)


def test_laplace_scale() -> None:
    assert discrete_laplace_scale(0.5, 1.0) == 2.0
    assert discrete_laplace_scale(0.1, 3.0) == pytest.approx(30.0)


@pytest.mark.parametrize(
    ("call", "name"),
    [
        (lambda: discrete_gaussian_sigma(0.0, DELTA, 1, 1), "epsilon"),
        (lambda: discrete_gaussian_sigma(-1.0, DELTA, 1, 1), "epsilon"),
        (lambda: discrete_gaussian_sigma(math.inf, DELTA, 1, 1), "epsilon"),
        (lambda: discrete_gaussian_sigma(0.5, 0.0, 1, 1), "delta"),
        (lambda: discrete_gaussian_sigma(0.5, 1.0, 1, 1), "delta"),
        (lambda: discrete_gaussian_sigma(0.5, DELTA, 0, 1), "shift"),
        (lambda: discrete_gaussian_sigma(0.5, DELTA, 1, 2.5), "coordinates"),
        (lambda: discrete_laplace_scale(0.0, 1.0), "epsilon"),
        (lambda: discrete_laplace_scale(1.0, -1.0), "l1_sensitivity"),
    ],
)
def test_bad_parameters_are_refused_by_name(call, name: str) -> None:
    with pytest.raises(ValueError, match=rf"^{name}:"):
        call()


@pytest.mark.parametrize("sampler", [discrete_gaussian, discrete_laplace])
def test_other_contexts_share_almost_no_draws(sampler) -> None:
    """The same key and context reproduce the draws; another context agrees with them only
    as often as two independent draws do (about 5% at scale 6)."""
    key = PrivacyKey(bytes(range(32)), "test")
    a = sampler(6.0, 2000, SecretStream.for_context(key, {"release": 42}))
    b = sampler(6.0, 2000, SecretStream.for_context(key, {"release": 42}))
    c = sampler(6.0, 2000, SecretStream.for_context(key, {"release": 43}))
    np.testing.assert_array_equal(a, b)
    assert np.mean(a == c) < 0.2
