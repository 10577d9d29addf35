"""One accountant for DP-SGD on any privacy unit: the epsilon of a noise, and the noise of an epsilon.

DP-SGD is accounted on the training windows a unit touches
(:mod:`~dpforecast.privacy.unit_accounting`): ``windows`` of them, each moving the clipped
sum by ``sensitivity_per_window`` clipping norms ``s``, one step being ``N(0, sigma^2)``
against ``sum_j Binom(windows, q)(j) N(s j, sigma^2)``. The study's record, one training
window added or removed, is that pair at one window and ``s = 1``: ``(1 - q) N(0, sigma^2)
+ q N(1, sigma^2)`` against ``N(0, sigma^2)``, the Poisson-sampled Gaussian of
:mod:`~dpforecast.privacy.accounting`, exactly (the tests compare both routes' RDP and
PLD). So one value, :class:`DPSGDAccountant`, accounts every unit, by the names
``privacy.gp.accountant`` takes (:data:`~dpforecast.config.ACCOUNTANTS`):

``pld``
    dp_accounting's privacy loss distribution of the pair
    (:func:`~dpforecast.privacy.unit_accounting.unit_epsilon`), its grid sized by the RDP
    bound by quadrature.
``rdp``
    Renyi DP of the pair, with the improved conversion. On one window, the sampled
    Gaussian's closed form at noise ``sigma / s`` (the pair scaled by ``1 / s``) on orders
    up to 32,768 (:func:`~dpforecast.privacy.accounting.rdp_epsilon_and_order`); on more,
    by quadrature on orders up to 256
    (:func:`~dpforecast.privacy.unit_accounting.unit_epsilon_rdp`), as its grid grows with
    the order. Both are the same divergences (the tests compare them order by order); the
    closed form only reaches further.
``prv``
    Opacus's PRV accountant of the sampled Gaussian at noise ``sigma / s``
    (:func:`~dpforecast.privacy.accounting.prv_epsilon`): one window only.

:meth:`DPSGDAccountant.noise_for` is the one calibration search of every accountant.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from dpforecast.config import ACCOUNTANTS, Accountant
from dpforecast.privacy.accounting import AccountingError, check_inputs, prv_epsilon, rdp_epsilon_and_order
from dpforecast.privacy.unit_accounting import unit_epsilon, unit_epsilon_rdp

if TYPE_CHECKING:
    from dpforecast.privacy.unit import PrivacyUnit


@dataclass(frozen=True)
class _Route:
    """How an accountant computes an epsilon ``(sigma, q, steps, delta, windows, s)``, and how
    the noise search runs on it. ``rtol``: the search's relative precision, 1e-4 where an
    epsilon costs milliseconds, 1e-3 where it costs up to seconds. ``floor``: the smallest
    noise tried (the quadrature's grid step is sigma / 10, so it stops at 1e-3).
    ``bracket``: the route of an upper bound of this one, whose noise (which meets the
    target) starts the search; None: the search starts at noise 1."""

    epsilon: Callable[[float, float, int, float, int, float], float]
    rtol: float
    floor: float
    bracket: str | None = None


def _closed_form(sigma: float, q: float, steps: int, delta: float, windows: int, s: float) -> float:
    return rdp_epsilon_and_order(sigma / s, q, steps, delta)[0]


def _prv(sigma: float, q: float, steps: int, delta: float, windows: int, s: float) -> float:
    return prv_epsilon(sigma / s, q, steps, delta)


_ROUTES: dict[str, _Route] = {
    "closed form": _Route(_closed_form, rtol=1e-4, floor=1e-6),
    "prv": _Route(_prv, rtol=1e-3, floor=1e-6, bracket="closed form"),
    "quadrature": _Route(unit_epsilon_rdp, rtol=1e-3, floor=1e-3),
    "pld": _Route(unit_epsilon, rtol=1e-3, floor=1e-3, bracket="quadrature"),
}


@dataclass(frozen=True)
class DPSGDAccountant:
    """The accountant ``name`` on a unit touching ``windows`` training windows, each moving the
    clipped sum by ``sensitivity_per_window`` clipping norms (the defaults: the study's record,
    one window added or removed)."""

    name: Accountant
    windows: int = 1
    sensitivity_per_window: float = 1.0

    def __post_init__(self) -> None:
        if self.name not in ACCOUNTANTS:
            raise ValueError(f"accountant must be one of {ACCOUNTANTS}, got {self.name!r}")
        if isinstance(self.windows, bool) or int(self.windows) != self.windows or self.windows < 1:
            raise ValueError(f"windows must be a whole number >= 1, got {self.windows!r}")
        s = self.sensitivity_per_window
        if not (math.isfinite(s) and s > 0):
            raise ValueError(f"sensitivity_per_window must be a finite number > 0, got {s!r}")
        if self.name == "prv" and self.windows > 1:
            raise ValueError(f"accountant 'prv' accounts one training window only, not a unit touching "
                             f"{self.windows}; use pld or rdp")

    @classmethod
    def on(cls, name: Accountant, unit: PrivacyUnit, window: int, horizon: int) -> DPSGDAccountant:
        """``name`` on ``unit``, for windows of ``window`` inputs and a target ``horizon`` intervals ahead."""
        return cls(name, unit.windows(window, horizon), unit.sensitivity_per_window)

    @property
    def _route(self) -> str:
        if self.name == "rdp":
            return "closed form" if self.windows == 1 else "quadrature"
        return self.name

    def epsilon(self, noise_multiplier: float, sample_rate: float, steps: int, delta: float) -> float:
        """Epsilon at ``delta`` of ``steps`` DP-SGD steps (Poisson sampling at ``sample_rate``,
        noise ``noise_multiplier`` times the clipping norm) on the unit: ``inf`` without noise,
        0 without steps. Raises :class:`~dpforecast.privacy.accounting.AccountingError` where
        PRV cannot account the settings."""
        check_inputs(noise_multiplier, sample_rate, steps, delta)
        if steps == 0 or sample_rate == 0.0:
            return 0.0
        if noise_multiplier == 0.0:
            return math.inf
        return _ROUTES[self._route].epsilon(noise_multiplier, sample_rate, int(steps), delta, self.windows,
                                            self.sensitivity_per_window)

    def noise_for(self, target_epsilon: float, sample_rate: float, steps: int, delta: float, *,
                  max_noise: float = 1e6) -> float:
        """The smallest noise multiplier (to the accountant's relative precision) whose epsilon
        is at most ``target_epsilon``; the result always meets it. From noise 1 (``rdp``) or
        from the noise of an upper bound of the same pair (``prv``: the RDP closed form;
        ``pld``: the RDP quadrature that sizes its grid), doubled until it meets the target,
        then :func:`bisect_noise`. Opacus's ``get_noise_multiplier`` is not used: its tolerance
        is an absolute 0.01 in epsilon, coarser than the study's epsilons."""
        if not (math.isfinite(target_epsilon) and target_epsilon > 0):
            raise ValueError(f"target_epsilon must be a positive finite number, got {target_epsilon!r}")
        check_inputs(1.0, sample_rate, steps, delta)
        if steps == 0 or sample_rate == 0.0:
            return 0.0
        return self._search(self._route, target_epsilon, sample_rate, int(steps), delta, max_noise)

    def _search(self, route: str, target: float, q: float, steps: int, delta: float, max_noise: float) -> float:
        how = _ROUTES[route]

        def eps(sigma: float) -> float:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # the RDP grid's end: a search probes far
                return how.epsilon(sigma, q, steps, delta, self.windows, self.sensitivity_per_window)

        hi = 1.0 if how.bracket is None else self._search(how.bracket, target, q, steps, delta, max_noise)
        while eps(hi) > target:
            hi *= 2.0
            if hi > max_noise:
                raise AccountingError(
                    f"no noise multiplier up to {max_noise:g} reaches epsilon {target:g} at delta {delta:g} "
                    f"(sample_rate {q:.6g}, {steps} steps, a unit of {self.windows} window(s), "
                    f"{self.sensitivity_per_window:g}C each)")
        return bisect_noise(eps, target, hi, rtol=how.rtol, floor=how.floor)


def bisect_noise(eps: Callable[[float], float], target_epsilon: float, hi: float, *, rtol: float, floor: float) -> float:
    """The smallest noise multiplier (to relative precision ``rtol``) with ``eps(sigma) <=
    target``, from an ``hi`` that meets it: halve down to a bracket, then bisect, returning
    the bracket's upper end so the result always meets the target (``floor``: stop halving)."""
    lo = hi / 2.0
    while eps(lo) <= target_epsilon:
        hi, lo = lo, lo / 2.0
        if lo < floor:
            return hi
    while hi - lo > rtol * hi:
        mid = 0.5 * (lo + hi)
        if eps(mid) <= target_epsilon:
            hi = mid
        else:
            lo = mid
    return hi
