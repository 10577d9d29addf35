"""Counts per nominal interval on a local clock, and forecasts back to their targets' counts."""

from __future__ import annotations

import numpy as np
import polars as pl

from dpforecast.data import synthetic
from dpforecast.data.clock import Clock
from dpforecast.features.rates import as_counts, duration_ratios, per_nominal_interval

ZONE = "Europe/Paris"


def test_a_three_hour_count_is_scaled_to_two_hours_and_back():
    frame = synthetic.generate(3, 3, 120, start="2024-10-26", timezone=ZONE, hierarchy=False, interval_clock="local")
    clock = Clock(120, ZONE, local=True)
    ratios = duration_ratios(frame["timestamp"], clock)
    assert sorted(set(ratios.tolist())) == [1.0, 1.5]  # 02:00 CEST to 04:00 CET on 2024-10-27
    zones = ["z0001", "z0002"]
    rates = per_nominal_interval(frame, zones, clock)
    long = int(np.flatnonzero(ratios == 1.5)[0])
    assert rates["z0001"][long] == frame["z0001"][long] / 1.5 and rates["z0003"].equals(frame["z0003"])
    assert rates["z0002"][0] == frame["z0002"][0]
    back = as_counts(rates.select(zones).to_numpy()[None], ratios[None])[0]
    assert np.allclose(back, frame.select(zones).to_numpy())


def test_an_absolute_clock_leaves_the_counts_as_they_are():
    frame = synthetic.generate(2, 2, 30, start="2024-10-26", timezone=ZONE)
    clock = Clock(30, ZONE)
    assert per_nominal_interval(frame, ["z0001"], clock) is frame
    assert (duration_ratios(frame["timestamp"], clock) == 1).all()
    forecast = np.arange(6.0).reshape(1, 3, 2)
    assert np.array_equal(as_counts(forecast, np.ones((1, 3))), forecast)
    assert pl.Series(as_counts(forecast, np.array([[1.0, 0.5, 1.5]]))[0, :, 1]).to_list() == [1.0, 1.5, 7.5]
