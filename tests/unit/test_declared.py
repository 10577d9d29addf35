"""The one reader of declared YAML: strict types, unknown keys refused, messages by dotted key."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import pytest

from dpforecast.declared import DECLARED, read, schema
from dpforecast.errors import ConfigError


@dataclass(frozen=True)
class Inner:
    __pydantic_config__ = DECLARED
    units: int = 64
    """Hidden units."""
    mode: Literal["a", "b"] = "a"
    """A choice."""
    window: int | str = 6
    """Steps or a duration."""


@dataclass(frozen=True)
class Outer:
    __pydantic_config__ = DECLARED
    name: str
    """Required."""
    inner: Inner = field(default_factory=Inner)
    """A section."""
    items: list[Inner] = field(default_factory=list)
    """A list of sections."""


@pytest.mark.parametrize(("raw", "message"), [
    ({"name": "x", "colour": 1, "inner": {"size": 2}}, "f.yaml: unknown key(s) colour; inner: unknown key(s) size"),
    ({}, "f.yaml: name: required key is missing"),
    ({"name": "x", "inner": {"units": True}}, "f.yaml: inner.units: expected an integer, got True"),
    ({"name": "x", "inner": {"units": "3"}}, "f.yaml: inner.units: expected an integer, got '3'"),
    ({"name": "x", "inner": {"mode": "c"}}, "f.yaml: inner.mode: must be one of a, b, got 'c'"),
    ({"name": "x", "inner": {"window": 2.5}}, "f.yaml: inner.window: expected an integer or a string, got 2.5"),
    ({"name": "x", "items": [{}, {"units": None}]}, "f.yaml: items[1].units: expected an integer, got None"),
    ({"name": "x", "inner": 3}, "f.yaml: inner: expected a mapping, got 3"),
])
def test_every_problem_names_the_file_and_the_dotted_key(raw, message):
    with pytest.raises(ConfigError) as err:
        read(Outer, raw, "f.yaml")
    assert str(err.value) == message


def test_a_good_document_is_read_and_its_schema_carries_the_docstrings():
    got = read(Outer, {"name": "x", "inner": {"units": 3, "window": "1d"}}, "f.yaml")
    assert got == Outer("x", Inner(units=3, window="1d"))
    tree = schema(Outer, "test")
    assert tree["title"] == "test" and tree["required"] == ["name"] and tree["additionalProperties"] is False
    assert tree["$defs"]["Inner"]["properties"]["units"]["description"] == "Hidden units."
