"""Parameters: profiles, precedence, and refusals that name the parameter."""

from __future__ import annotations

import pytest

from dpforecast.config import load_params
from dpforecast.errors import ConfigError

from project_roots import REPO

PARAMS = REPO / "params.yaml"


def test_a_profile_overrides_params_yaml_and_explicit_overrides_win_over_both():
    paper = load_params(PARAMS, profile="paper")
    assert paper.hyper("bigru") == (175, 5, 0.000289) and paper.features.scaling == "none"
    tuned = load_params(PARAMS, profile="paper", architectures={"bigru": {"units": 200}})
    assert tuned.hyper("bigru") == (200, 5, 0.000289) and tuned.profile == "paper"


@pytest.mark.parametrize("overrides,name", [
    ({"train": {"model": "transformer"}}, "train.model"),
    ({"train": {"epochs": 0}}, "train.epochs"),
    ({"features": {"scaling": "minmax"}}, "features.scaling"),
    ({"train": {"unknown": 1}}, "unknown parameter"),
    ({"features": {"window": "six"}}, "features.window"),
])
def test_bad_values_are_refused_by_name(overrides, name):
    with pytest.raises(ConfigError, match=name):
        load_params(PARAMS, **overrides)
