"""The recurrent forecasters as models: their own settings, hooks, and a fit that learns."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import polars as pl
import pytest

from dpforecast.config import Params, resolve
from dpforecast.data import synthetic
from dpforecast.data.clock import Clock
from dpforecast.data.spec import spec_from_dict
from dpforecast.features.calendar import add_calendar_features
from dpforecast.features.windows import make_windows
from dpforecast.models.base import Callback, FitContext, Windows
from dpforecast.training.networks import GRU, NETWORKS, BiGRU

ZONES = ["z0001", "z0002"]


class Recorder(Callback):
    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    def on_fit_start(self, model, settings):
        self.calls.append(("start", model))
        self.settings = dict(settings)

    def on_epoch_end(self, model, epoch, metrics):
        self.calls.append(("epoch", model))


FRAME = synthetic.generate(zones=2, days=14, interval_minutes=60, hierarchy=False)


def _params(epochs: int) -> Params:
    spec = spec_from_dict(synthetic.spec_dict(FRAME, "town", "town.csv"), "town.yaml")
    params = resolve(Params(dataset="town"), spec)
    return replace(params, train=replace(params.train, epochs=epochs))


def _windows(split: str) -> Windows:
    frame = FRAME
    table = add_calendar_features(frame, 7.0)
    index = make_windows(table, 12, 1, False, 2, 2, Clock(60, "Europe/Paris"), ZONES)
    return Windows.of(table, index.filter(pl.col("split") == split), 12, 1, ZONES, 60)


def test_a_network_takes_its_own_settings_over_the_parameters():
    params = BiGRU(units=16, epochs=3, learning_rate=0.01).resolve(Params())
    assert params.hyper("bigru") == (16, 64, 0.01) and params.train.epochs == 3
    assert params.hyper("gru") == Params().hyper("gru")
    assert sorted(NETWORKS) == ["bigru", "bilstm", "gru", "lstm"]


def test_a_fit_calls_the_hooks_and_beats_its_untrained_self():
    train, validation = _windows("train"), _windows("validation")
    recorder = Recorder()
    untrained = GRU(units=8, epochs=1)
    untrained.fit(train, validation.take(slice(0, 0)), FitContext(_params(1)))
    model = GRU(units=8, epochs=8)
    summary = model.fit(train, validation, FitContext(_params(30), callbacks=(recorder,)))
    assert recorder.calls[0] == ("start", "gru") and recorder.calls.count(("epoch", "gru")) == len(summary.history)
    assert recorder.settings["units"] == 8 and recorder.settings["privacy"] == "none"
    errors = {n: float(np.mean(np.abs(m.predict(validation) - validation.y))) for n, m in
              (("one epoch", untrained), ("eight", model))}
    assert errors["eight"] < errors["one epoch"]
    with pytest.raises(ValueError, match="predict before fit"):
        GRU().predict(validation)
