"""What an accountant needs to know about a release, per privacy unit, and how releases compose.

A charge on the ledger does not record an epsilon: it records, for each tracked privacy
unit, the *mechanism* as that unit sees it (noise scale and the unit's sensitivity, or
DP-SGD's sampling and the number of windows the unit touches). Recording mechanisms rather
than numbers lets the ledger compose every charge on a unit tightly at the budget's delta
(a sum of per-release epsilons is valid but loose), and re-account old charges when the
budget's delta changes.

Units are nested, ``event`` in ``day`` in ``week`` in ``person``: one person changes at
least as much as one of their days, so a record on a larger unit has the larger
sensitivity (or touches more windows).

Composition (:func:`compose`)
-----------------------------
``epsilon`` (the one budgets bind)
    Privacy loss distributions (dp_accounting, connect-the-dots, pessimistic rounding, so an
    upper bound): continuous Gaussian releases combine *exactly* into one Gaussian with
    ``mu = sqrt(sum mu_i^2)``; a discrete Gaussian release enters as its own PLD on the
    unit (:mod:`~dpforecast.privacy.discrete_gaussian_accounting`); a Laplace release enters as the pure-DP pair of its epsilon
    (it dominates every epsilon-DP mechanism); DP-SGD as
    :func:`~dpforecast.privacy.unit_accounting.unit_pld` self-composed over its steps.
``epsilon_rdp``
    An independent upper bound: Renyi DP per order (Gaussian, discrete or not, ``a mu^2 / 2``; pure DP
    ``min(eps, a eps^2 / 2)``, Bun & Steinke 2016, Prop. 3.3; DP-SGD
    :func:`~dpforecast.privacy.unit_accounting.unit_rdp` times the steps), summed and
    converted by Opacus's ``get_privacy_spent``.
``epsilon_basic``
    Each mechanism's own epsilon at ``delta / n``, summed: the loosest, for comparison.

A :class:`Vacuous` record (a mechanism that protects nothing on that unit) makes every
epsilon ``inf`` and names its reason, so it shows in the report instead of disappearing.
"""

from __future__ import annotations

import functools
import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import MISSING, asdict, dataclass, fields
from typing import Any, ClassVar

import numpy as np

from dpforecast.privacy.discrete_gaussian_accounting import (
    coarsened,
    discrete_epsilon,
    discrete_gaussian_pld,
    gaussian_epsilon,
)
from dpforecast.privacy.unit import LEDGER_UNITS
from dpforecast.privacy.unit_accounting import (
    UNIT_RDP_ORDERS,
    default_discretization,
    unit_pld,
    unit_rdp,
)

#: Privacy units, smallest first; each is contained in the next.
UNITS: tuple[str, ...] = LEDGER_UNITS

#: Orders beyond :data:`UNIT_RDP_ORDERS` where only the closed-form RDP curves (Gaussian, pure
#: DP) are evaluated: a Gaussian with a small ``mu`` has its best order near
#: ``sqrt(2 log(1/delta)) / mu``, far above 256. DP-SGD's RDP is not computed there (its
#: quadrature grows with the order) and counts as ``inf``: the conversion then ignores them.
EXTRA_RDP_ORDERS: tuple[float, ...] = (320.0, 384.0, 512.0, 768.0, 1024.0, 2048.0, 4096.0, 8192.0)
RDP_ORDERS: tuple[float, ...] = tuple(UNIT_RDP_ORDERS) + EXTRA_RDP_ORDERS


def _boolean(value: bool) -> None:
    if not isinstance(value, bool):
        raise ValueError(f"discrete must be true or false, got {value!r}")


def _finite(name: str, value: float, minimum: float = 0.0, strict: bool = True) -> None:
    ok = math.isfinite(value) and (value > minimum if strict else value >= minimum)
    if not ok:
        raise ValueError(f"{name} must be a finite number {'>' if strict else '>='} {minimum:g}, got {value!r}")


def _whole(name: str, value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be an int >= 1, got {value!r}")


class _Record:
    """JSON form shared by the mechanism records: ``{"kind": ..., **fields}``."""

    kind: ClassVar[str]

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, **asdict(self)}  # type: ignore[call-overload]


