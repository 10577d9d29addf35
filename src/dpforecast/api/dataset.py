"""A data set for the in-memory API: its spec, and its own files read as a long frame."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from dpforecast.api.frames import read_counts as _read_counts
from dpforecast.config import Params, resolve
from dpforecast.data.spec import DatasetSpec, load_spec


def load_dataset(spec: str | Path) -> DatasetSpec:
    """A data set's spec from its file (``datasets/<name>.yaml``) or its name (looked up in
    ``datasets/`` under the working folder)."""
    path = Path(spec)
    return load_spec(path if path.suffix else Path("datasets") / f"{spec}.yaml")


def read_counts(dataset: DatasetSpec | str | Path, root: str | Path = ".") -> pl.DataFrame:
    """The data set's files (under ``root``, the project holding them), validated by its
    suite, as a long frame ``unique_id, ds, y`` (missing counts null)."""
    spec = dataset if isinstance(dataset, DatasetSpec) else load_dataset(dataset)
    return _read_counts(resolve(Params(dataset=spec.name), spec), root)
