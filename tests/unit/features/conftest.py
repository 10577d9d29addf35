"""The real series with the study's calendar features (30-day "week"), shared by the window and scaling tests."""

from __future__ import annotations

import polars as pl
import pytest

from dpforecast.data.ingest import drop_total, read_raw
from dpforecast.features.calendar import add_calendar_features
from dpforecast.validation.derive import to_series

from montreuil_spec import SPEC


@pytest.fixture(scope="module")
def table(raw_csv_path) -> pl.DataFrame:
    series = drop_total(to_series(read_raw(raw_csv_path), SPEC))
    return add_calendar_features(series, 30.0)
