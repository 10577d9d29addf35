"""Input perturbation of integer counts: the discrete Gaussian and discrete Laplace.

Why these samplers
------------------
Floating-point noise leaks through its low-order bits (Mironov 2012), so integer counts
get integer noise drawn exactly: Canonne, Kamath & Steinke (NeurIPS 2020), Algorithm 1
(Bernoulli(exp(-gamma)) for rational gamma), Algorithm 2 (discrete Laplace) and
Algorithm 3 (discrete Gaussian), in Python integers and Fractions built from the exact
binary value of the scale, consuming only the stream's exact integers (``randbelow``).

OpenDP samples the same distributions exactly, but from its own OS CSPRNG, which cannot
be seeded: a run without a key uses OpenDP; a keyed run, which the data owner must be
able to reproduce, needs our own sampler on the keyed :class:`SecretStream`.

Calibration
-----------
The discrete Gaussian's sigma is the analytic Gaussian one (Balle & Wang 2018, Thm 8,
the exact delta of the continuous mechanism): for integer-valued shifts the
multivariate discrete Gaussian is at least as private as the continuous one, up to a
negligible term (CKS 2020, multivariate discrete Gaussian); the tests check this numerically
against dp_accounting's discrete-Gaussian privacy loss distribution. The discrete
Laplace with scale ``b`` is pure ``l1 / b``-DP for integer shifts.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from fractions import Fraction

import numpy as np
import opendp.prelude as dp
from scipy.special import log_ndtr

from dpforecast.privacy.randomness import SecretStream

MECHANISMS = ("discrete_gaussian", "discrete_laplace")
_RTOL_SIGMA = 1e-4

RandBelow = Callable[[int], int]


def _positive(name: str, value: float) -> float:
    value = float(value)
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name}: must be a positive finite number, got {value!r}")
    return value


# --- exact samplers (CKS 2020) -------------------------------------------------------


def _bernoulli_exp_le1(num: int, den: int, randbelow: RandBelow) -> bool:
    """Bernoulli(exp(-num/den)) for 0 <= num/den <= 1 (CKS Algorithm 1, first case)."""
    k = 1
    while randbelow(den * k) < num:  # Bernoulli(gamma / k)
        k += 1
    return k % 2 == 1


def _bernoulli_exp(num: int, den: int, randbelow: RandBelow) -> bool:
    """Bernoulli(exp(-num/den)) for any num/den >= 0: exp(-1) once per whole unit."""
    while num > den:
        if not _bernoulli_exp_le1(1, 1, randbelow):
            return False
        num -= den
    return _bernoulli_exp_le1(num, den, randbelow)


def _discrete_laplace_one(t: int, s: int, randbelow: RandBelow) -> int:
    """One draw with P(y) proportional to exp(-|y| s / t) (CKS Algorithm 2)."""
    while True:
        u = randbelow(t)
        if not _bernoulli_exp_le1(u, t, randbelow):
            continue
        v = 0
        while _bernoulli_exp_le1(1, 1, randbelow):
            v += 1
        y = (u + t * v) // s
        negative = randbelow(2) == 1
        if negative and y == 0:
            continue
        return -y if negative else y


def _discrete_gaussian_one(p: int, q: int, t: int, randbelow: RandBelow) -> int:
    """One draw of N_Z(0, p/q) with t = floor(sigma) + 1 (CKS Algorithm 3).

    Accepts a discrete Laplace(t) draw y with probability exp(-(|y| - s2/t)^2 / (2 s2)),
    s2 = p/q, i.e. exp(-(|y| q t - p)^2 / (2 p q t^2)) in integers.
    """
    den = 2 * p * q * t * t
    while True:
        y = _discrete_laplace_one(t, 1, randbelow)
        if _bernoulli_exp((abs(y) * q * t - p) ** 2, den, randbelow):
            return y


def discrete_gaussian(sigma: float, size: int, stream: SecretStream) -> np.ndarray:
    """Exact draws of the discrete Gaussian N_Z(0, sigma^2) from ``stream``'s integers."""
    exact = Fraction(_positive("sigma", sigma))
    variance = exact**2
    t = math.floor(exact) + 1
    p, q = variance.numerator, variance.denominator
    draws = [_discrete_gaussian_one(p, q, t, stream.randbelow) for _ in range(size)]
    return np.array(draws, dtype=np.int64)


def discrete_laplace(scale: float, size: int, stream: SecretStream) -> np.ndarray:
    """Exact draws with P(x) proportional to exp(-|x| / scale) from ``stream``'s integers."""
    exact = Fraction(_positive("scale", scale))
    t, s = exact.numerator, exact.denominator
    draws = [_discrete_laplace_one(t, s, stream.randbelow) for _ in range(size)]
    return np.array(draws, dtype=np.int64)


