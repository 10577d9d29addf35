"""Noise calibration and perturbation of counts (dpforecast.privacy.mechanisms).

Statistical checks use fixed seeds, so they are deterministic; their tolerances are
stated in standard errors of the estimate, so that a correct mechanism passes with any
seed (the margins are 4 to 6 standard errors) and a wrong calibration fails.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import special

from dpforecast.privacy.mechanisms import (
    analytic_gaussian_sigma,
    classic_gaussian_sigma,
    gaussian_delta,
    laplace_scale,
    perturb_counts,
)

DELTA = 1e-7
STUDY_EPSILONS = [0.0650, 0.0399, 0.0357, 0.0317]
# The study's sigmas, sqrt(2 ln(1.25/delta)) / epsilon: "about 88, 143, 160 and 180 people".
STUDY_CLASSIC_SIGMAS = [87.9517, 143.2797, 160.1361, 180.3426]


def plain_delta(sigma: float, epsilon: float, sensitivity: float = 1.0) -> float:
    """Balle & Wang's condition written as in the paper (no log-space tricks)."""
    a = sensitivity / (2 * sigma) - epsilon * sigma / sensitivity
    b = -sensitivity / (2 * sigma) - epsilon * sigma / sensitivity
    return float(special.ndtr(a) - math.exp(epsilon) * special.ndtr(b))


def balle_wang_algorithm1(epsilon: float, delta: float, sensitivity: float = 1.0) -> float:
    """An independent transcription of the paper's Algorithm 1 (reparametrised search on
    ``v``, cases A and B), used only to cross-check the direct root finding."""

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


# --------------------------------------------------------------------------- calibration


@pytest.mark.parametrize(("epsilon", "expected"), zip(STUDY_EPSILONS, STUDY_CLASSIC_SIGMAS))
def test_classic_sigma_matches_the_study(epsilon: float, expected: float) -> None:
    assert classic_gaussian_sigma(epsilon, DELTA, 1.0) == pytest.approx(expected, abs=0.1)
    # the formula itself, and its linearity in the sensitivity
    assert classic_gaussian_sigma(epsilon, DELTA, 1.0) == pytest.approx(math.sqrt(2 * math.log(1.25 / DELTA)) / epsilon)
    assert classic_gaussian_sigma(epsilon, DELTA, 3.0) == pytest.approx(3 * classic_gaussian_sigma(epsilon, DELTA, 1.0))


def test_study_sigmas_round_to_the_papers_figures() -> None:
    assert [round(classic_gaussian_sigma(e, DELTA, 1.0)) for e in STUDY_EPSILONS] == [88, 143, 160, 180]


@pytest.mark.parametrize("epsilon", [1.0, 1.5, 5.0])
def test_classic_sigma_refuses_epsilon_of_one_or_more(epsilon: float) -> None:
    with pytest.raises(ValueError, match=r"privacy\.epsilon.*epsilon < 1"):
        classic_gaussian_sigma(epsilon, DELTA, 1.0)


@pytest.mark.parametrize(
    ("call", "name"),
    [
        (lambda: analytic_gaussian_sigma(0.0, DELTA, 1.0), "privacy.epsilon"),
        (lambda: analytic_gaussian_sigma(-1.0, DELTA, 1.0), "privacy.epsilon"),
        (lambda: analytic_gaussian_sigma(math.inf, DELTA, 1.0), "privacy.epsilon"),
        (lambda: analytic_gaussian_sigma(0.5, 0.0, 1.0), "privacy.delta"),
        (lambda: classic_gaussian_sigma(0.5, 1.0, 1.0), "privacy.delta"),
        (lambda: analytic_gaussian_sigma(0.5, DELTA, 0.0), "privacy.ip.sensitivity"),
        (lambda: laplace_scale(0.0, 1.0), "privacy.epsilon"),
        (lambda: laplace_scale(1.0, -1.0), "privacy.ip.sensitivity"),
    ],
)
def test_bad_parameters_are_refused_by_name(call, name: str) -> None:
    with pytest.raises(ValueError, match=name.replace(".", r"\.")):
        call()


@pytest.mark.parametrize("epsilon", [*STUDY_EPSILONS, 0.1, 0.5, 0.9])
def test_analytic_sigma_is_smaller_than_classic_below_one(epsilon: float) -> None:
    assert analytic_gaussian_sigma(epsilon, DELTA, 1.0) < classic_gaussian_sigma(epsilon, DELTA, 1.0)


