"""The figures are written whole, as PNG, for any number of zones and models."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np

from dpforecast.evaluation.plots import MAX_PANELS, fan_figure, forecast_figure, lead_figure, training_figure

PNG = b"\x89PNG\r\n\x1a\n"


def test_every_figure_is_a_png_and_leaves_no_temporary(tmp_path):
    times = [datetime(2024, 1, 1) + timedelta(hours=k) for k in range(24)]
    zones = [f"z{i}" for i in range(MAX_PANELS + 3)]  # more zones than panels: the first ones shown
    actual = np.arange(24 * len(zones), dtype=float).reshape(24, len(zones))
    forecast_figure(times, actual, {"gru": actual + 1}, tmp_path / "forecast.png", {z: z.upper() for z in zones}, zones)
    training_figure({"gru": [{"train_loss": 1.0, "val_loss": 1.2}, {"train_loss": 0.5, "val_loss": 0.9}]},
                    tmp_path / "training.png")
    two = zones[:2]
    history, future = (times[:12], actual[:12, :2]), (times[12:], actual[12:, :2])
    fan_figure(history, future, "gru", actual[12:, :2], {0.8: (actual[12:, :2] - 1, actual[12:, :2] + 1)},
               tmp_path / "fan.png", {z: z.upper() for z in two}, two)
    lead_figure([30, 60, 90], {"gru": [1.0, 2.0, 3.0], "persistence": [1.5, 2.5, 3.5]}, tmp_path / "leads.png")
    written = sorted(p.name for p in tmp_path.iterdir())
    assert written == ["fan.png", "forecast.png", "leads.png", "training.png"]
    assert all((tmp_path / name).read_bytes().startswith(PNG) for name in written)