# --- OpenDP (unkeyed runs) -----------------------------------------------------------


def _opendp_measurement(mechanism: str, scale: float) -> dp.Measurement:
    dp.enable_features("contrib")
    domain = dp.vector_domain(dp.atom_domain(T=int))
    if mechanism == "discrete_gaussian":
        return dp.m.make_gaussian(domain, dp.l2_distance(T=int), scale)
    return dp.m.make_laplace(domain, dp.l1_distance(T=int), scale)


def opendp_discrete_gaussian(sigma: float, size: int) -> np.ndarray:
    """OpenDP's exact discrete Gaussian (its own OS CSPRNG; not reproducible)."""
    meas = _opendp_measurement("discrete_gaussian", _positive("sigma", sigma))
    return np.asarray(meas([0] * size), dtype=np.int64)


def opendp_discrete_laplace(scale: float, size: int) -> np.ndarray:
    """OpenDP's exact discrete Laplace (its own OS CSPRNG; not reproducible)."""
    meas = _opendp_measurement("discrete_laplace", _positive("scale", scale))
    return np.asarray(meas([0] * size), dtype=np.int64)


def sample(mechanism: str, scale: float, size: int, stream: SecretStream) -> np.ndarray:
    """Integer noise: a keyed stream uses our exact sampler (reproducible), else OpenDP."""
    if mechanism not in MECHANISMS:
        raise ValueError(f"mechanism: must be one of {MECHANISMS}, got {mechanism!r}")
    if stream.keyed:
        sampler = discrete_gaussian if mechanism == "discrete_gaussian" else discrete_laplace
        return sampler(scale, size, stream)
    if mechanism == "discrete_gaussian":
        return opendp_discrete_gaussian(scale, size)
    return opendp_discrete_laplace(scale, size)


# --- calibration and privacy maps ----------------------------------------------------


def _gaussian_delta(epsilon: float, sigma: float, l2: float) -> float:
    """Exact delta(epsilon) of the Gaussian mechanism (Balle & Wang 2018, Thm 8)."""
    a = l2 / (2 * sigma) - epsilon * sigma / l2
    b = -l2 / (2 * sigma) - epsilon * sigma / l2
    log_first = float(log_ndtr(a))
    log_second = epsilon + float(log_ndtr(b))
    return max(0.0, math.exp(log_first) * -math.expm1(log_second - log_first))


def _smallest_passing(passes: Callable[[float], bool], start: float, rtol: float) -> float:
    """The upper end of a bracket of the smallest x > 0 with ``passes(x)`` (monotone)."""
    lo = hi = start
    while not passes(hi):
        lo, hi = hi, 2 * hi
    while passes(lo):
        lo, hi = lo / 2, lo
    while hi - lo > rtol * hi:
        mid = (lo + hi) / 2
        lo, hi = (lo, mid) if passes(mid) else (mid, hi)
    return hi


def discrete_gaussian_sigma(epsilon: float, delta: float, l2_sensitivity: float) -> float:
    """The smallest sigma (to 1e-4, rounded up) making the Gaussian mechanism (eps, delta)-DP."""
    epsilon = _positive("epsilon", epsilon)
    l2 = _positive("l2_sensitivity", l2_sensitivity)
    if not 0 < delta < 1:
        raise ValueError(f"delta: must be in (0, 1), got {delta!r}")
    return _smallest_passing(lambda sigma: _gaussian_delta(epsilon, sigma, l2) <= delta, l2, _RTOL_SIGMA)


def gaussian_epsilon(sigma: float, l2: float, delta: float) -> float:
    """The epsilon at which N(0, sigma^2) with L2 sensitivity l2 is (eps, delta)-DP: the ledger's
    exact Gaussian epsilon (:func:`dpforecast.privacy.charges.gaussian_epsilon`) at mu = l2 / sigma."""
    from dpforecast.privacy.charges import gaussian_epsilon as epsilon_at_mu

    sigma, l2 = _positive("sigma", sigma), _positive("l2", l2)
    if not 0 < delta < 1:
        raise ValueError(f"delta: must be in (0, 1), got {delta!r}")
    return epsilon_at_mu(l2 / sigma, delta)


def discrete_laplace_scale(epsilon: float, l1_sensitivity: float) -> float:
    """The discrete Laplace scale giving pure epsilon-DP: l1 / epsilon."""
    return _positive("l1_sensitivity", l1_sensitivity) / _positive("epsilon", epsilon)


def laplace_epsilon(scale: float, l1: float) -> float:
    """The pure-DP epsilon of the discrete Laplace with this scale: l1 / scale."""
    return _positive("l1", l1) / _positive("scale", scale)
