"""The data set's privacy budget: its ledger, the units it tracks and what a charge costs on each.

One ledger per data set (its spec's ``name``), outside any clone
(:func:`dpforecast.privacy.ledger.ledger_location`), so every clone, the scheduled
retraining and the production profile spend from the same budget. Every charge lands on
every tracked unit (event, day, week and, when the spec declares a protected period,
person), each with the mechanism's own loss on that unit.
"""

from __future__ import annotations

from dataclasses import replace

from dpforecast.config import ConfigError, Params
from dpforecast.privacy.charges import GaussianRelease, LaplaceRelease, Mechanism, SubsampledGaussian, Vacuous
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
            out[name] = GaussianRelease(scale, unit.ip_sensitivity("discrete_gaussian"), discrete=True)
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
