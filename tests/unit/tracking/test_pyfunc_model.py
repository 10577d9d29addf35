"""dpforecast.tracking.pyfunc_model: the served model rebuilt from its folder answers recent counts with the
long table (logged and loaded through MLflow: tests/integration/test_serving_horizon.py)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import yaml

from dpforecast.data import synthetic
from dpforecast.features.scaling import Scaler
from dpforecast.models.conformal import Intervals
from dpforecast.models.forecaster import Forecaster, ModelSpec
from dpforecast.models.store import DATASET_SPEC, INTERVALS, save_forecaster
from dpforecast.runtime.io import write_json
from dpforecast.serving.window import SERVED_COLUMNS
from dpforecast.tracking.pyfunc_model import ForecasterModel

ZONES = ["z0001", "z0002"]
WINDOW, HORIZON = 6, 2


@pytest.fixture
def folder(tmp_path):
    """An untrained residual GRU (its head at zero: it forecasts persistence) saved as training saves it."""
    frame = synthetic.generate(zones=2, days=2, interval_minutes=60, hierarchy=False)
    model = Forecaster(ModelSpec("gru", 4, "tanh", WINDOW, len(ZONES) + 4, len(ZONES), log_counts=True, residual=True,
                                 horizon=HORIZON), Scaler.log_counts(len(ZONES) + 4, len(ZONES)))
    save_forecaster(model, tmp_path, {"params": {"features.week_period_days": 7.0}, "zones": ZONES,
                                      "privacy": {"private": True}})
    (tmp_path / DATASET_SPEC).write_text(yaml.safe_dump(synthetic.spec_dict(frame, "town", "data/town.csv")))
    return tmp_path, frame


def _served(folder) -> ForecasterModel:
    served = ForecasterModel()
    served.load_context(SimpleNamespace(artifacts={"forecaster": str(folder)}))
    return served


def _recent(frame, rows: int) -> pd.DataFrame:
    recent = frame.tail(rows).to_pandas()
    recent["timestamp"] = [t.isoformat() for t in recent["timestamp"]]
    return recent


def test_the_context_is_the_models_folder(folder):
    served = _served(folder[0])
    assert served.zones == ZONES and served.private and served.intervals is None
    assert served.dataset.name == "town" and served.model.spec.horizon == HORIZON and not served.model.training


def test_every_complete_window_lead_and_zone_is_answered(folder):
    path, frame = folder
    recent = _recent(frame, WINDOW + 1)  # two complete windows
    table = _served(path).predict(None, recent)
    assert list(table.columns) == SERVED_COLUMNS and len(table) == 2 * HORIZON * len(ZONES)
    assert table["origin_time"].unique().tolist() == recent["timestamp"].tolist()[-2:]
    last = table[table["origin_time"] == recent["timestamp"].iloc[-1]]
    assert last["lead"].tolist() == [1, 1, 2, 2] and last["zone"].tolist() == ZONES * 2
    assert last["target_time"].tolist()[::2] == [(frame["timestamp"][-1] + pd.Timedelta(hours=h)).isoformat()
                                                 for h in (1, 2)]
    expected = recent[ZONES].iloc[-1].astype(float).tolist() * HORIZON  # persistence
    np.testing.assert_allclose(last["forecast"], expected, rtol=1e-4)
    assert table["lower_80"].isna().all()  # no intervals.json: no bounds


def test_calibrated_intervals_bound_the_forecast(folder):
    path, frame = folder
    widths = np.array([[[5.0, 10.0], [6.0, 12.0]], [[50.0, 100.0], [60.0, 120.0]]])  # level, lead, zone
    write_json(path / INTERVALS, Intervals((0.8, 0.95), widths, 40, "validation block", covered=True).to_json())
    table = _served(path).predict(None, _recent(frame, WINDOW))
    np.testing.assert_allclose(table["upper_80"] - table["forecast"], [5.0, 10.0, 6.0, 12.0])
    np.testing.assert_allclose(table["upper_95"] - table["forecast"], [50.0, 100.0, 60.0, 120.0])
    assert (table["lower_95"] >= 0).all()
