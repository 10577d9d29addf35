"""DP-SGD's Poisson-sampled Gaussian mechanism iterated ``steps`` times: its RDP and PRV epsilons.

One step of DP-SGD as Opacus runs it samples every training window independently with
probability ``sample_rate`` (Poisson sampling), clips each sampled window's gradient to
``max_grad_norm`` and adds ``N(0, (noise_multiplier * max_grad_norm)^2)`` to their sum.
The guarantee here is about one training window (add/remove one record) and its ``delta``:
the one-window case of :class:`~dpforecast.privacy.dp_sgd_accountant.DPSGDAccountant`,
which reads these routes; a unit touching several windows is
:mod:`~dpforecast.privacy.unit_accounting`'s.

Routes
------
``rdp``
    Renyi DP of the sampled Gaussian (Mironov, Talwar & Zhang 2019), composed over the
    steps, converted to (epsilon, delta) with the improved conversion (Balle et al. 2020,
    Thm 21; the one in Opacus and dp-accounting). An upper bound that never fails.
    The epsilon is a minimum over RDP orders, so it can only be as small as the order grid
    allows: with Opacus's default orders (up to 63) the study's first setting is stuck at
    about 0.18 whatever the noise (35 or 500); with orders up to 512 the four settings give
    0.0509 / 0.0258 / 0.0216 / 0.0175 (batch 10 for the third, see
    :data:`STUDY_GP_SETTINGS`), the last at the floor ``(ln(1/delta) - ln(alpha)) / (alpha - 1)``
    of order 512. :data:`RDP_ORDERS` runs up to 32,768: 0.0491 / 0.0236 / 0.0113 / 0.0029
    with batch 5 throughout (optimal orders 395 to 4,871).
``prv``
    Numerical composition of privacy loss random variables (Gopi, Lee & Wutschitz 2021),
    Opacus's :class:`~opacus.accountants.PRVAccountant`. It returns an upper bound
    ``estimate + eps_error``, where ``eps_error`` is an absolute error that Opacus sets to
    0.01 by default: as large as the epsilon itself in the study's settings, so we default
    to 5 % of the RDP epsilon (between 0.001 and 0.01; see :func:`default_prv_eps_error`).

Two pitfalls of Opacus 1.6 that this module works around (both are tested):

* ``RDPAccountant.get_epsilon(delta, alphas=...)`` with integer orders above about 1,029
  silently drops them: its RDP of integer orders goes through ``scipy.special.binom``, which
  overflows to ``inf`` there, the log-sum becomes NaN and the conversion ignores NaNs. So the
  RDP of integer orders is computed here with log-binomials (``gammaln``), vectorised; the
  fractional orders (all below 12) use Opacus's ``compute_rdp``, and the conversion is
  Opacus's ``get_privacy_spent``.
* ``PRVAccountant`` sizes its grid from the settings; for low noise and high sampling rates
  (e.g. noise 0.5, sample rate 0.5, 10,000 steps) it asks for ~5e8 points and the process
  is killed for memory. We estimate the grid first and refuse above
  :data:`PRV_MAX_POINTS` with an :class:`AccountingError`. Any failure of the PRV
  accountant is re-raised as :class:`AccountingError` naming the settings: there is no
  silent fallback to RDP, because a report must state the accountant that produced its
  epsilon. Use accountant ``rdp`` (never fails) in that case.

:func:`tf_privacy_2020_epsilon` and :func:`opacus_default_orders_epsilon` reproduce what
the study and Opacus's defaults state, independently of the routes above, to compare.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence

import numpy as np
from scipy import special


def _geometric_orders(start: int, stop: int, per_octave: int) -> list[int]:
    count = int(round(per_octave * math.log2(stop / start)))
    return sorted({int(round(start * 2 ** (k / per_octave))) for k in range(count + 1)})


#: RDP orders: 1.1 .. 11.0 by 0.1, 12 .. 63, then 64 .. 32,768 with 8 orders per octave.
#: The optimum for noise 500 at the study's sampling rate and steps is near order 4,900;
#: the floor of the largest order, ln(1/delta)/32767, is 5e-4 for delta = 1e-7.
RDP_ORDERS: tuple[float, ...] = tuple(
    [1 + x / 10.0 for x in range(1, 101)] + list(range(12, 64)) + _geometric_orders(64, 2**15, 8)
)

#: The orders TensorFlow Privacy's ``compute_dp_sgd_privacy`` used in 2020 (largest 512).
TF_PRIVACY_2020_ORDERS: tuple[float, ...] = tuple(
    [1 + x / 10.0 for x in range(1, 100)] + list(range(12, 64)) + [128, 256, 512]
)

#: The largest PRV discretisation grid we let Opacus allocate (float64 points).
PRV_MAX_POINTS = 20_000_000

#: The study's GP settings (noise multiplier, batch size, epsilon printed in the paper) and
#: the inputs that reproduce the printed epsilons with :func:`tf_privacy_2020_epsilon`
#: (n = 3,120 training intervals, 100 epochs, delta = 1e-7, sample rate batch / 3,120,
#: steps = ceil(100 * 3,120 / batch), as ``compute_dp_sgd_privacy`` computed them).
#: The paper states 5 micro-batches for all four; with batch 5 the third setting (noise
#: 140) gives 0.0336, not 0.0357. Batch 10 (the batch size the study tuned for its third IP
#: setting) gives 0.03573, so the paper's third figure was computed with batch 10 (or,
#: equally, 200 epochs or noise ~100). The first figure is 0.06507 with batch 5: the paper's
#: 0.0650 is that value truncated (rounding gives 0.0651). Truncating to 4 decimals
#: reproduces all four printed figures.
STUDY_GP_SETTINGS: tuple[tuple[float, int, float], ...] = (
    (35.0, 5, 0.0650),
    (70.0, 5, 0.0399),
    (140.0, 10, 0.0357),
    (500.0, 5, 0.0317),
)
STUDY_N = 3120
STUDY_EPOCHS = 100
STUDY_DELTA = 1e-7


class AccountingError(RuntimeError):
    """An accountant cannot produce an epsilon (or a noise multiplier) for these settings."""


def check_inputs(noise_multiplier: float, sample_rate: float, steps: int, delta: float) -> None:
    """Refuse settings no accountant can read, naming the input."""
    if not (math.isfinite(noise_multiplier) and noise_multiplier >= 0):
        raise ValueError(f"noise_multiplier must be a finite number >= 0, got {noise_multiplier!r}")
    if not (0.0 <= sample_rate <= 1.0):
        raise ValueError(f"sample_rate must be in [0, 1], got {sample_rate!r}")
    if steps < 0 or int(steps) != steps:
        raise ValueError(f"steps must be a whole number >= 0, got {steps!r}")
    if not (0.0 < delta < 1.0):
        raise ValueError(f"delta must be in (0, 1), got {delta!r}")


def steps_for(epochs: float, sample_rate: float) -> int:
    """Expected number of optimiser steps of ``epochs`` epochs at ``sample_rate``.

    ``ceil(epochs / sample_rate)``, the rule of TensorFlow Privacy's
    ``compute_dp_sgd_privacy`` (``ceil(epochs * n / batch)``); with Opacus's Poisson
    sampler one epoch is ``round(1 / sample_rate)`` steps, the same for the study.
    """
    return int(math.ceil(epochs / sample_rate - 1e-9))


# --------------------------------------------------------------------------- RDP


def _log_a_int(q: float, sigma: float, alpha: int) -> float:
    """``log A_alpha`` of the sampled Gaussian for integer ``alpha`` (Mironov et al. 2019).

    ``A_alpha = sum_k C(alpha, k) (1-q)^(alpha-k) q^k exp((k^2 - k) / (2 sigma^2))``. The
    binomial weights sum to 1, so ``A_alpha - 1`` is the same sum with ``expm1`` in place of
    ``exp`` (the terms k = 0, 1 vanish): all its terms are positive and it is summed in log
    space with log-binomials, then ``log A = log1p(A - 1)``. No order overflows, and tiny
    RDP values (large noise, low orders) keep full relative precision.
    """
    k = np.arange(2, alpha + 1, dtype=np.float64)
    x = (k * k - k) / (2.0 * sigma * sigma)
    log_expm1 = np.empty_like(x)
    big = x > 30.0
    log_expm1[big] = x[big] + np.log1p(-np.exp(-x[big]))
    log_expm1[~big] = np.log(np.expm1(x[~big]))
    log_binom = special.gammaln(alpha + 1.0) - special.gammaln(k + 1.0) - special.gammaln(alpha - k + 1.0)
    terms = log_binom + k * math.log(q) + (alpha - k) * math.log1p(-q) + log_expm1
    return float(np.logaddexp(0.0, special.logsumexp(terms)))


def sampled_gaussian_rdp(
    noise_multiplier: float, sample_rate: float, steps: int, orders: Sequence[float] = RDP_ORDERS
) -> np.ndarray:
    """RDP of ``steps`` steps of the Poisson-sampled Gaussian mechanism, one value per order.

    Integer orders: :func:`_log_a_int` (stable for any order). Fractional orders: Opacus's
    ``compute_rdp`` (its series for fractional orders; the grid's fractional orders are
    all below 12, where it is exact).
    """
    from opacus.accountants.analysis import rdp as opacus_rdp

    q, sigma = float(sample_rate), float(noise_multiplier)
    out = np.empty(len(orders), dtype=np.float64)
    for i, alpha in enumerate(orders):
        alpha = float(alpha)
        if alpha <= 1.0:
            raise ValueError(f"RDP orders must be > 1, got {alpha}")
        if q == 0.0 or steps == 0:
            out[i] = 0.0
        elif sigma == 0.0:
            out[i] = math.inf
        elif q == 1.0:
            out[i] = alpha / (2.0 * sigma * sigma)
        elif alpha.is_integer():
            out[i] = _log_a_int(q, sigma, int(alpha)) / (alpha - 1.0)
        else:
            out[i] = float(opacus_rdp.compute_rdp(q=q, noise_multiplier=sigma, steps=1, orders=alpha))
    return out * steps


def rdp_epsilon_and_order(
    noise_multiplier: float,
    sample_rate: float,
    steps: int,
    delta: float,
    orders: Sequence[float] = RDP_ORDERS,
) -> tuple[float, float]:
    """``(epsilon, optimal order)`` of DP-SGD under RDP with the improved conversion.

    Warns (``RuntimeWarning``) when the optimum is the largest order of the grid: the
    epsilon then sits at that order's floor and a wider grid would give a smaller one.
    """
    from opacus.accountants.analysis import rdp as opacus_rdp

    check_inputs(noise_multiplier, sample_rate, steps, delta)
    if steps == 0 or sample_rate == 0.0:
        return 0.0, float("nan")
    if noise_multiplier == 0.0:
        return math.inf, float("nan")
    rdp = sampled_gaussian_rdp(noise_multiplier, sample_rate, steps, orders)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Opacus warns at the grid's ends; we say it ourselves
        eps, order = opacus_rdp.get_privacy_spent(orders=list(orders), rdp=rdp, delta=delta)
    eps, order = float(eps), float(order)
    if not math.isnan(order) and order == float(max(orders)):
        warnings.warn(
            f"RDP epsilon {eps:.4g} is attained at the largest order {order:g}: it is that order's "
            f"floor, not the noise's; extend the orders for a tighter bound",
            RuntimeWarning,
            stacklevel=2,
        )
    return max(0.0, eps), order


# --------------------------------------------------------------------------- PRV


def default_prv_eps_error(rdp_epsilon: float) -> float:
    """The PRV accountant's absolute error we ask for: 5 % of the RDP epsilon, in [0.001, 0.01].

    Opacus's default (0.01) is fine for epsilons of order 1 but as large as the epsilon in
    the study's settings (0.003 to 0.05); the PRV grid grows as ``1 / eps_error`` (about
    8 s and 6 million points at 0.001 for 62,400 steps), hence the floor.
    """
    if not math.isfinite(rdp_epsilon):
        return 0.01
    return min(0.01, max(0.001, 0.05 * rdp_epsilon))


def prv_grid_points(
    noise_multiplier: float, sample_rate: float, steps: int, eps_error: float, delta_error: float
) -> int:
    """The number of points of the grid Opacus's PRV accountant would allocate."""
    from opacus.accountants.analysis.prv import (
        PoissonSubsampledGaussianPRV,
        compute_safe_domain_size,
    )

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        half_width = compute_safe_domain_size(
            prvs=[PoissonSubsampledGaussianPRV(sample_rate, noise_multiplier)],
            max_self_compositions=[int(steps)],
            eps_error=eps_error,
            delta_error=delta_error,
        )
    mesh = eps_error / math.sqrt(steps * math.log(12.0 / delta_error) / 2.0)
    return int(math.ceil(2.0 * half_width / mesh)) + 2


