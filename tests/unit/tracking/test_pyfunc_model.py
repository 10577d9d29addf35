"""The served model (MLflow pyfunc) reads its data set's file whole, in any row order."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import torch

from dpforecast.data import synthetic
from dpforecast.data.spec import load_spec
from dpforecast.models.forecaster import Forecaster, ModelSpec
from dpforecast.models.store import DATASET_SPEC, save_forecaster
from dpforecast.serving.window import WindowInputError


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