@pytest.mark.parametrize("epsilon", [*STUDY_EPSILONS, 0.1, 0.5, 1.0, 2.0, 5.0, 10.0])
@pytest.mark.parametrize("delta", [DELTA, 1e-5])
def test_analytic_sigma_meets_balle_wang_at_equality(epsilon: float, delta: float) -> None:
    sigma = analytic_gaussian_sigma(epsilon, delta, 1.0)
    # At equality: within 1e-9 of delta in relative terms (far tighter than 1e-9 absolute),
    # both with our log-space formula and with the paper's formula written plainly.
    assert abs(gaussian_delta(sigma, epsilon, 1.0) - delta) <= 1e-9 * delta
    assert abs(plain_delta(sigma, epsilon) - delta) <= 1e-6 * delta
    # It is the smallest such sigma: the guarantee holds at sigma, fails just below it.
    assert gaussian_delta(sigma, epsilon, 1.0) <= delta
    assert gaussian_delta(sigma * (1 - 1e-9), epsilon, 1.0) > delta
    # And it agrees with an independent transcription of the paper's Algorithm 1.
    assert sigma == pytest.approx(balle_wang_algorithm1(epsilon, delta), rel=1e-6)


def test_analytic_sigma_known_value() -> None:
    """Balle & Wang's running example: epsilon = 1, delta = 1e-5 gives sigma about 3.73
    (the classic formula, outside its range there, would give 4.84)."""
    assert analytic_gaussian_sigma(1.0, 1e-5, 1.0) == pytest.approx(3.7306, abs=1e-4)


@pytest.mark.parametrize("epsilon", [5.0, 10.0, 50.0])
def test_analytic_sigma_works_for_large_epsilon(epsilon: float) -> None:
    sigma = analytic_gaussian_sigma(epsilon, DELTA, 1.0)
    assert 0 < sigma < 1.1
    assert gaussian_delta(sigma, epsilon, 1.0) <= DELTA


def test_analytic_sigma_is_monotone() -> None:
    epsilons = [0.01, 0.0317, 0.0357, 0.0399, 0.065, 0.1, 0.5, 1.0, 2.0, 5.0, 10.0]
    sigmas = [analytic_gaussian_sigma(e, DELTA, 1.0) for e in epsilons]
    assert all(a > b for a, b in zip(sigmas, sigmas[1:])), "sigma must decrease as epsilon grows"
    deltas = [1e-9, 1e-7, 1e-5, 1e-3]
    by_delta = [analytic_gaussian_sigma(0.5, d, 1.0) for d in deltas]
    assert all(a > b for a, b in zip(by_delta, by_delta[1:])), "sigma must decrease as delta grows"
    assert analytic_gaussian_sigma(0.5, DELTA, 4.0) == pytest.approx(4 * analytic_gaussian_sigma(0.5, DELTA, 1.0), rel=1e-12)


def test_laplace_scale() -> None:
    assert laplace_scale(0.5, 1.0) == 2.0
    assert laplace_scale(0.1, 3.0) == pytest.approx(30.0)


# --------------------------------------------------------------------------- perturbation


def _noise(mechanism: str, epsilon: float, n: int, seed: int) -> tuple[np.ndarray, dict]:
    noisy, meta = perturb_counts(
        np.zeros(n, dtype=np.int64), mechanism, epsilon, DELTA, 1.0, seed, round=False, clip_at_zero=False
    )
    return noisy, meta


@pytest.mark.parametrize(("mechanism", "epsilon"), [("gaussian", 0.0650), ("analytic_gaussian", 0.5)])
def test_gaussian_noise_has_the_calibrated_std(mechanism: str, epsilon: float) -> None:
    """200,000 draws: the sample std's relative standard error is about 1/sqrt(2n) = 0.16%,
    so 1% is about 6 standard errors; the mean's standard error is sigma/sqrt(n) and the
    mean must be within 4 of them of 0."""
    n = 200_000
    noise, meta = _noise(mechanism, epsilon, n, seed=12345)
    sigma = meta["sigma"]
    assert noise.dtype == np.float64
    assert sigma == pytest.approx(
        classic_gaussian_sigma(epsilon, DELTA, 1.0) if mechanism == "gaussian" else analytic_gaussian_sigma(epsilon, DELTA, 1.0)
    )
    assert abs(noise.std() / sigma - 1) < 0.01
    assert abs(noise.mean()) < 4 * sigma / math.sqrt(n)
    # Gaussian, not just the right std: about 68.27% within one sigma (SE 0.1% at this n).
    assert abs(np.mean(np.abs(noise) < sigma) - 0.6827) < 0.005


def test_laplace_noise_has_the_calibrated_std() -> None:
    """Laplace noise has std sqrt(2) b and kurtosis 6, so the relative standard error of
    the sample std is sqrt((6 - 1) / (4 n)): 0.18% for n = 400,000, and 1% is about 5.7
    standard errors. Mean within 4 standard errors (sqrt(2) b / sqrt(n)) of 0."""
    n = 400_000
    noise, meta = _noise("laplace", 0.5, n, seed=2024)
    b = meta["scale"]
    assert b == 2.0 and meta["sigma"] is None and meta["delta"] == 0.0
    assert meta["noise_std"] == pytest.approx(math.sqrt(2) * b)
    assert abs(noise.std() / (math.sqrt(2) * b) - 1) < 0.01
    assert abs(noise.mean()) < 4 * math.sqrt(2) * b / math.sqrt(n)
    # Laplace, not Gaussian: mean absolute deviation is b (SE b/sqrt(n) = 0.16%).
    assert abs(np.mean(np.abs(noise)) / b - 1) < 0.01


