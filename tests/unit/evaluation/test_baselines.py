"""The baselines every model is measured against: MASE's in-sample scale (the models themselves
are tested in tests/unit/models/: test_seasonal.py, test_ridge.py, test_persistence.py)."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest


def test_mase_scale_is_the_in_sample_seasonal_error():
    from dpforecast.evaluation.baselines import in_sample_seasonal_mae

    stamps = pl.datetime_range(pl.datetime(2024, 1, 1), pl.datetime(2024, 1, 10), "1h", eager=True, time_zone="UTC")
    a = np.arange(len(stamps), dtype=np.float64) % 24 + (np.arange(len(stamps)) // 24) * 2.0  # +2 a day
    table = pl.DataFrame({"timestamp": stamps, "a": a})
    windows = pl.DataFrame({"target_row": np.arange(24, len(stamps)), "split": ["train"] * (len(stamps) - 24)})
    assert in_sample_seasonal_mae(table, windows, ["a"], 60)["a"] == pytest.approx(2.0)
