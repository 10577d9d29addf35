"""DPForecast.holdout: the pipeline's evaluation in memory, on the protocol's test block."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from dpforecast import GRU, DPForecast, InputPerturbation, Persistence, Ridge, SeasonalNaive
from dpforecast.evaluation.metrics import forecast_errors

H = 6


def _forecast(spec, privacy=None, **settings) -> DPForecast:
    models = [GRU(units=8, epochs=2), Ridge(), SeasonalNaive("1d"), Persistence()]
    return DPForecast(models, h=H, window="1d", dataset=spec, privacy=privacy, settings=settings or None)


def test_every_model_is_scored_on_the_same_test_windows_against_the_raw_counts(spec, frame):
    fc = _forecast(spec)
    held = fc.holdout(frame)
    test = held.test
    # The test block is the protocol's last test_days: every target in it.
    first_target = test.index["target_time"].min()
    assert (frame["ds"].max() - first_target).days == fc.test_days - 1
    assert held.windows["test"] == len(test) > 0
    # Persistence's score is the last input count at every lead against the raw targets.
    zones = list(test.zones)
    expected = forecast_errors(test.y, np.repeat(test.x[:, -1:, :len(zones)], H, axis=1), zones)
    for measure in ("rmse", "mae"):
        assert held["persistence"].errors[measure] == pytest.approx(expected[measure])
    assert held["persistence"].rmse == pytest.approx(expected["rmse"]["mean"])
    for name in ("gru", "ridge", "seasonal_day"):
        assert held[name].rmse > 0 and held[name].against_release is None and held[name].intervals is not None


def test_the_fit_never_reads_the_test_block(spec, frame):
    held = _forecast(spec).holdout(frame)
    start = held.test.index["target_time"].min()
    # Ten times the counts in the test block: the scores change, the fits do not.
    louder = frame.with_columns(pl.when(pl.col("ds") >= start).then(pl.col("y") * 10).otherwise(pl.col("y")))
    other = _forecast(spec).holdout(louder)
    assert other["gru"].summary.history == held["gru"].summary.history
    assert other["ridge"].summary.details == held["ridge"].summary.details
    assert other["persistence"].rmse > 5 * held["persistence"].rmse


def test_under_input_perturbation_the_release_is_scored_beside_the_raw_counts(spec, frame):
    held = _forecast(spec, InputPerturbation(epsilon=4, unit="event")).holdout(frame)
    score = held["persistence"]
    assert score.privacy.private and score.privacy.mode == "ip"
    assert score.against_release is not None and score.against_release != score.errors
    assert set(score.metrics()) == {"rmse", "mae", "against_noisy_targets"}
