"""Three synthetic zones, hourly, three weeks, with calendar features, and their windows by split:
what the baselines' and the model base's tests fit and predict."""

from __future__ import annotations

from collections.abc import Callable

import polars as pl
import pytest

from dpforecast.data import synthetic
from dpforecast.data.clock import Clock
from dpforecast.features.calendar import add_calendar_features
from dpforecast.features.windows import make_windows
from dpforecast.models.base import Windows

ZONES = ["z0001", "z0002", "z0003"]


@pytest.fixture(scope="module")
def table() -> pl.DataFrame:
    frame = synthetic.generate(zones=3, days=21, interval_minutes=60, hierarchy=False)
    return add_calendar_features(frame, 7.0)


@pytest.fixture
def windows_of() -> Callable[..., Windows]:
    """``windows_of(table, split, window=24, horizon=3)``: the split's windows (3 test and 3 validation days)."""

    def _windows(table: pl.DataFrame, split: str, window: int = 24, horizon: int = 3) -> Windows:
        index = make_windows(table, window, horizon, False, 3, 3, Clock(60, "Europe/Paris"), ZONES)
        return Windows.of(table, index.filter(pl.col("split") == split), window, horizon, ZONES, 60)

    return _windows
