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

def test_known_future_inputs_need_a_window_that_holds_every_lead_and_a_calendar_that_has_them():
    params = load_params(PARAMS, profile="day-ahead", features={"known_future": ["holidays", "day_of_week"]})
    assert params.features.known_future == ["holidays", "day_of_week"] and load_params(PARAMS).features.known_future == []
    for overrides, message in (
            ({"features": {"known_future": ["holidays"], "window": 6, "horizon": 12}}, r"window \(6\) >= features.horizon"),
            ({"features": {"known_future": ["events"]}}, "events needs calendar.events"),
            ({"features": {"known_future": ["holidays", "holidays"]}}, "lists an input twice"),
            ({"features": {"known_future": ["moon"]}}, "features.known_future"),
            ({"intervals": {"calibration": "rolling"}}, "intervals.calibration"),
            ({"intervals": {"min_group_windows": 0}}, "intervals.min_group_windows")):
        with pytest.raises(ConfigError, match=message):
            load_params(PARAMS, **overrides)


def test_holidays_as_an_input_need_the_spec_to_name_a_country():
    from dataclasses import replace

    from dpforecast.config import params_from_dict, resolve
    from dpforecast.data.holiday_calendar import HolidayCalendar

    from montreuil_spec import SPEC

    wanted = params_from_dict({"features": {"known_future": ["holidays"]}})
    assert resolve(wanted, SPEC).features.known_future == ["holidays"]
    with pytest.raises(ConfigError, match="holidays needs a calendar.country"):
        resolve(wanted, replace(SPEC, calendar=HolidayCalendar()))
