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


def test_registered_names_are_the_data_sets_own_unless_a_prefix_or_the_spec_says_otherwise():
    assert load_params(PARAMS, dataset="auckland").model_prefix() == "auckland"
    assert load_params(PARAMS, dataset="auckland", features={"horizon": 24}).model_prefix() == "auckland-h24"
    assert load_params(PARAMS, dataset="auckland", registry={"name_prefix": "city"}).model_prefix() == "city-auckland"
    assert load_params(PARAMS, registry={"name_prefix": "city"}).model_prefix() == "mobility"  # Montreuil's spec
    with pytest.raises(ConfigError, match="registry.name_prefix"):
        load_params(PARAMS, registry={"name_prefix": "Not OK"})
