"""The data set's privacy budget: its ledger, the units it tracks and what a charge costs on each.

One ledger per data set (its spec's ``name``), outside any clone
(:func:`dpforecast.privacy.ledger.ledger_location`), so every clone, the scheduled
retraining and the production profile spend from the same budget. Every charge lands on
every tracked unit (event, day, week and, when the spec declares a protected period,
person), each with the mechanism's own loss on that unit.
"""

from __future__ import annotations

import functools
from dataclasses import replace

from dpforecast.config import Accountant, Params
from dpforecast.errors import ConfigError
from dpforecast.privacy.charges import (
    DiscreteGaussianRelease,
    LaplaceRelease,
    Mechanism,
    SubsampledGaussian,
    Vacuous,
)
from dpforecast.privacy.dp_sgd_accountant import DPSGDAccountant
from dpforecast.privacy.ledger import PrivacyLedger, ledger_location
from dpforecast.privacy.unit import LEDGER_UNITS, PrivacyUnit
from dpforecast.privacy.unit_accounting import windows_per_unit

#: A DP-SGD unit touching more windows than this is reported as vacuous, not accounted:
#: the mixture's accountants grow with the windows, and the epsilon is far above any budget.
MAX_ACCOUNTED_WINDOWS = 2_000


def ledger_units(params: Params) -> dict[str, PrivacyUnit]:
    """The units the ledger tracks for this data set, sized by its spec (person only when
    the spec declares a protected period)."""
    units = {}
    for name in LEDGER_UNITS:
        try:
            units[name] = replace(params, privacy=replace(params.privacy, unit=name, w=None)).privacy_unit()
        except ConfigError:
            if name != "person":
                raise
    return units


def open_ledger(params: Params, location: str | None = None) -> PrivacyLedger:
    """The data set's ledger with the budgets of ``privacy.budget``."""
    budget = params.privacy.budget
    return PrivacyLedger(
        location or ledger_location(params.data_set.name), params.data_set.name,
        {u: getattr(budget, u) for u in ledger_units(params)}, budget.delta)


def release_mechanisms(params: Params, scale: float) -> dict[str, Mechanism]:
    """An input-perturbation release's loss on every tracked unit: the same noise (``scale``:
    sigma or the Laplace scale) against the norm of what each unit changes."""
    laplace = params.privacy.ip.mechanism == "discrete_laplace"
    out: dict[str, Mechanism] = {}
    for name, unit in ledger_units(params).items():
        if laplace:
            out[name] = LaplaceRelease(scale, unit.ip_sensitivity("discrete_laplace"), discrete=True)
        else:
            out[name] = DiscreteGaussianRelease(scale, *unit.discrete_shift())
    return out


def training_mechanisms(params: Params, noise_multiplier: float, sample_rate: float, steps: int,
                        n_train: int) -> dict[str, Mechanism]:
    """A DP-SGD training's loss on every tracked unit: the windows each unit touches, 2C each."""
    w, h = params.features.window, params.features.horizon
    out: dict[str, Mechanism] = {}
    for name, unit in ledger_units(params).items():
        k = min(windows_per_unit(w, h, unit.intervals), n_train)
        if k > MAX_ACCOUNTED_WINDOWS:
            out[name] = Vacuous(
                f"one {name} touches {k} of the {n_train} training windows: DP-SGD bounds it only by "
                f"2C per window, {steps} steps at sampling rate {sample_rate:.4g} give no meaningful epsilon")
        else:
            out[name] = SubsampledGaussian(noise_multiplier, sample_rate, steps, k, unit.sensitivity_per_window)
    return out


@functools.lru_cache(maxsize=64)
def noise_for(epsilon: float, delta: float, sample_rate: float, steps: int, unit: PrivacyUnit, window: int,
              horizon: int, accountant: Accountant) -> float:
    """The smallest noise multiplier meeting ``epsilon`` on ``unit`` by ``accountant`` (cached:
    the search takes seconds, and seeds of one setting share it)."""
    return DPSGDAccountant.on(accountant, unit, window, horizon).noise_for(epsilon, sample_rate, steps, delta)


def dp_sgd_schedule(params: Params, batch_size: int, n_train: int) -> tuple[float, int, float]:
    """``(sample_rate, steps, noise_multiplier)`` of a DP-SGD training of ``n_train`` windows
    at ``batch_size``: Poisson sampling at ``batch / n``, ``round(1 / q)`` steps an epoch, and
    ``privacy.gp.noise_multiplier`` or the smallest one meeting ``privacy.epsilon`` on the unit.
    The training's plan and the retraining's budget forecast both read it from here."""
    privacy, gp = params.privacy, params.privacy.gp
    sample_rate = min(1.0, batch_size / n_train)
    steps = max(1, round(1 / sample_rate)) * params.train.epochs
    sigma = gp.noise_multiplier or noise_for(privacy.epsilon, privacy.delta, sample_rate, steps,
                                             params.privacy_unit(), params.features.window,
                                             params.features.horizon, gp.accountant)
    return sample_rate, steps, sigma
