"""dpforecast.errors: the bad-input error every layer may raise and the CLI turns into one line."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from dpforecast import errors
from dpforecast.errors import ConfigError


def test_a_config_error_is_a_value_error_carrying_its_message():
    with pytest.raises(ValueError, match=r"params.yaml: train.epochs: expected an integer"):
        raise ConfigError("params.yaml: train.epochs: expected an integer")
    assert str(ConfigError("datasets/x.yaml: zones[0].id")) == "datasets/x.yaml: zones[0].id"


def test_the_module_imports_nothing_so_any_layer_can_raise_its_errors():
    tree = ast.parse(Path(errors.__file__).read_text())
    imported = [node for node in ast.walk(tree) if isinstance(node, (ast.Import, ast.ImportFrom))]
    assert [ast.unparse(node) for node in imported] == ["from __future__ import annotations"]
