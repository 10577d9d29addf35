"""Exact discrete Gaussian and Laplace samplers, their OpenDP counterparts, and the
calibration, cross-checked against dp_accounting and OpenDP's privacy maps."""

from __future__ import annotations

import math
import time

import numpy as np
import opendp.prelude as dp
import pytest
from dp_accounting.pld import privacy_loss_distribution as pld
from scipy import stats

from dpforecast.privacy import discrete
from dpforecast.privacy.discrete import (
    discrete_gaussian,
    discrete_gaussian_sigma,
    discrete_laplace,
    discrete_laplace_scale,
    laplace_epsilon,
    opendp_discrete_gaussian,
    opendp_discrete_laplace,
    sample,
)
from dpforecast.privacy.discrete_gaussian_accounting import (
    discrete_epsilon,
    gaussian_epsilon,
)
from dpforecast.privacy.randomness import PrivacyKey, SecretStream

KEY = PrivacyKey(bytes(range(32)), "test")
N = 20_000


def _stream(**context: object) -> SecretStream:
    return SecretStream.for_context(KEY, {"test": "discrete", **context})


def _gaussian_pmf(sigma: float) -> tuple[np.ndarray, np.ndarray]:
    support = np.arange(-math.ceil(12 * sigma) - 2, math.ceil(12 * sigma) + 3)
    weights = np.exp(-(support.astype(float) ** 2) / (2 * sigma**2))
    return support, weights / weights.sum()


def _laplace_pmf(scale: float) -> tuple[np.ndarray, np.ndarray]:
    support = np.arange(-math.ceil(40 * scale), math.ceil(40 * scale) + 1)
    weights = np.exp(-np.abs(support) / scale)
    return support, weights / weights.sum()


def _chisquare_pvalue(draws: np.ndarray, support: np.ndarray, pmf: np.ndarray, min_expected: float = 40) -> float:
    """Goodness of fit, with neighbouring values merged until each bin expects enough draws."""
    assert draws.min() >= support[0] and draws.max() <= support[-1]
    observed = np.bincount(draws - support[0], minlength=support.size).astype(float)
    expected = pmf * draws.size
    bins_obs, bins_exp, acc_obs, acc_exp = [], [], 0.0, 0.0
    for o, e in zip(observed, expected):
        acc_obs, acc_exp = acc_obs + o, acc_exp + e
        if acc_exp >= min_expected:
            bins_obs.append(acc_obs)
            bins_exp.append(acc_exp)
            acc_obs = acc_exp = 0.0
    bins_obs[-1] += acc_obs
    bins_exp[-1] += acc_exp
    return float(stats.chisquare(bins_obs, bins_exp).pvalue)


def _two_sample_pvalue(a: np.ndarray, b: np.ndarray) -> float:
    """Chi-square test of homogeneity on bins holding about 2% of the pooled draws each."""
    edges = np.unique(np.quantile(np.concatenate((a, b)), np.linspace(0, 1, 51)[1:-1], method="lower"))
    table = np.array([np.bincount(np.searchsorted(edges, x, side="right"), minlength=edges.size + 1) for x in (a, b)])
    return float(stats.chi2_contingency(table).pvalue)


# --- exact samplers ------------------------------------------------------------------


@pytest.mark.parametrize("sigma", [0.5, 3.0, 3.3, 30.0])
def test_discrete_gaussian_matches_its_pmf(sigma: float) -> None:
    draws = discrete_gaussian(sigma, N, _stream(sigma=sigma))
    assert draws.dtype == np.int64 and draws.shape == (N,)
    assert _chisquare_pvalue(draws, *_gaussian_pmf(sigma)) > 1e-3
    # the test has power: a sigma 10% off is rejected
    assert _chisquare_pvalue(draws, *_gaussian_pmf(1.1 * sigma)) < 1e-6


@pytest.mark.parametrize("scale", [0.7, 2.5, 1 / 0.3, 20.0])
def test_discrete_laplace_matches_its_pmf(scale: float) -> None:
    draws = discrete_laplace(scale, N, _stream(scale=scale))
    assert draws.dtype == np.int64 and draws.shape == (N,)
    assert _chisquare_pvalue(draws, *_laplace_pmf(scale)) > 1e-3
    assert _chisquare_pvalue(draws, *_laplace_pmf(1.1 * scale)) < 1e-6