def prv_epsilon(
    noise_multiplier: float,
    sample_rate: float,
    steps: int,
    delta: float,
    eps_error: float | None = None,
    delta_error: float | None = None,
) -> float:
    """Opacus's PRV accountant's upper bound on epsilon (``estimate + eps_error``).

    ``eps_error`` None: :func:`default_prv_eps_error` of the RDP epsilon. ``delta_error``
    None: ``delta / 1000`` (Opacus's default). Raises :class:`AccountingError` when the grid
    would exceed :data:`PRV_MAX_POINTS` or the accountant fails.
    """
    from opacus.accountants import PRVAccountant

    check_inputs(noise_multiplier, sample_rate, steps, delta)
    if steps == 0 or sample_rate == 0.0:
        return 0.0
    if noise_multiplier == 0.0:
        return math.inf
    if eps_error is None:
        eps_error = default_prv_eps_error(
            rdp_epsilon_and_order(noise_multiplier, sample_rate, steps, delta)[0]
        )
    if delta_error is None:
        delta_error = delta / 1000.0
    where = (
        f"noise_multiplier={noise_multiplier}, sample_rate={sample_rate:.6g}, steps={steps}, "
        f"delta={delta:g}, eps_error={eps_error:g}"
    )
    try:
        points = prv_grid_points(noise_multiplier, sample_rate, steps, eps_error, delta_error)
    except Exception as exc:  # noqa: BLE001 - any failure of the accountant is reported as one
        raise AccountingError(
            f"PRV accountant failed ({where}): {type(exc).__name__}: {exc}; use accountant 'rdp'"
        ) from exc
    if points > PRV_MAX_POINTS:
        raise AccountingError(
            f"PRV accountant would discretise on {points:,} points (limit {PRV_MAX_POINTS:,}) for "
            f"{where}; use accountant 'rdp' or a larger eps_error"
        )
    acc = PRVAccountant()
    acc.history = [(float(noise_multiplier), float(sample_rate), int(steps))]
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            eps = float(acc.get_epsilon(delta=delta, eps_error=eps_error, delta_error=delta_error))
    except Exception as exc:  # noqa: BLE001
        raise AccountingError(
            f"PRV accountant failed ({where}): {type(exc).__name__}: {exc}; use accountant 'rdp'"
        ) from exc
    if not math.isfinite(eps):
        raise AccountingError(f"PRV accountant returned {eps} ({where}); use accountant 'rdp'")
    return max(0.0, eps)


