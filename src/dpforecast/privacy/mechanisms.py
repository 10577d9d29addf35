"""Noise calibration and input perturbation of a count series (pure numpy and scipy).

What the guarantee is about
---------------------------
Every mechanism here protects **one count**: one zone during one 30-minute interval. The
sensitivity says how much one privacy unit can change that count; with sensitivity 1 the
unit is one person's presence in one zone during one interval (the study's choice, see
``params.privacy.ip.unit``). Each count gets its own independent noise, calibrated to
``(epsilon, delta)`` for that count alone. A person who contributes to ``k`` counts (present
in ``k`` intervals, or counted in two zones of one interval) is protected at ``k * epsilon``
(and ``k * delta``) by basic composition; tighter accounting (e.g. the Gaussian
mechanism's L2 composition) is the accountant's job, not this module's.

Post-processing (rounding to integers, clipping at zero) uses only the noisy values, so it
keeps the guarantee; it is offered as options because it changes the noise's
distribution (clipping biases small counts upwards).

Mechanisms:

* ``analytic_gaussian``: Balle & Wang (ICML 2018), the exact (smallest) sigma for which the
  Gaussian mechanism is (epsilon, delta)-DP, for any epsilon > 0;
* ``gaussian``: the classic bound ``sigma = sensitivity * sqrt(2 ln(1.25/delta)) / epsilon``
  (Dwork & Roth 2014, Thm A.1), proven only for epsilon < 1; the study's choice;
* ``laplace``: ``b = sensitivity / epsilon`` (L1 sensitivity), pure epsilon-DP (delta = 0).

Randomness comes from ``numpy.random.default_rng(seed)`` (PCG64, not a cryptographic
generator). Whoever knows the seed can regenerate the noise and subtract it, so the seed
of a release must be kept as secret as the raw data.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy import optimize, special

MECHANISMS = ("analytic_gaussian", "gaussian", "laplace")


def _check_epsilon(epsilon: float) -> float:
    epsilon = float(epsilon)
    if not math.isfinite(epsilon) or epsilon <= 0:
        raise ValueError(f"privacy.epsilon: must be a positive finite number, got {epsilon!r}")
    return epsilon


def _check_delta(delta: float) -> float:
    delta = float(delta)
    if not (0.0 < delta < 1.0):
        raise ValueError(f"privacy.delta: the Gaussian mechanism needs 0 < delta < 1, got {delta!r}")
    return delta


def _check_sensitivity(sensitivity: float) -> float:
    sensitivity = float(sensitivity)
    if not math.isfinite(sensitivity) or sensitivity <= 0:
        raise ValueError(f"privacy.ip.sensitivity: must be a positive finite number, got {sensitivity!r}")
    return sensitivity


def classic_gaussian_sigma(epsilon: float, delta: float, sensitivity: float) -> float:
    """``sensitivity * sqrt(2 ln(1.25/delta)) / epsilon`` (Dwork & Roth 2014, Theorem A.1).

    The bound is (epsilon, delta)-DP only for epsilon < 1 (the proof needs it), so larger
    epsilons are refused; use :func:`analytic_gaussian_sigma` there. For epsilon < 1 it is
    also larger than needed: the analytic sigma is smaller for the same guarantee.
    """
    epsilon = _check_epsilon(epsilon)
    delta = _check_delta(delta)
    sensitivity = _check_sensitivity(sensitivity)
    if epsilon >= 1.0:
        raise ValueError(
            f"privacy.epsilon: the classic Gaussian mechanism is only proven for epsilon < 1, got "
            f"{epsilon}; use privacy.ip.mechanism = analytic_gaussian"
        )
    return sensitivity * math.sqrt(2.0 * math.log(1.25 / delta)) / epsilon


def gaussian_delta(sigma: float, epsilon: float, sensitivity: float) -> float:
    """The exact delta of the Gaussian mechanism at ``epsilon`` (Balle & Wang 2018, Thm 8).

    ``Phi(D/(2s) - e s/D) - exp(e) Phi(-D/(2s) - e s/D)``, computed in log space
    (``log_ndtr``, ``expm1``) so that neither the tiny tails nor their difference lose
    precision: ``Phi(a) * (1 - exp(e + log Phi(b) - log Phi(a)))``.
    """
    s, e, d = float(sigma), float(epsilon), float(sensitivity)
    if s <= 0:
        return 1.0
    a = d / (2.0 * s) - e * s / d
    b = -d / (2.0 * s) - e * s / d
    la = float(special.log_ndtr(a))
    lb = float(special.log_ndtr(b))
    # a > b, so lb < la; the bracket is in [0, 1].
    return float(-math.exp(la) * math.expm1(e + lb - la))


def analytic_gaussian_sigma(epsilon: float, delta: float, sensitivity: float) -> float:
    """The smallest sigma for which the Gaussian mechanism is (epsilon, delta)-DP.

    Balle & Wang, "Improving the Gaussian mechanism for differential privacy: analytical
    calibration and optimal denoising", ICML 2018, Theorem 8 / Algorithm 1: the mechanism
    with L2 sensitivity ``D`` and noise ``N(0, s^2)`` is (e, d)-DP if and only if
    ``Phi(D/(2s) - e s/D) - exp(e) Phi(-D/(2s) - e s/D) <= d``. The left side decreases
    in ``s``; we solve it at equality with Brent's method on ``log`` of both sides (the
    paper reparametrises instead; solving on sigma directly is as exact and simpler), then
    step up to the first float that satisfies the inequality. Valid for any epsilon > 0.
    """
    epsilon = _check_epsilon(epsilon)
    delta = _check_delta(delta)
    sensitivity = _check_sensitivity(sensitivity)
    log_target = math.log(delta)

    def excess(sigma: float) -> float:
        got = gaussian_delta(sigma, epsilon, sensitivity)
        if got <= 0.0:  # far beyond the root: delta underflows
            return -math.inf
        return math.log(got) - log_target

    # Bracket the root: the classic formula's sigma (any epsilon) is a good scale.
    guess = sensitivity * math.sqrt(2.0 * math.log(1.25 / delta)) / epsilon
    hi = guess
    while excess(hi) > 0.0:
        hi *= 2.0
    lo = hi / 2.0
    while excess(lo) <= 0.0:
        hi, lo = lo, lo / 2.0
        if lo < 1e-300:
            raise ValueError(f"privacy.delta: cannot calibrate sigma for epsilon={epsilon}, delta={delta}")

    def f(sigma: float) -> float:
        value = excess(sigma)
        return value if math.isfinite(value) else -1e300

    sigma = float(optimize.brentq(f, lo, hi, xtol=1e-300, rtol=4 * np.finfo(float).eps, maxiter=500))
    # brentq lands within a few ulps of the root, on either side: make sure the guarantee holds.
    while excess(sigma) > 0.0:
        sigma = float(np.nextafter(sigma, math.inf))
    return sigma


def laplace_scale(epsilon: float, sensitivity: float) -> float:
    """``b = sensitivity / epsilon``: the Laplace mechanism is epsilon-DP (delta = 0) with
    L1 sensitivity ``sensitivity``. The noise's standard deviation is ``sqrt(2) * b``."""
    return _check_sensitivity(sensitivity) / _check_epsilon(epsilon)


