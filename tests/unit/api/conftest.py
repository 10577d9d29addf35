"""A small synthetic data set (a total and four zones, hourly, five weeks) for the API's tests."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from dpforecast.api.frames import to_long
from dpforecast.data import synthetic
from dpforecast.data.spec import DatasetSpec, load_spec


@pytest.fixture(scope="session")
def synthetic_set(tmp_path_factory) -> tuple[DatasetSpec, pl.DataFrame]:
    """The spec (written as a file, as a user's would be) and the long frame of its counts."""
    root = tmp_path_factory.mktemp("synthetic-project")
    frame = synthetic.generate(zones=5, days=35, interval_minutes=60, start="2024-03-01", timezone="Europe/Paris")
    _, spec_path = synthetic.write(frame, root / "data", "town", root=root)
    spec = load_spec(spec_path)
    return spec, to_long(frame, spec.zone_ids)


@pytest.fixture
def spec(synthetic_set) -> DatasetSpec:
    return synthetic_set[0]


@pytest.fixture
def frame(synthetic_set) -> pl.DataFrame:
    return synthetic_set[1]


def spec_file(spec: DatasetSpec) -> Path:
    return Path(spec.path)
