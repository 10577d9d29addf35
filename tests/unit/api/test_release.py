"""One release in memory: charged before a count is read, noised from secret randomness."""

from __future__ import annotations

import polars as pl
import pytest

from dpforecast.api.frames import to_series
from dpforecast.api.release import release_once
from dpforecast.config import params_from_dict, resolve
from dpforecast.privacy import release_start
from dpforecast.privacy.budget import open_ledger


def _params(spec):
    return resolve(params_from_dict({"dataset": spec.name, "privacy": {"mode": "ip", "epsilon": 1.0, "unit": "event"}}),
                   spec)


def test_the_release_keeps_the_grid_noises_every_zone_and_states_its_guarantee(spec, frame):
    params = _params(spec)
    series = to_series(frame, params)
    released, report = release_once(params, series)
    assert released["timestamp"].equals(series["timestamp"]) and released.columns == ["timestamp", *spec.zone_ids]
    for zone in spec.zone_ids:
        assert not released[zone].equals(series[zone])
    assert report.private and report.mode == "ip" and report.epsilon == 1.0 and "one release" in report.to_markdown()
    charges = open_ledger(params).charges()
    assert len(charges) == 1 and charges[0].mode == "ip"


def test_two_releases_of_one_series_draw_different_noise(spec, frame):
    params = _params(spec)
    series = to_series(frame, params)
    first, _ = release_once(params, series)
    second, _ = release_once(params, series)
    assert not first.equals(second)  # no public seed: nothing repeats


def test_the_charge_lands_before_a_count_is_read(spec, frame, monkeypatch):
    params = _params(spec)
    series = to_series(frame, params)

    def refused(*args, **kwargs):
        raise RuntimeError("ledger refused")

    monkeypatch.setattr(release_start, "open_ledger", lambda p: type("L", (), {"charge": refused})())
    poisoned = series.with_columns(pl.lit(None, dtype=pl.Int64).alias(spec.zone_ids[0]))
    with pytest.raises(RuntimeError, match="ledger refused"):
        release_once(params, poisoned)  # refused at the charge: the counts were never touched