def noise_scale(mechanism: str, epsilon: float, delta: float, sensitivity: float) -> float:
    """Sigma (Gaussian mechanisms) or ``b`` (Laplace) for one count."""
    if mechanism == "analytic_gaussian":
        return analytic_gaussian_sigma(epsilon, delta, sensitivity)
    if mechanism == "gaussian":
        return classic_gaussian_sigma(epsilon, delta, sensitivity)
    if mechanism == "laplace":
        return laplace_scale(epsilon, sensitivity)
    raise ValueError(f"privacy.ip.mechanism: must be one of {MECHANISMS}, got {mechanism!r}")


def perturb_counts(
    counts: np.ndarray,
    mechanism: str,
    epsilon: float,
    delta: float,
    sensitivity: float,
    seed: int | None,
    round: bool = True,  # noqa: A002 - the parameter's name in params.yaml
    clip_at_zero: bool = False,
) -> tuple[np.ndarray, dict[str, Any]]:
    """Add independent noise to every count; return the noisy array and what was done.

    Each element of ``counts`` (any shape) is one count (one zone x one interval) and gets
    its own draw from ``N(0, sigma^2)`` or ``Laplace(0, b)``, which makes each count
    (epsilon, delta)-DP for a change of ``sensitivity`` in it (see the module docstring
    for what that means for a person). The draws come from ``default_rng(seed)`` in C
    order, so one seed always gives the same release.

    Post-processing, after the noise: ``round`` to the nearest integer (ties to even),
    then ``clip_at_zero``. Negative noisy counts are legitimate without clipping.

    Returns ``float64`` values, or ``int64`` when rounded, and a metadata dict with
    ``mechanism, epsilon, delta`` (0 for Laplace), ``sensitivity, sigma, scale`` (the one
    that does not apply is None), ``noise_std, unit`` (None: the caller names it),
    ``seed, round, clip_at_zero, n_counts``.
    """
    values = np.asarray(counts)
    if values.dtype.kind not in "iuf":
        raise ValueError(f"counts must be numeric, got dtype {values.dtype}")
    values = values.astype(np.float64)
    if not np.all(np.isfinite(values)):
        raise ValueError("counts contain NaN or infinite values")
    scale = noise_scale(mechanism, epsilon, delta, sensitivity)
    rng = np.random.default_rng(seed)
    if mechanism == "laplace":
        noise = rng.laplace(0.0, scale, size=values.shape)
        noise_std = math.sqrt(2.0) * scale
    else:
        noise = rng.normal(0.0, scale, size=values.shape)
        noise_std = scale
    noisy = values + noise
    if round:
        noisy = np.rint(noisy)
    if clip_at_zero:
        noisy = np.maximum(noisy, 0.0)
    if round:
        noisy = noisy.astype(np.int64)
    gaussian = mechanism != "laplace"
    meta: dict[str, Any] = {
        "mechanism": mechanism,
        "epsilon": float(epsilon),
        "delta": float(delta) if gaussian else 0.0,
        "sensitivity": float(sensitivity),
        "sigma": scale if gaussian else None,
        "scale": None if gaussian else scale,
        "noise_std": noise_std,
        "unit": None,
        "seed": None if seed is None else int(seed),
        "round": bool(round),
        "clip_at_zero": bool(clip_at_zero),
        "n_counts": int(values.size),
    }
    return noisy, meta
