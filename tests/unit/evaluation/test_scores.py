"""Every forecaster scored in one shape, like for like where a baseline lacks windows."""

from __future__ import annotations

import numpy as np
import pytest

from dpforecast.evaluation.scores import like_for_like, persistence_skill, score, skill
from dpforecast.models.conformal import calibrate

ZONES = ["a", "b"]


def test_score_gives_errors_mase_and_coverage_on_the_windows_with_a_forecast():
    rng = np.random.default_rng(0)
    y = rng.uniform(10, 20, (40, 2, 2))
    f = y + 1.0
    f[:4] = np.nan  # no forecast on the first four windows
    intervals = calibrate(y[4:], f[4:], "test", covered=True)
    out = score(y, f, ZONES, {"a": 2.0, "b": None}, intervals)
    assert out["windows"] == 36 and out["rmse"]["mean"] == pytest.approx(1.0) and out["mae"]["a"] == pytest.approx(1.0)
    assert out["mase"] == {"a": pytest.approx(0.5), "b": None, "mean": pytest.approx(0.5)}
    assert out["coverage"]["95"]["coverage"] == 1.0 and out["intervals"]["covered_by_privacy_guarantee"] is True
    assert out["scored_on"].sum() == 36
    assert score(y, np.full_like(y, np.nan), ZONES, {"a": 1.0, "b": 1.0}) == {"windows": 0}


def test_skill_and_like_for_like_compare_on_the_same_windows():
    assert skill(8.0, 10.0) == pytest.approx(0.2) and skill(8.0, None) is None
    y = np.zeros((10, 1, 2))
    forecasts = {"seasonal": np.ones((10, 1, 2)), "persistence": np.full((10, 1, 2), 2.0)}
    forecasts["seasonal"][:5] = np.nan
    scores = {name: score(y, f, ZONES, {"a": 1.0, "b": 1.0}) for name, f in forecasts.items()}
    like_for_like(scores, y, forecasts, ZONES)
    assert scores["seasonal"]["others_on_these_windows"] == {"persistence": pytest.approx(2.0)}
    assert "others_on_these_windows" not in scores["persistence"]
    assert persistence_skill(scores["seasonal"], reference=99.0) == pytest.approx(0.5)  # 1 - 1/2, not 1 - 1/99


def test_score_gives_coverage_per_calendar_group_of_the_targets_it_scores():
    y = np.arange(80.0).reshape(20, 2, 2)
    f = y + np.where(np.arange(20)[:, None, None] < 10, 1.0, 5.0)  # the last ten windows miss by more
    f[:2] = np.nan
    groups = np.where(np.arange(20)[:, None] < 10, "weekday", "weekend").repeat(2, axis=1).astype(object)
    out = score(y, f, ZONES, {"a": 1.0, "b": 1.0}, calibrate(y[2:10], f[2:10], "test", covered=False), groups)
    per_group = out["coverage"]["80"]["per_group"]
    assert per_group == {"weekday": {"coverage": 1.0, "counts": 8 * 2 * 2}, "weekend": {"coverage": 0.0, "counts": 40}}
    assert out["coverage"]["80"]["coverage"] == pytest.approx(32 / 72) and out["intervals"]["calibration"] == "split"
