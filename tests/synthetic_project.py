"""Throw-away project roots on synthetic counts: a data set written by
:mod:`dpforecast.data.synthetic` and a ``params.yaml`` naming it, no real data needed."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import yaml

from dpforecast.config import Params, deep_merge, params_from_dict, resolve
from dpforecast.data import synthetic
from dpforecast.data.spec import DatasetSpec, spec_from_dict

NAME = "town"
# Small enough that a network trains in well under a second.
TINY = {"train": {"epochs": 1, "patience": 0, "batch_size": 32},
        "architectures": {a: {"units": 4} for a in ("lstm", "gru", "bilstm", "bigru")}}


def make_synthetic_root(root: Path, overrides: dict[str, Any] | None = None, *, zones: int = 4, days: int = 21,
                        interval_minutes: int = 60, hierarchy: bool = False, name: str = NAME) -> Path:
    """A project root under ``root``: ``data/<name>/<name>.csv``, ``datasets/<name>.yaml`` and
    ``params.yaml`` selecting it (the built-in defaults, :data:`TINY`, then ``overrides``)."""
    root.mkdir(parents=True, exist_ok=True)
    frame = synthetic.generate(zones=zones, days=days, interval_minutes=interval_minutes, hierarchy=hierarchy)
    synthetic.write(frame, root / "data" / name, name, root=root)
    params = deep_merge({"dataset": name, **TINY}, overrides or {})
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    return root


@functools.cache
def synthetic_spec(protected_period_days: int | None = None) -> DatasetSpec:
    """The spec of three disjoint hourly zones (no file behind it), with a person unit when
    ``protected_period_days`` is given."""
    frame = synthetic.generate(zones=3, days=2, interval_minutes=60, hierarchy=False)
    raw = synthetic.spec_dict(frame, NAME, f"data/{NAME}.csv")
    raw["privacy"]["protected_period_days"] = protected_period_days
    return spec_from_dict(raw, f"datasets/{NAME}.yaml")


def synthetic_params(protected_period_days: int | None = None, **settings: Any) -> Params:
    """The built-in parameters and ``settings`` (``privacy={...}``, ...) resolved for :func:`synthetic_spec`."""
    return resolve(params_from_dict({"dataset": NAME, **settings}), synthetic_spec(protected_period_days))
