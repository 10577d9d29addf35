"""Calibration properties of the discrete mechanisms carried over from the continuous ones.

``tests/test_mechanisms.py`` checked the analytic Gaussian's sigma and the Laplace scale of
``dpforecast.privacy.mechanisms`` (gone). The discrete Gaussian is calibrated with the same
analytic sigma (Balle & Wang 2018), so the properties that do not depend on the float
sampler still apply; ``test_discrete.py`` covers the samplers and the privacy maps, this
file the rest: Balle & Wang's running example, an independent transcription of their
Algorithm 1, monotonicity, linearity in the sensitivity, large epsilons, the study's
epsilons, refusals by name, and that two contexts share (almost) no draws.

The sigma is found to a relative 1e-4 and rounded up (``discrete._RTOL_SIGMA``): the
continuous module's 1e-9 checks become 2e-4 here, always on the private side.
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

DELTA = 1e-7
RTOL = 2e-4
STUDY_EPSILONS = [0.0650, 0.0399, 0.0357, 0.0317]


def plain_delta(sigma: float, epsilon: float, sensitivity: float = 1.0) -> float:
    """Balle & Wang's condition written as in the paper."""
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


def test_balle_and_wangs_running_example() -> None:
    """epsilon = 1, delta = 1e-5 gives sigma about 3.7306 (the classic formula, outside its
    range there, would give 4.84)."""
    sigma = discrete_gaussian_sigma(1.0, 1e-5, 1.0)
    assert 3.7306 - 1e-4 <= sigma <= 3.7306 * (1 + RTOL)


@pytest.mark.parametrize("epsilon", [*STUDY_EPSILONS, 0.1, 0.5, 1.0, 2.0, 5.0, 10.0])
@pytest.mark.parametrize("delta", [DELTA, 1e-5])
def test_sigma_agrees_with_an_independent_transcription_of_algorithm_1(epsilon: float, delta: float) -> None:
    sigma = discrete_gaussian_sigma(epsilon, delta, 1.0)
    reference = balle_wang_algorithm1(epsilon, delta)
    # rounded up: never below the paper's sigma, at most the search's tolerance above it
    assert reference * (1 - 1e-9) <= sigma <= reference * (1 + RTOL)
    # and the guarantee holds with the paper's formula written plainly
    assert plain_delta(sigma, epsilon) <= delta * (1 + 1e-6)


@pytest.mark.parametrize("epsilon", STUDY_EPSILONS)
def test_sigma_is_smaller_than_the_studys_classic_sigma(epsilon: float) -> None:
    assert discrete_gaussian_sigma(epsilon, DELTA, 1.0) < classic_sigma(epsilon, DELTA)
    assert [round(classic_sigma(e, DELTA)) for e in STUDY_EPSILONS] == [88, 143, 160, 180]


@pytest.mark.parametrize("epsilon", [5.0, 10.0, 50.0])
def test_sigma_works_for_large_epsilon(epsilon: float) -> None:
    sigma = discrete_gaussian_sigma(epsilon, DELTA, 1.0)
    assert 0 < sigma < 1.1
    assert plain_delta(sigma, epsilon) <= DELTA * (1 + 1e-6)


def test_sigma_is_monotone_and_linear_in_the_sensitivity() -> None:
    epsilons = [0.01, 0.0317, 0.0357, 0.0399, 0.065, 0.1, 0.5, 1.0, 2.0, 5.0, 10.0]
    sigmas = [discrete_gaussian_sigma(e, DELTA, 1.0) for e in epsilons]
    assert all(a > b for a, b in zip(sigmas, sigmas[1:])), "sigma must decrease as epsilon grows"
    deltas = [1e-9, 1e-7, 1e-5, 1e-3]
    by_delta = [discrete_gaussian_sigma(0.5, d, 1.0) for d in deltas]
    assert all(a > b for a, b in zip(by_delta, by_delta[1:])), "sigma must decrease as delta grows"
    assert discrete_gaussian_sigma(0.5, DELTA, 4.0) == pytest.approx(4 * discrete_gaussian_sigma(0.5, DELTA, 1.0),
                                                                    rel=RTOL)
    # Montreuil's event (two counts, each moved by up to 3): three times the raw-count sigma
    assert discrete_gaussian_sigma(1.0, DELTA, 3 * math.sqrt(2)) == pytest.approx(
        3 * discrete_gaussian_sigma(1.0, DELTA, math.sqrt(2)), rel=RTOL)


def test_laplace_scale() -> None:
    assert discrete_laplace_scale(0.5, 1.0) == 2.0
    assert discrete_laplace_scale(0.1, 3.0) == pytest.approx(30.0)


@pytest.mark.parametrize(
    ("call", "name"),
    [
        (lambda: discrete_gaussian_sigma(0.0, DELTA, 1.0), "epsilon"),
        (lambda: discrete_gaussian_sigma(-1.0, DELTA, 1.0), "epsilon"),
        (lambda: discrete_gaussian_sigma(math.inf, DELTA, 1.0), "epsilon"),
        (lambda: discrete_gaussian_sigma(0.5, 0.0, 1.0), "delta"),
        (lambda: discrete_gaussian_sigma(0.5, 1.0, 1.0), "delta"),
        (lambda: discrete_gaussian_sigma(0.5, DELTA, 0.0), "l2_sensitivity"),
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
