"""dpforecast.serving.predict: what ``dpforecast predict`` prints and writes of a served model's long table
(loading a registered model and forecasting a CSV: tests/integration/test_serving_horizon.py)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from dpforecast.models.conformal import Intervals
from dpforecast.serving.predict import Forecast, interval_note, last_window_table, write_forecasts
from dpforecast.serving.window import SERVED_COLUMNS


def test_the_note_says_when_the_privacy_guarantee_does_not_cover_the_intervals():
    widths = np.ones((2, 1, 1))
    dp_sgd = Intervals((0.8, 0.95), widths, 30, "validation block, raw counts", covered=False)
    assert "NOT covered by the model's privacy guarantee" in interval_note(dp_sgd, private=True)
    assert "NOT" not in interval_note(dp_sgd, private=False)
    assert interval_note(None, private=True).startswith("no intervals")


def test_the_note_names_the_levels_and_where_they_were_calibrated():
    ip = Intervals((0.8, 0.95), np.ones((2, 1, 1)), 30, "second half of the validation block, noisy release",
                   covered=True)
    assert interval_note(ip, private=True) == ("80% and 95% intervals: split conformal, second half of the "
                                               "validation block, noisy release")


def _forecast(horizon: int) -> Forecast:
    """Two windows (origins 00:00 and 01:00, Paris in winter), ``horizon`` hourly leads, two zones."""
    rows = []
    for origin in (0, 1):
        for lead in range(1, horizon + 1):
            for zone, people in (("z1", 1234.4), ("z2", math.nan)):
                value = people + origin
                rows.append([f"2024-01-05T0{origin}:00:00+01:00", f"2024-01-05T0{origin + lead}:00:00+01:00", 60,
                             lead, zone, value, value - 10.6, value + 10, value - 20, value + 20.5])
    return Forecast(pd.DataFrame(rows, columns=SERVED_COLUMNS), {"z1": "Centre"}, "80% and 95% intervals: a note", 60)


def test_the_terminal_view_is_the_last_window_rounded_to_whole_people():
    lines = last_window_table(_forecast(1)).splitlines()
    assert lines[0] == "forecast from 2024-01-05T01:00:00+01:00 for 2024-01-05T02:00:00+01:00 (1 lead)"
    assert lines[1] == "80% and 95% intervals: a note"
    assert lines[2].split() == ["zone", "name", "lead", "time", "people", "80%", "95%"]
    assert lines[3].split() == ["z1", "Centre", "1", "01-05", "02:00+01:00", "1235", "[1225,", "1245]", "[1215,", "1256]"]
    assert lines[4].split() == ["z2", "z2", "1", "01-05", "02:00+01:00", "-", "[-,", "-]", "[-,", "-]"]  # no forecast
    assert len(lines) == 5


def test_several_leads_are_listed_zone_by_zone_with_the_id_once():
    lines = last_window_table(_forecast(2)).splitlines()
    assert lines[0].endswith("for 2024-01-05T02:00:00+01:00 to 2024-01-05T03:00:00+01:00 (2 leads)")
    body = lines[3:]
    assert body[0] == "" and body[3] == ""  # a blank line before each zone's leads
    assert body[1].split()[:3] == ["z1", "Centre", "1"] and body[2].split()[:2] == ["2", "01-05"]


def test_every_window_lead_and_zone_is_written_as_csv(tmp_path):
    forecast = _forecast(2)
    path = write_forecasts(forecast, tmp_path / "out" / "forecasts.csv")
    written = pd.read_csv(path)
    assert list(written.columns) == SERVED_COLUMNS and len(written) == 8
    pd.testing.assert_frame_equal(written, forecast.table)
    assert sorted(p.name for p in path.parent.iterdir()) == ["forecasts.csv"]
    with pytest.raises(OSError):
        write_forecasts(forecast, path / "not-a-folder.csv")
