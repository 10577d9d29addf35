"""dpforecast.tracking.pyfunc_model: the served model rebuilt from its folder answers recent counts with the
long table (logged and loaded through MLflow: tests/integration/test_serving_horizon.py), and reads its data set's
file whole, in any row order."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import torch
import yaml

from dpforecast.data import synthetic
from dpforecast.data.spec import load_spec
from dpforecast.features.scaling import Scaler
from dpforecast.models.conformal import Intervals
from dpforecast.models.forecaster import Forecaster, ModelSpec
from dpforecast.models.store import DATASET_SPEC, INTERVALS, save_forecaster
from dpforecast.runtime.io import write_json
from dpforecast.serving.window import SERVED_COLUMNS, WindowInputError
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


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """An untrained GRU saved as a model folder for a synthetic long data set, loaded as MLflow
    would load it, and the data set's file."""
    from dpforecast.tracking.pyfunc_model import ForecasterModel

    root = tmp_path_factory.mktemp("served")
    frame = synthetic.generate(zones=3, days=4, interval_minutes=60, start="2024-09-25T02:00", timezone="Pacific/Auckland",
                               seed=5)
    csv, spec_path = synthetic.write(frame, root / "data", "town", "long", root=root)
    zones = load_spec(spec_path).zone_ids
    folder = root / "model"
    torch.manual_seed(0)  # public weights: any would do, these are reproducible
    module = Forecaster(ModelSpec(architecture="gru", units=4, activation="tanh", window=6, n_features=len(zones) + 4,
                                  n_targets=len(zones), horizon=2))
    save_forecaster(module, folder, {"params": {"features.week_period_days": 7.0}, "zones": zones,
                                     "privacy": {"private": False}})
    (folder / DATASET_SPEC).write_text(spec_path.read_text())
    model = ForecasterModel()
    model.load_context(SimpleNamespace(artifacts={"forecaster": str(folder)}))
    return model, pd.read_csv(csv, dtype=str, keep_default_na=False)


def test_the_data_file_shuffled_is_forecast_from_its_last_window_as_the_window_alone(served):
    model, rows = served
    table = model.predict(None, rows.sample(frac=1.0, random_state=3))
    last = table[table["origin_time"] == table["origin_time"].iloc[-1]].reset_index(drop=True)
    assert last["origin_time"].iloc[0] == "2024-09-29T01:00:00+12:00"  # the file's last interval
    # the clocks go forward at 02:00: the next two hours start at 03:00 and 04:00, summer time
    assert last["target_time"].tolist()[::3] == ["2024-09-29T03:00:00+13:00", "2024-09-29T04:00:00+13:00"]
    tail = rows[rows["ds"].isin(rows["ds"].drop_duplicates().tail(6))]
    window = tail.pivot(index="ds", columns="unique_id", values="y").reset_index().rename(columns={"ds": "timestamp"})
    alone = model.predict(None, window)
    assert len(alone) == 2 * 3
    keys = ["origin_time", "target_time", "lead", "zone"]
    assert alone[keys].equals(last[keys])
    # the same inputs; a batch of one and one of 91 windows may round float32 differently
    assert np.allclose(alone["forecast"], last["forecast"], rtol=1e-5, atol=1e-6)


def test_a_zone_with_no_recent_rows_is_named(served):
    model, rows = served
    with pytest.raises(WindowInputError, match=r"zone z0002 \(Synthetic zone 0002\) has a count in 0 of the 6"):
        model.predict(None, rows[rows["unique_id"] != "z0002"])
