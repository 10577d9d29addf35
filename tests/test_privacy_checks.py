"""Each bad privacy parameter is refused with its dotted name in the message."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest

from dpforecast.config import ConfigError, GradientPerturbationParams, InputPerturbationParams, PrivacyParams
from dpforecast.privacy.checks import PrivacyConfigError, check_privacy

GP = PrivacyParams(mode="gp", epsilon=1.0, delta=1e-7)
IP = PrivacyParams(mode="ip", epsilon=0.5, delta=1e-7)


def _gp(**kw) -> PrivacyParams:
    return replace(GP, gp=replace(GradientPerturbationParams(), **kw))


def _ip(epsilon: float = 0.5, **kw) -> PrivacyParams:
    return replace(IP, epsilon=epsilon, ip=replace(InputPerturbationParams(), **kw))


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
    ("privacy.epsilon", _ip(epsilon=1.0, mechanism="gaussian"), None),
    ("privacy.budget_epsilon", replace(GP, budget_epsilon=0.0), None),
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


def test_classic_gaussian_message_points_to_analytic():
    with pytest.raises(PrivacyConfigError, match="analytic_gaussian"):
        check_privacy(_ip(epsilon=2.0, mechanism="gaussian"))


@pytest.mark.parametrize(
    ("privacy", "n"),
    [
        (PrivacyParams(), None),  # mode none: the defaults
        (replace(PrivacyParams(), epsilon=-1.0), None),  # unused by mode none
        (GP, 3114),
        (_gp(noise_multiplier=35.0), 3114),
        (_gp(noise_multiplier=None), None),  # searched from privacy.epsilon
        (_ip(epsilon=0.065, mechanism="gaussian"), None),
        (_ip(epsilon=5.0, mechanism="analytic_gaussian"), None),
        (replace(_ip(epsilon=1.0, mechanism="laplace"), delta=0.0), None),
    ],
)
def test_good_parameters_pass(privacy, n):
    check_privacy(privacy, n_train_windows=n)