@dataclass(frozen=True)
class GaussianRelease(_Record):
    """Continuous Gaussian noise of scale ``sigma``; ``l2_sensitivity``: the L2 norm of everything
    one unit changes. Private as a Gaussian with ``mu = l2 / sigma``."""

    kind: ClassVar[str] = "gaussian"
    sigma: float
    l2_sensitivity: float

    def __post_init__(self) -> None:
        _finite("sigma", self.sigma)
        _finite("l2_sensitivity", self.l2_sensitivity, strict=False)

    @property
    def mu(self) -> float:
        return self.l2_sensitivity / self.sigma


@dataclass(frozen=True)
class DiscreteGaussianRelease(_Record):
    """The discrete Gaussian of scale ``sigma`` on integer counts, on a unit that moves
    ``coordinates`` counts by at most ``shift`` each. Accounted by its own privacy loss
    distribution (:mod:`~dpforecast.privacy.discrete_gaussian_accounting`), not as the
    continuous Gaussian, which understates it at small sigma; its zCDP is the continuous
    one's (``mu = l2 / sigma``, Canonne, Kamath & Steinke 2020)."""

    kind: ClassVar[str] = "discrete_gaussian"
    sigma: float
    shift: int
    coordinates: int

    def __post_init__(self) -> None:
        _finite("sigma", self.sigma)
        _whole("shift", self.shift)
        _whole("coordinates", self.coordinates)

    @property
    def l2_sensitivity(self) -> float:
        return self.shift * math.sqrt(self.coordinates)

    @property
    def zcdp_mu(self) -> float:
        return self.l2_sensitivity / self.sigma


@dataclass(frozen=True)
class LaplaceRelease(_Record):
    """(Discrete) Laplace noise of scale ``scale``; pure epsilon ``l1_sensitivity / scale``."""

    kind: ClassVar[str] = "laplace"
    scale: float
    l1_sensitivity: float
    discrete: bool

    def __post_init__(self) -> None:
        _finite("scale", self.scale)
        _finite("l1_sensitivity", self.l1_sensitivity, strict=False)
        _boolean(self.discrete)

    @property
    def epsilon(self) -> float:
        return self.l1_sensitivity / self.scale


@dataclass(frozen=True)
class SubsampledGaussian(_Record):
    """DP-SGD (Poisson sampling at ``sample_rate``, ``steps`` steps) on a unit touching
    ``windows`` training windows, each moving the clipped sum by at most
    ``sensitivity_per_window`` clipping norms (see :mod:`~dpforecast.privacy.unit_accounting`)."""

    kind: ClassVar[str] = "subsampled_gaussian"
    noise_multiplier: float
    sample_rate: float
    steps: int
    windows: int
    sensitivity_per_window: float = 2.0

    def __post_init__(self) -> None:
        _finite("noise_multiplier", self.noise_multiplier)
        _finite("sensitivity_per_window", self.sensitivity_per_window)
        if not 0.0 < self.sample_rate <= 1.0:
            raise ValueError(f"sample_rate must be in (0, 1], got {self.sample_rate!r}")
        _whole("steps", self.steps)
        _whole("windows", self.windows)


@dataclass(frozen=True)
class Vacuous(_Record):
    """A mechanism that gives no guarantee on this unit; ``reason`` says why."""

    kind: ClassVar[str] = "vacuous"
    reason: str

    def __post_init__(self) -> None:
        if not self.reason:
            raise ValueError("a vacuous record needs its reason")


Mechanism = GaussianRelease | DiscreteGaussianRelease | LaplaceRelease | SubsampledGaussian | Vacuous

_KINDS: dict[str, type[Mechanism]] = {
    cls.kind: cls for cls in (GaussianRelease, DiscreteGaussianRelease, LaplaceRelease, SubsampledGaussian, Vacuous)
}


def mechanism_from_json(data: Mapping[str, Any]) -> Mechanism:
    """Inverse of ``to_json()``; ``ValueError`` on an unknown kind or missing/extra fields."""
    kind = data.get("kind")
    if kind not in _KINDS:
        raise ValueError(f"unknown mechanism kind {kind!r} (known: {', '.join(_KINDS)})")
    cls = _KINDS[kind]
    names = {f.name for f in fields(cls)}
    given = set(data) - {"kind"}
    required = {f.name for f in fields(cls) if f.default is MISSING}
    if not required <= given <= names:
        raise ValueError(f"{kind} record needs fields {sorted(required)} (optional {sorted(names - required)}), "
                         f"got {sorted(given)}")
    return cls(**{name: data[name] for name in given})


