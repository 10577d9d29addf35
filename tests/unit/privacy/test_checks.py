"""Each bad privacy parameter is refused with its dotted name in the message."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest

from dpforecast.config import (
    BudgetParams,
    GradientPerturbationParams,
    InputPerturbationParams,
    PrivacyParams,
)
from dpforecast.errors import ConfigError
from dpforecast.privacy.checks import PrivacyConfigError, check_privacy

GP = PrivacyParams(mode="gp", epsilon=1.0, delta=1e-7)
IP = PrivacyParams(mode="ip", epsilon=0.5, delta=1e-7)


def _gp(**kw) -> PrivacyParams:
    return replace(GP, gp=replace(GradientPerturbationParams(), **kw))


def _ip(epsilon: float = 0.5, **kw) -> PrivacyParams:
    return replace(IP, epsilon=epsilon, ip=replace(InputPerturbationParams(), **kw))


def _budget(base: PrivacyParams = GP, **kw) -> PrivacyParams:
    return replace(base, budget=replace(BudgetParams(), **kw))


BAD = [
    ("privacy.mode", replace(GP, mode="dp"), None),
    ("privacy.epsilon", replace(GP, epsilon=0.0), None),
    ("privacy.epsilon", replace(IP, epsilon=-1.0), None),
    ("privacy.epsilon", replace(GP, epsilon=math.inf), None),
    ("privacy.delta", replace(GP, delta=0.0), None),
    ("privacy.delta", replace(IP, delta=1.0), None),
    ("privacy.delta", replace(GP, delta=-1e-7), None),
    ("privacy.delta", replace(GP, delta=1e-3), 3114),
    ("privacy.gp.max_grad_norm", _gp(max_grad_norm=None), None),
    ("privacy.gp.max_grad_norm", _gp(max_grad_norm=0.0), None),
    ("privacy.gp.max_grad_norm", _gp(max_grad_norm=-1.0), None),
    ("privacy.gp.noise_multiplier", _gp(noise_multiplier=0.0), None),
    ("privacy.gp.noise_multiplier", _gp(noise_multiplier=-2.0), None),
    ("privacy.gp.accountant", _gp(accountant="moments"), None),
    ("privacy.ip.mechanism", _ip(mechanism="exponential"), None),
    # the continuous mechanisms are gone: their names are refused, not silently mapped
    ("privacy.ip.mechanism", _ip(mechanism="gaussian"), None),
    ("privacy.ip.mechanism", _ip(mechanism="analytic_gaussian"), None),
    ("privacy.ip.mechanism", _ip(mechanism="laplace"), None),
    ("privacy.budget.event", _budget(event=0.0), None),
    ("privacy.budget.day", _budget(IP, day=-1.0), None),
    ("privacy.budget.week", _budget(week=math.inf), None),
    ("privacy.budget.person", _budget(person=math.nan), None),
    ("privacy.budget.delta", _budget(delta=0.0), None),
    ("privacy.budget.delta", _budget(IP, delta=1.0), None),
]


@pytest.mark.parametrize(("name", "privacy", "n"), BAD, ids=[f"{b[0]}-{i}" for i, b in enumerate(BAD)])
def test_bad_parameter_is_refused_by_name(name, privacy, n):
    with pytest.raises(PrivacyConfigError) as info:
        check_privacy(privacy, n_train_windows=n)
    assert str(info.value).startswith(f"{name}:")


def test_error_is_a_config_error():
    assert issubclass(PrivacyConfigError, ConfigError)
    assert issubclass(PrivacyConfigError, ValueError)


def test_delta_message_states_the_numbers():
    with pytest.raises(PrivacyConfigError, match=r"1/3114 = 0\.000321.*got 0\.001"):
        check_privacy(replace(GP, delta=1e-3), n_train_windows=3114)


def test_old_mechanism_message_names_the_discrete_ones():
    with pytest.raises(PrivacyConfigError, match="discrete_gaussian.*discrete_laplace.*got 'analytic_gaussian'"):
        check_privacy(_ip(epsilon=2.0, mechanism="analytic_gaussian"))


@pytest.mark.parametrize(
    ("privacy", "n"),
    [
        (PrivacyParams(), None),  # mode none: the defaults
        (replace(PrivacyParams(), epsilon=-1.0), None),  # unused by mode none
        (GP, 3114),
        (_gp(noise_multiplier=35.0), 3114),
        (_gp(noise_multiplier=None), None),  # searched from privacy.epsilon
        (_ip(epsilon=0.065, mechanism="discrete_gaussian"), None),
        (_ip(epsilon=5.0, mechanism="discrete_gaussian"), None),  # no epsilon < 1 limit any more
        (replace(_ip(epsilon=1.0, mechanism="discrete_laplace"), delta=0.0), None),
        (_budget(event=None, day=None, week=2.0, person=0.5), 3114),  # null: tracked, not limited
    ],
)
def test_good_parameters_pass(privacy, n):
    check_privacy(privacy, n_train_windows=n)
