"""How private a run at least was, from how well its canaries' membership could be guessed.

Steinke, Nasr and Jagielski (2023), "Privacy Auditing with One (1) Training Run", Theorem
3.1: ``m`` canaries each join the training set independently with probability 1/2; an
auditor guesses in or out for ``r`` of them and abstains on the rest. If the training is
``(epsilon, delta)``-DP with respect to adding or removing one canary, the number ``W`` of
correct guesses satisfies, for every ``v``,

    P[W >= v] <= f(v) + 2 m delta max_{1 <= i <= v} (f(v - i) - f(v)) / i,
    f(v) = P[Binomial(r, e^eps / (1 + e^eps)) >= v],

i.e. the guesses are no better than randomised response at ``epsilon`` (plus a ``delta``
term). Observing ``v`` correct guesses therefore rejects every ``epsilon`` whose right-hand
side is at most ``beta``: the largest such ``epsilon`` is a lower bound at confidence
``1 - beta``. ``delta`` is included as the theorem does (with ``delta = 0`` it is the pure-DP
bound, which would NOT be a valid lower bound of an ``(epsilon, delta)`` claim: the delta
term only makes the bound smaller).
"""

from __future__ import annotations

import math

import numpy as np
from scipy import optimize, stats


def _check(m: int, r: int, v: int, delta: float, beta: float) -> None:
    if not (0 <= v <= r <= m):
        raise ValueError(f"need 0 <= correct <= guesses <= canaries, got v={v}, r={r}, m={m}")
    if not (0.0 <= delta < 1.0):
        raise ValueError(f"delta must be in [0, 1), got {delta}")
    if not (0.0 < beta < 1.0):
        raise ValueError(f"beta must be in (0, 1), got {beta}")


def p_value(m: int, r: int, v: int, epsilon: float, delta: float = 0.0) -> float:
    """The theorem's bound on ``P[W >= v]`` for an ``(epsilon, delta)``-DP run (may exceed 1)."""
    _check(m, r, v, delta, 0.5)
    q = 1.0 / (1.0 + math.exp(-epsilon))  # randomised response's accuracy at epsilon

    # f(w) = P[Binomial(r, q) >= w] for w = v, v - 1, ..., 0, in one call
    i = np.arange(v + 1)
    tails = stats.binom.sf(v - i - 1, r, q)
    f_v = float(tails[0])
    if delta == 0.0 or v == 0:
        return f_v
    alpha = float(np.max((tails[1:] - f_v) / i[1:]))
    return f_v + 2.0 * m * delta * alpha


def epsilon_lower_bound(m: int, r: int, v: int, delta: float = 0.0, beta: float = 0.05) -> float:
    """The largest ``epsilon`` that ``v`` correct guesses out of ``r`` reject at level ``beta``.

    0 when even ``epsilon = 0`` is not rejected; the p-value increases with ``epsilon``,
    so the root of ``p_value(epsilon) = beta`` is found by bracketing and Brent's method.
    """
    _check(m, r, v, delta, beta)
    if p_value(m, r, v, 0.0, delta) >= beta:
        return 0.0
    hi = 1.0
    while p_value(m, r, v, hi, delta) < beta:
        hi *= 2.0
        if hi > 700.0:  # exp overflows beyond; no run of r guesses reaches it
            return math.inf
    return float(optimize.brentq(lambda eps: p_value(m, r, v, eps, delta) - beta, 0.0, hi, xtol=1e-10, rtol=1e-10))
