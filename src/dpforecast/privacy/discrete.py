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
The discrete Gaussian's sigma is the smallest that meets (epsilon, delta) by its own
privacy loss distribution on the unit (:mod:`~dpforecast.privacy.discrete_gaussian_accounting`),
the one the ledger charges: the continuous Gaussian's formula understates the discrete
one's loss at small sigma. The discrete Laplace with scale ``b`` is pure ``l1 / b``-DP for
integer shifts.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from fractions import Fraction

import numpy as np
import opendp.prelude as dp

from dpforecast.privacy.discrete_gaussian_accounting import calibrate_sigma
from dpforecast.privacy.randomness import SecretStream

MECHANISMS = ("discrete_gaussian", "discrete_laplace")

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


def discrete_gaussian_sigma(epsilon: float, delta: float, shift: int, coordinates: int) -> float:
    """The smallest sigma (to 5e-4, rounded up) making the discrete Gaussian (eps, delta)-DP on a
    unit that moves ``coordinates`` counts by ``shift`` each, by the ledger's accountant
    (:func:`~dpforecast.privacy.discrete_gaussian_accounting.calibrate_sigma`)."""
    _positive("epsilon", epsilon)
    if not 0 < delta < 1:
        raise ValueError(f"delta: must be in (0, 1), got {delta!r}")
    return calibrate_sigma(float(epsilon), float(delta), shift, coordinates)


def discrete_laplace_scale(epsilon: float, l1_sensitivity: float) -> float:
    """The discrete Laplace scale giving pure epsilon-DP: l1 / epsilon."""
    return _positive("l1_sensitivity", l1_sensitivity) / _positive("epsilon", epsilon)


def laplace_epsilon(scale: float, l1: float) -> float:
    """The pure-DP epsilon of the discrete Laplace with this scale: l1 / scale."""
    return _positive("l1", l1) / _positive("scale", scale)