# --------------------------------------------------------------------------- cross-checks


def tf_privacy_2020_epsilon(noise_multiplier: float, sample_rate: float, steps: int, delta: float) -> float:
    """The epsilon TensorFlow Privacy's ``compute_dp_sgd_privacy`` printed in 2020.

    RDP of the sampled Gaussian (Opacus's ``compute_rdp``, the same analysis) on
    :data:`TF_PRIVACY_2020_ORDERS` (largest order 512) with the OLD conversion
    ``eps = min over orders of (rdp - ln(delta) / (order - 1))`` (Mironov 2017, Prop. 3).
    Kept to compare with the study only: the old conversion is looser than the current one,
    and the largest order 512 puts a floor of ``ln(1/delta)/511`` (0.0315 at delta 1e-7)
    under every result whatever the noise. See :data:`STUDY_GP_SETTINGS` for the inputs that
    reproduce the study's figures.
    """
    from opacus.accountants.analysis import rdp as opacus_rdp

    check_inputs(noise_multiplier, sample_rate, steps, delta)
    if steps == 0 or sample_rate == 0.0:
        return 0.0
    if noise_multiplier == 0.0:
        return math.inf
    orders = np.asarray(TF_PRIVACY_2020_ORDERS, dtype=np.float64)
    rdp = np.asarray(
        opacus_rdp.compute_rdp(q=sample_rate, noise_multiplier=noise_multiplier, steps=steps, orders=list(orders))
    )
    eps = rdp - math.log(delta) / (orders - 1.0)
    return float(np.nanmin(eps))


def opacus_default_orders_epsilon(noise_multiplier: float, sample_rate: float, steps: int, delta: float) -> float:
    """Opacus's own ``RDPAccountant`` with its default orders (for comparison only)."""
    from opacus.accountants import RDPAccountant

    acc = RDPAccountant()
    acc.history = [(float(noise_multiplier), float(sample_rate), int(steps))]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return float(acc.get_epsilon(delta=delta))
