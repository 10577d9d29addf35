"""The discrete Gaussian's hockey-stick divergence by exact summation (no dp_accounting).

For integer shifts ``c_i`` on independent coordinates, the privacy loss of N_Z(0, s^2)^k
against N_Z(c, s^2)^k is ``(sum c_i^2 - 2 T) / (2 s^2)`` with ``T = sum c_i x_i``, so
delta(epsilon) is a sum over T's law: the convolution of the pmf dilated by each shift.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np


def _pmf(sigma: float) -> tuple[np.ndarray, int]:
    half = int(math.ceil(40 * sigma)) + 1
    x = np.arange(-half, half + 1).astype(float)
    pmf = np.exp(-(x**2) / (2 * sigma**2))
    return pmf / pmf.sum(), half


def exact_delta_shifts(sigma: float, shifts: Sequence[int], epsilon: float) -> float:
    """delta(epsilon) of the product discrete Gaussian moved by ``shifts`` (integers >= 0)."""
    pmf, half = _pmf(sigma)
    law, offset = np.ones(1), 0  # law[i] = P(T = i - offset)
    for c in shifts:
        dilated = np.zeros(2 * half * c + 1)
        dilated[::c] = pmf
        law, offset = np.convolve(law, dilated), offset + half * c
    t = np.arange(law.size) - offset
    loss = (sum(c * c for c in shifts) - 2.0 * t) / (2 * sigma**2)
    return float(np.sum(law * np.clip(-np.expm1(epsilon - loss), 0.0, None)))


def exact_delta(sigma: float, shift: int, coordinates: int, epsilon: float) -> float:
    """delta(epsilon) when ``coordinates`` counts move by ``shift`` each."""
    return exact_delta_shifts(sigma, [shift] * coordinates, epsilon)
