"""The fused nn.GRU/nn.LSTM training path: the same function as our cells, an exact weight
round trip, and saved, logged and served models unchanged."""

from __future__ import annotations

from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import polars as pl
import pytest
import torch

from dpforecast.features.scaling import Scaler
from dpforecast.models.forecaster import Forecaster, ModelSpec
from dpforecast.models.fused import FusedForecaster
from dpforecast.models.store import DATASET_SPEC, save_forecaster
from dpforecast.runtime.paths import Paths
from dpforecast.serving.window import recent_counts, window_inputs
from dpforecast.training import loop
from dpforecast.training.loop import LoopConfig, fit, predict

from montreuil_spec import SPEC, ZONES

BOUNDS = ["lower_80", "upper_80", "lower_95", "upper_95"]
ARCHS = ["lstm", "gru", "bilstm", "bigru"]
SERVING = {"data.timezone": "Europe/Paris", "features.week_period_days": 7.0}


def _counts(rows: int, seed: int = 0) -> pd.DataFrame:
    """Recent counts in the served format: ISO timestamps with offset, r1..r6."""
    rng = np.random.default_rng(seed)
    stamps = pd.date_range("2020-10-01 06:00", periods=rows, freq="30min", tz="Europe/Paris")
    frame = pd.DataFrame({z: rng.integers(0, 3000, rows) for z in ZONES})
    frame.insert(0, "timestamp", [t.isoformat() for t in stamps])
    return frame


def _windows(counts: pd.DataFrame, window: int) -> np.ndarray:
    x, _ = window_inputs(recent_counts(pl.from_pandas(counts), SPEC, ZONES), window,
                         week_period_days=SERVING["features.week_period_days"], interval_minutes=SPEC.interval_minutes)
    return x


def _model(arch: str, log_counts: bool = False, window: int = 6,
           activation: str = "tanh") -> tuple[Forecaster, torch.Tensor]:
    """A model with every weight and bias non-zero (so a misplaced gate block shows), and raw inputs."""
    x = _windows(_counts(window + 19), window)
    scaler = Scaler.log_counts(10, 6) if log_counts else Scaler.fit(x, x[:, -1, :6], 6)
    torch.manual_seed(0)
    model = Forecaster(ModelSpec(arch, 8, activation, window, 10, 6, log_counts=log_counts), scaler)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.2 * torch.randn_like(p))
    return model, torch.as_tensor(x)


@pytest.mark.parametrize("log_counts,window", [(False, 6), (True, 6), (False, 1)])
@pytest.mark.parametrize("arch", ARCHS)
def test_fused_and_cells_predict_the_same(arch, log_counts, window):
    model, x = _model(arch, log_counts, window)
    fused = FusedForecaster.from_forecaster(model)
    with torch.no_grad():
        torch.testing.assert_close(fused.forward_scaled(x), model.forward_scaled(x), rtol=0, atol=1e-5)


@pytest.mark.parametrize("arch", ARCHS)
def test_weights_round_trip_exactly_and_counts_match(arch):
    model, _ = _model(arch)
    rng = torch.random.get_rng_state()
    fused = FusedForecaster.from_forecaster(model)
    assert torch.equal(rng, torch.random.get_rng_state())  # building the copy draws no random numbers
    other = Forecaster(model.spec)
    fused.copy_to(other)
    for (name, a), (_, b) in zip(model.named_parameters(), other.named_parameters(), strict=True):
        assert torch.equal(a, b), name
    trainable = sum(p.numel() for p in fused.parameters() if p.requires_grad)
    assert trainable == sum(p.numel() for p in model.parameters() if p.requires_grad)


@pytest.mark.parametrize("arch", ["bilstm", "bigru"])
def test_one_step_on_either_path_gives_the_same_weights(arch):
    """Same gradients: a plain gradient step on the fused copy, written back, equals the step on our cells."""
    model, x = _model(arch)
    fused = FusedForecaster.from_forecaster(model)
    target = torch.randn(len(x), 6)
    for trainee in (model, fused):
        torch.nn.L1Loss()(trainee.forward_scaled(x), target).backward()
        with torch.no_grad():
            for p in trainee.parameters():
                if p.grad is not None:
                    p -= 0.1 * p.grad
    stepped = Forecaster(model.spec)
    fused.copy_to(stepped)
    for (name, a), (_, b) in zip(model.named_parameters(), stepped.named_parameters(), strict=True):
        torch.testing.assert_close(b, a, rtol=0, atol=1e-5, msg=name)
    if arch == "bilstm":
        frozen = [p for n, p in fused.rnn.named_parameters() if n.startswith("bias_hh")]
        assert all(not p.requires_grad and not p.any() for p in frozen)


def test_relu_is_refused_and_trains_our_cells(monkeypatch):
    model, x = _model("gru", activation="relu")
    with pytest.raises(ValueError, match="tanh only"):
        FusedForecaster.from_forecaster(model)
    def refuse(model: Forecaster) -> None:
        raise AssertionError("fit() reached for the fused path with relu")

    monkeypatch.setattr(loop.FusedForecaster, "from_forecaster", refuse)
    before = model.rnn.forward_cell.hidden_map.weight.clone()
    y = x[:, -1, :6].numpy()
    cfg = LoopConfig(epochs=1, batch_size=4, learning_rate=1e-2)
    fit(model, (x.numpy(), y), None, cfg, torch.device("cpu"), progress=False)
    assert not torch.equal(before, model.rnn.forward_cell.hidden_map.weight)


def test_model_trained_fused_is_saved_logged_and_served_the_same(tmp_path, monkeypatch):
    counts = _counts(160, seed=1)
    x = _windows(counts, 6)
    x_train, y_train = x[:-1], x[1:, -1, :6]  # next interval's counts
    torch.manual_seed(0)
    model = Forecaster(ModelSpec("bilstm", 8, "tanh", 6, 10, 6), Scaler.fit(x_train, y_train, 6))
    copies, copy_to = [], FusedForecaster.copy_to
    monkeypatch.setattr(FusedForecaster, "copy_to", lambda self, m: copies.append(m) or copy_to(self, m))
    cfg = LoopConfig(epochs=2, batch_size=16, learning_rate=1e-2, patience=1)
    result = fit(model, (x_train[:120], y_train[:120]), (x_train[120:], y_train[120:]), cfg,
                 torch.device("cpu"), progress=False)
    assert copies == [model] and result.best_epoch >= 1
    from dpforecast.tracking.mlflow_tracking import configure, log_forecaster

    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    configure(Paths(tmp_path), "fused")
    folder = tmp_path / "model"
    save_forecaster(model, folder, {"params": SERVING, "zones": ZONES})
    (folder / DATASET_SPEC).write_text(Path(SPEC.path).read_text())
    with mlflow.start_run():
        uri = log_forecaster(folder, counts.head(6))
    served = mlflow.pyfunc.load_model(uri).predict(counts.tail(30))
    local = predict(model, _windows(counts.tail(30), 6), torch.device("cpu"))
    assert served["zone"].tolist() == ZONES * len(local)
    np.testing.assert_allclose(served["forecast"].to_numpy().reshape(local.shape), local, rtol=1e-5, atol=1e-5)
    assert served[BOUNDS].isna().all().all()  # no intervals.json: no interval