@pytest.mark.parametrize("sigma", [3.0, 30.0])
def test_discrete_gaussian_agrees_with_opendp(sigma: float) -> None:
    ours = discrete_gaussian(sigma, N, _stream(sigma=sigma, against="opendp"))
    theirs = opendp_discrete_gaussian(sigma, N)
    assert theirs.dtype == np.int64 and theirs.shape == (N,)
    assert _two_sample_pvalue(ours, theirs) > 1e-4
    assert _two_sample_pvalue(ours, opendp_discrete_gaussian(1.2 * sigma, N)) < 1e-6


def test_discrete_laplace_agrees_with_opendp() -> None:
    ours = discrete_laplace(2.5, N, _stream(against="opendp"))
    theirs = opendp_discrete_laplace(2.5, N)
    assert theirs.dtype == np.int64 and theirs.shape == (N,)
    assert _two_sample_pvalue(ours, theirs) > 1e-4
    assert _two_sample_pvalue(ours, opendp_discrete_laplace(3.5, N)) < 1e-6


def test_exact_samplers_are_reproducible_from_the_key_and_context() -> None:
    a = discrete_gaussian(6.0, 500, _stream(run=1))
    np.testing.assert_array_equal(a, discrete_gaussian(6.0, 500, _stream(run=1)))
    assert not np.array_equal(a, discrete_gaussian(6.0, 500, _stream(run=2)))
    b = discrete_laplace(6.0, 500, _stream(run=1))
    np.testing.assert_array_equal(b, discrete_laplace(6.0, 500, _stream(run=1)))


def test_large_sigma_is_fast_enough_for_a_release() -> None:
    start = time.perf_counter()
    draws = discrete_gaussian(389.0, 20_736, _stream(sigma=389))
    assert time.perf_counter() - start < 10
    assert abs(draws.std() / 389.0 - 1) < 0.03 and abs(draws.mean()) < 5 * 389 / math.sqrt(draws.size)


# --- routing -------------------------------------------------------------------------


def test_sample_uses_the_exact_sampler_on_a_keyed_stream() -> None:
    for mechanism, sampler in (("discrete_gaussian", discrete_gaussian), ("discrete_laplace", discrete_laplace)):
        got = sample(mechanism, 4.0, 300, _stream(m=mechanism))
        np.testing.assert_array_equal(got, sampler(4.0, 300, _stream(m=mechanism)))


def test_sample_uses_opendp_without_a_key(monkeypatch: pytest.MonkeyPatch) -> None:
    unkeyed = SecretStream.for_context(None, {"test": "discrete"})
    for mechanism in discrete.MECHANISMS:
        draws = sample(mechanism, 4.0, 300, unkeyed)
        assert draws.dtype == np.int64 and draws.shape == (300,) and draws.std() > 2
    calls: list[tuple[str, float, int]] = []
    monkeypatch.setattr(discrete, "opendp_discrete_gaussian", lambda s, n: calls.append(("g", s, n)) or np.zeros(n, np.int64))
    monkeypatch.setattr(discrete, "opendp_discrete_laplace", lambda s, n: calls.append(("l", s, n)) or np.zeros(n, np.int64))
    sample("discrete_gaussian", 4.0, 3, unkeyed)
    sample("discrete_laplace", 5.0, 2, unkeyed)
    assert calls == [("g", 4.0, 3), ("l", 5.0, 2)]
    with pytest.raises(ValueError, match="mechanism"):
        sample("gaussian", 4.0, 3, unkeyed)


# --- calibration (tests/unit/privacy/test_discrete_calibration.py checks it by exact summation) -------


def _closed_form_delta(epsilon: float, mu: float) -> float:
    """Balle & Wang (2018) Thm 8 at ``mu = l2 / sigma``, written out independently of the module."""
    return float(stats.norm.cdf(mu / 2 - epsilon / mu) - math.exp(epsilon) * stats.norm.cdf(-mu / 2 - epsilon / mu))