def test_noise_is_added_to_every_count_independently() -> None:
    counts = np.arange(6 * 5000, dtype=np.int64).reshape(5000, 6) * 10
    noisy, meta = perturb_counts(counts, "analytic_gaussian", 0.5, DELTA, 1.0, seed=7, round=False, clip_at_zero=False)
    noise = noisy - counts
    assert noisy.shape == counts.shape
    assert np.all(noise != 0)
    # no correlation between zones or between consecutive intervals (|r| < 4/sqrt(n))
    corr = np.corrcoef(noise, rowvar=False)
    assert np.max(np.abs(corr - np.eye(6))) < 4 / math.sqrt(5000)
    lag = np.corrcoef(noise[:-1].ravel(), noise[1:].ravel())[0, 1]
    assert abs(lag) < 4 / math.sqrt(noise.size)
    assert meta["n_counts"] == counts.size


def test_metadata_names_the_release() -> None:
    _, meta = perturb_counts(np.ones((4, 6)), "gaussian", 0.0650, DELTA, 1.0, seed=3, round=True, clip_at_zero=False)
    assert meta == {
        "mechanism": "gaussian",
        "epsilon": 0.0650,
        "delta": DELTA,
        "sensitivity": 1.0,
        "sigma": pytest.approx(87.9517, abs=1e-4),
        "scale": None,
        "noise_std": pytest.approx(87.9517, abs=1e-4),
        "unit": None,
        "seed": 3,
        "round": True,
        "clip_at_zero": False,
        "n_counts": 24,
    }


def test_rounding_gives_integers_and_is_post_processing() -> None:
    counts = np.full((1000, 6), 50, dtype=np.int64)
    raw, _ = perturb_counts(counts, "analytic_gaussian", 0.5, DELTA, 1.0, seed=1, round=False, clip_at_zero=False)
    rounded, _ = perturb_counts(counts, "analytic_gaussian", 0.5, DELTA, 1.0, seed=1, round=True, clip_at_zero=False)
    assert rounded.dtype == np.int64
    assert np.array_equal(rounded, np.rint(raw).astype(np.int64))
    assert not np.array_equal(raw, np.rint(raw))  # the unrounded values are not integers


def test_clip_at_zero_gives_no_negatives_and_negatives_stay_otherwise() -> None:
    counts = np.zeros((2000, 6), dtype=np.int64)
    free, _ = perturb_counts(counts, "analytic_gaussian", 0.5, DELTA, 1.0, seed=5, round=True, clip_at_zero=False)
    clipped, meta = perturb_counts(counts, "analytic_gaussian", 0.5, DELTA, 1.0, seed=5, round=True, clip_at_zero=True)
    assert (free < 0).mean() > 0.4  # zero counts plus symmetric noise: about half negative
    assert clipped.min() == 0
    assert np.array_equal(clipped, np.maximum(free, 0))
    assert meta["clip_at_zero"] is True
    lap, _ = perturb_counts(counts, "laplace", 0.5, DELTA, 1.0, seed=5, round=False, clip_at_zero=True)
    assert lap.dtype == np.float64 and lap.min() == 0.0


def test_same_seed_same_release_other_seed_other_release() -> None:
    counts = np.arange(600, dtype=np.int64).reshape(100, 6)
    args = ("analytic_gaussian", 0.5, DELTA, 1.0)
    a, _ = perturb_counts(counts, *args, seed=42)
    b, _ = perturb_counts(counts, *args, seed=42)
    c, _ = perturb_counts(counts, *args, seed=43)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)
    assert np.mean(a == c) < 0.2


def test_perturb_counts_refuses_bad_input() -> None:
    with pytest.raises(ValueError, match=r"privacy\.ip\.mechanism"):
        perturb_counts(np.ones(3), "exponential", 0.5, DELTA, 1.0, seed=0)
    with pytest.raises(ValueError, match="NaN"):
        perturb_counts(np.array([1.0, np.nan]), "laplace", 0.5, DELTA, 1.0, seed=0)
    with pytest.raises(ValueError, match=r"privacy\.epsilon"):
        perturb_counts(np.ones(3), "gaussian", 1.0, DELTA, 1.0, seed=0)
    # Laplace ignores delta: pure epsilon-DP
    _, meta = perturb_counts(np.ones(3), "laplace", 0.5, 0.3, 1.0, seed=0)
    assert meta["delta"] == 0.0