@dataclass(frozen=True)
class UnitSpend:
    """The composition of all records on one unit, at ``delta``.

    ``epsilon``: PLD (tight upper bound; budgets bind on it); ``epsilon_rdp``: independent RDP
    upper bound; ``epsilon_basic``: sum of each record's epsilon at ``delta / n``. All three
    ``inf`` when a record is vacuous (``vacuous_reason`` then says why).
    """

    epsilon: float
    epsilon_rdp: float
    epsilon_basic: float
    delta: float
    n: int
    vacuous_reason: str | None = None


@functools.lru_cache(maxsize=256)
def _dpsgd_step_rdp(noise_multiplier: float, sample_rate: float, windows: int, sensitivity: float) -> np.ndarray:
    """One DP-SGD step's RDP on :data:`RDP_ORDERS` (``inf`` above 256), cached: it is the
    expensive part, and a report asks for the same records again and again."""
    rdp = unit_rdp(noise_multiplier, sample_rate, windows, sensitivity, UNIT_RDP_ORDERS)
    out = np.concatenate([rdp, np.full(len(EXTRA_RDP_ORDERS), np.inf)])
    out.flags.writeable = False
    return out


def rdp_curve(mechanism: Mechanism) -> np.ndarray:
    """The record's RDP on :data:`RDP_ORDERS` (an upper bound per order)."""
    alphas = np.asarray(RDP_ORDERS)
    if isinstance(mechanism, GaussianRelease):
        return alphas * mechanism.mu**2 / 2.0
    if isinstance(mechanism, DiscreteGaussianRelease):
        return alphas * mechanism.zcdp_mu**2 / 2.0
    if isinstance(mechanism, LaplaceRelease):
        eps = mechanism.epsilon
        return np.minimum(eps, alphas * eps**2 / 2.0)
    if isinstance(mechanism, SubsampledGaussian):
        m = mechanism
        return _dpsgd_step_rdp(m.noise_multiplier, m.sample_rate, m.windows, m.sensitivity_per_window) * m.steps
    return np.full(len(alphas), np.inf)


def _rdp_to_epsilon(rdp: np.ndarray, delta: float) -> float:
    from opacus.accountants.analysis import rdp as opacus_rdp

    if not np.isfinite(rdp).any():
        return math.inf
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Opacus warns when the optimum is at the grid's end
        eps, _ = opacus_rdp.get_privacy_spent(orders=list(RDP_ORDERS), rdp=rdp, delta=delta)
    return max(0.0, float(eps))


def _check_delta(delta: float) -> None:
    if not 0.0 < delta < 1.0:
        raise ValueError(f"delta must be in (0, 1), got {delta!r}")


@functools.lru_cache(maxsize=1024)
def epsilon_of(mechanism: Mechanism, delta: float) -> float:
    """The record's own epsilon at ``delta`` (``inf`` if vacuous): exact for Gaussian and
    Laplace; DP-SGD's PLD at the interval :func:`compose` would use for it alone."""
    _check_delta(delta)
    if isinstance(mechanism, GaussianRelease):
        return gaussian_epsilon(mechanism.mu, delta)
    if isinstance(mechanism, DiscreteGaussianRelease):
        return discrete_epsilon(mechanism.sigma, mechanism.shift, mechanism.coordinates, delta)
    if isinstance(mechanism, LaplaceRelease):
        return mechanism.epsilon
    if isinstance(mechanism, SubsampledGaussian):
        return composed_epsilon([mechanism], delta)
    return math.inf


def _rdp_epsilon(mechanisms: Sequence[Mechanism], delta: float) -> float:
    return _rdp_to_epsilon(sum((rdp_curve(m) for m in mechanisms), np.zeros(len(RDP_ORDERS))), delta)


