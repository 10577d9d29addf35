"""The discrete Gaussian's privacy on a unit, as the continuous Gaussian that dominates it.

Why not the continuous Gaussian's curve
---------------------------------------
The multivariate discrete Gaussian has the continuous one's zCDP (Canonne, Kamath &
Steinke 2020: ``rho = ||shift||^2 / (2 sigma^2)`` for integer shifts), but not its
(epsilon, delta) curve: the privacy loss lives on a lattice, and at small sigma it is
measurably worse (Montreuil's event at epsilon 10 with raw counts: sigma 0.82, epsilon
10.23 by dp_accounting's discrete-Gaussian privacy loss distribution, 10.00 by the
continuous formula). Accounting it as continuous would understate the spend.

What we compute
---------------
A unit moves ``coordinates`` counts by at most ``shift`` each (:meth:`PrivacyUnit.discrete_shift
<dpforecast.privacy.unit.PrivacyUnit.discrete_shift>`); its worst neighbour moves every one
by the full shift. dp_accounting's discrete-Gaussian privacy loss distribution (one
coordinate, pessimistic, self-composed ``coordinates`` times: :func:`discrete_gaussian_pld`)
is an upper bound of that neighbour's. Its discretisation interval is a two-hundredth of
the continuous epsilon per coordinate, because each composition rounds the loss up by at
most one interval: the bound costs about 0.25 % of epsilon. A release's epsilon
(:func:`discrete_epsilon`) and its calibration (:func:`calibrate_sigma`, from the analytic
Gaussian's sigma upwards) read that distribution, so a release's stated epsilon is what
the ledger charges for it. To compose it with other records on the ledger's coarser grid,
:func:`coarsened` rounds every loss up once more (still an upper bound).

That moving every count by the full shift is the worst neighbour (smaller shifts, or a
declared bound's crossings split over several counts, cost less) holds for the continuous
Gaussian by its L2 norm; for the discrete one ``tests/unit/privacy/test_discrete_gaussian_accounting.py``
checks it numerically on the scales the specs produce.
"""

from __future__ import annotations

import functools
import math
from typing import TYPE_CHECKING

import numpy as np
from scipy import optimize
from scipy.special import log_ndtr

if TYPE_CHECKING:
    from dp_accounting.pld.privacy_loss_distribution import PrivacyLossDistribution

#: Probability mass dp_accounting may drop (as infinite loss) while self-composing.
_TAIL_MASS = 1e-15


def gaussian_delta(mu: float, epsilon: float) -> float:
    """Exact ``delta(epsilon)`` of N(0, 1) against N(mu, 1) (Balle & Wang 2018, Thm 8)."""
    if mu <= 0.0:
        return 0.0
    log_first = float(log_ndtr(mu / 2 - epsilon / mu))
    log_second = epsilon + float(log_ndtr(-mu / 2 - epsilon / mu))
    if log_first == -math.inf:
        return 0.0
    return max(0.0, math.exp(log_first) * -math.expm1(min(0.0, log_second - log_first)))


def gaussian_epsilon(mu: float, delta: float) -> float:
    """The smallest epsilon with ``gaussian_delta(mu, epsilon) <= delta``."""
    if mu <= 0.0 or gaussian_delta(mu, 0.0) <= delta:
        return 0.0
    hi = mu * mu / 2 + mu * math.sqrt(2 * math.log(1 / delta)) + 1.0
    while gaussian_delta(mu, hi) > delta:
        hi *= 2.0
    return float(optimize.brentq(lambda e: gaussian_delta(mu, e) - delta, 0.0, hi, xtol=1e-12, rtol=1e-12))


def analytic_sigma(epsilon: float, delta: float, l2_sensitivity: float) -> float:
    """The continuous Gaussian's smallest sigma for (epsilon, delta) (Balle & Wang 2018): where
    the discrete Gaussian's calibration starts, and what it is compared with."""
    return l2_sensitivity / optimize.brentq(lambda m: gaussian_epsilon(m, delta) - epsilon, 1e-9, 1e3 + 10 * epsilon)


def _check(sigma: float, shift: int, coordinates: int) -> None:
    if not (math.isfinite(sigma) and sigma > 0):
        raise ValueError(f"sigma: must be a finite number > 0, got {sigma!r}")
    for name, value in (("shift", shift), ("coordinates", coordinates)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name}: must be an int >= 1, got {value!r}")