def test_continuous_gaussian_epsilon_matches_dp_accounting_and_the_closed_form() -> None:
    for sigma, l2, delta in ((3.0, 1.0, 1e-6), (40.0, math.sqrt(96), 1e-5), (389.0, math.sqrt(6912), 1e-7)):
        ours = gaussian_epsilon(l2 / sigma, delta)
        theirs = pld.from_gaussian_mechanism(sigma, sensitivity=l2, value_discretization_interval=1e-5).get_epsilon_for_delta(delta)
        assert ours == pytest.approx(theirs, rel=1e-3)
        assert _closed_form_delta(ours, l2 / sigma) == pytest.approx(delta, rel=1e-6)


def test_gaussian_epsilon_is_zero_when_noise_alone_meets_delta() -> None:
    assert gaussian_epsilon(1 / 1000.0, 0.01) == 0.0


# Montreuil's person unit (6,912 coordinates) takes 12-14 s: the slow job runs it.
@pytest.mark.parametrize("shift, coordinates, delta", [(1, 2, 1e-5), (3, 96, 1e-5),
                                                       pytest.param(3, 6912, 1e-7, marks=pytest.mark.slow)])
def test_calibrated_discrete_gaussian_meets_epsilon_by_a_finer_pld(shift: int, coordinates: int, delta: float) -> None:
    """A unit moving ``coordinates`` counts by ``shift``: dp_accounting's discrete-Gaussian PLD,
    at twice our resolution (ours: a two-hundredth of epsilon per coordinate, plus 20,000),
    puts the calibrated sigma at epsilon 1 (never above, within 0.5 %)."""
    sigma = discrete_gaussian_sigma(1.0, delta, shift, coordinates)
    finer = pld.from_discrete_gaussian_mechanism(sigma, sensitivity=shift,
                                                 value_discretization_interval=1 / (400 * coordinates + 40_000))
    epsilon = finer.self_compose(coordinates).get_epsilon_for_delta(delta) if coordinates > 1 else \
        finer.get_epsilon_for_delta(delta)
    assert 0.995 < epsilon <= 1.0 + 1e-9


@pytest.mark.parametrize("sigma, l2", [(3.0, 1), (30.0, 3), (5.0, 2)])
def test_gaussian_maps_agree_with_opendp(sigma: float, l2: int) -> None:
    """OpenDP's zCDP map is ours (rho = l2^2 / 2 sigma^2); its conversion to (epsilon, delta) is a
    looser bound of the same mechanism, so our PLD epsilon must lie below it."""
    dp.enable_features("contrib")
    meas = dp.m.make_gaussian(dp.vector_domain(dp.atom_domain(T=int)), dp.l2_distance(T=int), sigma)
    assert meas.map(l2) == pytest.approx(l2**2 / (2 * sigma**2), rel=1e-9)
    zcdp_epsilon = dp.c.make_zCDP_to_approxDP(meas).map(l2).epsilon(1e-6)
    ours = discrete_epsilon(sigma, l2, 1, 1e-6)
    assert 0.8 * zcdp_epsilon <= ours <= zcdp_epsilon


@pytest.mark.parametrize("epsilon, l1", [(0.5, 1), (1.0, 2), (0.1, 3)])
def test_laplace_maps_agree_with_opendp(epsilon: float, l1: int) -> None:
    scale = discrete_laplace_scale(epsilon, l1)
    assert laplace_epsilon(scale, l1) == pytest.approx(epsilon, rel=1e-12)
    dp.enable_features("contrib")
    meas = dp.m.make_laplace(dp.vector_domain(dp.atom_domain(T=int)), dp.l1_distance(T=int), scale)
    assert meas.map(l1) == pytest.approx(laplace_epsilon(scale, l1), rel=1e-9)


@pytest.mark.parametrize(
    "call",
    [
        lambda: discrete_gaussian_sigma(0.0, 1e-5, 1, 1),
        lambda: discrete_gaussian_sigma(1.0, 0.0, 1, 1),
        lambda: discrete_gaussian_sigma(1.0, 1e-5, -1, 1),
        lambda: discrete_gaussian_sigma(1.0, 1e-5, 1, 0),
        lambda: discrete_laplace_scale(math.inf, 1.0),
        lambda: discrete_gaussian(0.0, 3, SecretStream(b"x")),
        lambda: discrete_laplace(-1.0, 3, SecretStream(b"x")),
    ],
)
def test_invalid_parameters_are_refused(call) -> None:
    with pytest.raises(ValueError):
        call()