def _pld_epsilon(mechanisms: Sequence[Mechanism], delta: float, rdp_epsilon: float) -> float:
    """PLD epsilon of non-vacuous records (whose composed RDP bound is ``rdp_epsilon``).

    dp_accounting composes PLDs only on one grid. The interval is
    :func:`~dpforecast.privacy.unit_accounting.default_discretization` of the *composed* RDP
    epsilon over the total number of compositions (the combined Gaussian and each Laplace
    count one, DP-SGD its steps): connect-the-dots' error grows with compositions times the
    squared interval, so a hundredth of the composed epsilon over ``sqrt(compositions)``
    keeps it below about 1 % of what is reported, whatever the mix. (The minimum of the
    records' own intervals would make a tiny release force a huge DP-SGD composition onto a
    needlessly fine grid.) Without DP-SGD the grid is twenty times finer (releases compose
    cheaply), so a release's spend shows its own epsilon. Pessimistic rounding keeps every
    interval an upper bound. For one DP-SGD record it is
    :func:`~dpforecast.privacy.unit_accounting.unit_epsilon`'s interval.
    """
    from dp_accounting.pld import common, privacy_loss_distribution

    gaussian_mu = math.sqrt(math.fsum(m.mu**2 for m in mechanisms if isinstance(m, GaussianRelease)))
    laplace = [m.epsilon for m in mechanisms if isinstance(m, LaplaceRelease) and m.epsilon > 0]
    dpsgd = [m for m in mechanisms if isinstance(m, SubsampledGaussian)]
    discrete = [m for m in mechanisms if isinstance(m, DiscreteGaussianRelease)]
    compositions = (gaussian_mu > 0) + len(laplace) + len(discrete) + sum(m.steps for m in dpsgd)
    if compositions == 0:
        return 0.0
    interval = default_discretization(rdp_epsilon, compositions)
    if not dpsgd:  # releases alone compose cheaply: a finer grid keeps a release's own epsilon
        interval = max(1e-7, min(interval, rdp_epsilon / (2000.0 * compositions)))
    try:
        plds = [unit_pld(m.noise_multiplier, m.sample_rate, m.windows, m.sensitivity_per_window, interval)
                .self_compose(m.steps) for m in dpsgd]
        plds += [privacy_loss_distribution.from_privacy_parameters(common.DifferentialPrivacyParameters(eps, 0.0),
                                                                    value_discretization_interval=interval)
                 for eps in laplace]
        plds += [coarsened(discrete_gaussian_pld(m.sigma, m.shift, m.coordinates), interval) for m in discrete]
        if gaussian_mu > 0:
            plds.append(privacy_loss_distribution.from_gaussian_mechanism(
                1.0, sensitivity=gaussian_mu, value_discretization_interval=interval))
        total = functools.reduce(lambda a, b: a.compose(b), plds)
        with np.errstate(over="ignore"):
            epsilon = float(total.get_epsilon_for_delta(delta))
    except ValueError:
        # dp_accounting cannot build the mixture's PLD where its privacy losses reach tens of
        # nats (DP-SGD on a unit touching hundreds of windows: "a must be greater than b"):
        # the RDP bound, an upper bound from its own accountant, is reported instead
        return rdp_epsilon
    # dp_accounting overflows on epsilons in the hundreds (a release on a unit far larger than
    # its own): the RDP bound is then the upper bound reported
    return max(0.0, epsilon) if math.isfinite(epsilon) else rdp_epsilon


def composed_epsilon(mechanisms: Sequence[Mechanism], delta: float) -> float:
    """:func:`compose`'s ``epsilon`` alone (``inf`` if a record is vacuous): what a budget check
    needs, without the per-record epsilons of the basic sum (a DP-SGD record's costs a PLD)."""
    _check_delta(delta)
    if any(isinstance(m, Vacuous) for m in mechanisms):
        return math.inf
    return _pld_epsilon(mechanisms, delta, _rdp_epsilon(mechanisms, delta))


def compose(mechanisms: Sequence[Mechanism], delta: float) -> UnitSpend:
    """All ``mechanisms`` (the records of one unit) composed at ``delta``; see the module docstring."""
    _check_delta(delta)
    n = len(mechanisms)
    reasons = list(dict.fromkeys(m.reason for m in mechanisms if isinstance(m, Vacuous)))
    if reasons:
        return UnitSpend(math.inf, math.inf, math.inf, delta, n, "; ".join(reasons))
    if n == 0:
        return UnitSpend(0.0, 0.0, 0.0, delta, 0)
    epsilon_rdp = _rdp_epsilon(mechanisms, delta)
    return UnitSpend(
        epsilon=_pld_epsilon(mechanisms, delta, epsilon_rdp),
        epsilon_rdp=epsilon_rdp,
        epsilon_basic=math.fsum(epsilon_of(m, delta / n) for m in mechanisms),
        delta=delta,
        n=n,
    )