@functools.lru_cache(maxsize=8)  # a person over years is millions of bins: keep few
def discrete_gaussian_pld(sigma: float, shift: int, coordinates: int) -> PrivacyLossDistribution:
    """The discrete Gaussian's privacy loss distribution on the unit (an upper bound)."""
    from dp_accounting.pld import privacy_loss_distribution

    _check(sigma, shift, coordinates)
    continuous = gaussian_epsilon(shift * math.sqrt(coordinates) / sigma, 1e-7)
    interval = max(1e-9, continuous / (200.0 * coordinates + 20_000.0))
    one = privacy_loss_distribution.from_discrete_gaussian_mechanism(
        sigma, sensitivity=shift, value_discretization_interval=interval)
    return one.self_compose(coordinates, tail_mass_truncation=_TAIL_MASS) if coordinates > 1 else one


def zcdp_epsilon(mu: float, delta: float) -> float:
    """An upper bound of the epsilon at ``delta`` of any ``mu^2 / 2``-zCDP mechanism, the discrete
    Gaussian's included (Bun & Steinke 2016, Prop. 1.3): ``rho + 2 sqrt(rho log(1 / delta))``."""
    rho = mu * mu / 2
    return rho + 2 * math.sqrt(rho * math.log(1 / delta))


@functools.lru_cache(maxsize=1024)
def discrete_epsilon(sigma: float, shift: int, coordinates: int, delta: float) -> float:
    """The discrete Gaussian's epsilon at ``delta`` on the unit, as the ledger accounts it: its
    PLD's, or, where that overflows (epsilons in the hundreds, a unit far larger than the
    release's), the zCDP bound, also an upper bound."""
    with np.errstate(over="ignore"):
        epsilon = float(discrete_gaussian_pld(sigma, shift, coordinates).get_epsilon_for_delta(delta))
    if not math.isfinite(epsilon):
        return zcdp_epsilon(shift * math.sqrt(coordinates) / sigma, delta)
    return max(0.0, epsilon)


def coarsened(pld: PrivacyLossDistribution, interval: float) -> PrivacyLossDistribution:
    """``pld`` on a coarser grid (every loss rounded up to a multiple of ``interval``), to
    compose it with PLDs discretised at ``interval``. Reads the dense pmf's fields, which
    dp_accounting (pinned at 0.6.0) does not expose; the tests pin the result."""
    from dp_accounting.pld import privacy_loss_distribution

    dense = pld._pmf_remove.to_dense_pmf()  # symmetric: the add pmf is the same
    losses = (dense._lower_loss + np.arange(dense._probs.size)) * dense._discretization
    index = np.ceil(losses / interval - 1e-9).astype(np.int64)
    keys, inverse = np.unique(index, return_inverse=True)
    probs = np.bincount(inverse, weights=dense._probs)
    return privacy_loss_distribution.PrivacyLossDistribution.create_from_rounded_probability(
        dict(zip(keys.tolist(), probs.tolist())), dense._infinity_mass, interval, pessimistic_estimate=True)


@functools.lru_cache(maxsize=256)
def calibrate_sigma(epsilon: float, delta: float, shift: int, coordinates: int) -> float:
    """The smallest sigma (to 5e-4 relative, rounded up) at which :func:`discrete_epsilon` meets
    ``epsilon``: from the analytic Gaussian's sigma upwards, then bisection. A release then
    spends its requested epsilon to about three digits, never more."""
    if not (math.isfinite(epsilon) and epsilon > 0):
        raise ValueError(f"epsilon: must be a finite number > 0, got {epsilon!r}")
    if not 0 < delta < 1:
        raise ValueError(f"delta: must be in (0, 1), got {delta!r}")
    _check(1.0, shift, coordinates)
    lo = analytic_sigma(epsilon, delta, shift * math.sqrt(coordinates))
    hi, factor = lo, 1.002
    while discrete_epsilon(hi, shift, coordinates, delta) > epsilon:
        lo, hi, factor = hi, hi * factor, factor * factor
    while hi - lo > 5e-4 * hi:
        mid = (lo + hi) / 2
        lo, hi = (lo, mid) if discrete_epsilon(mid, shift, coordinates, delta) <= epsilon else (mid, hi)
    return hi
