"""Seconds per epoch of the ``paper`` profile's BiGRU on the real windows, per device, in one process.

For each device asked for: the study's relu model (our cells), the same model with tanh
(the fused ``nn.GRU`` path non-private training takes), and DP-SGD on the relu model with
the default engine and, with ``--opacus``, with Opacus's hooks. Every row trains a fresh
model from the same seed for ``--epochs`` epochs; the ratios compare rows of this run only.

    .venv/bin/python benchmarks/epoch_time.py --epochs 2 --devices cpu [--opacus]
    .venv/bin/python benchmarks/epoch_time.py --save-windows W.npz   # for a machine without polars
    python3 benchmarks/epoch_time.py --windows W.npz --devices cuda,cpu --opacus   # benchmarks/gpu.sh

Without ``--windows`` it builds the windows from the raw data (``dvc pull data.dvc``) in a
temporary folder, with the pipeline's own stages; with it, it needs only torch and Opacus.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
import torch

from dpforecast.features.scaling import Scaler
from dpforecast.models.forecaster import Forecaster, ModelSpec
from dpforecast.privacy.randomness import SecretStream
from dpforecast.training.device import seed_everything
from dpforecast.training.dp_sgd import OpacusHooks, fit_private
from dpforecast.training.loop import LoopConfig, fit

REPO = Path(__file__).resolve().parents[1]
ARCH = "bigru"


# The paper profile's BiGRU (profiles/paper.yaml): units, batch size, learning rate; relu,
# MAE, no shuffling. Fixed here so that a machine without the config stack can run it.
UNITS, BATCH, LR = 175, 5, 0.000289


def study_windows() -> tuple[np.ndarray, np.ndarray]:
    """The paper profile's training windows (3,114 of 6 steps), built from the raw file by
    the pipeline's stages."""
    from dataclasses import replace

    import polars as pl

    from dpforecast.config import load_params
    from dpforecast.features.windows import window_arrays
    from dpforecast.runtime.paths import Paths
    from dpforecast.stages.features import build_features
    from dpforecast.stages.ingest import ingest
    from dpforecast.stages.release import release
    from dpforecast.stages.validate import validate

    params = load_params(REPO / "params.yaml", profile="paper")
    params = replace(params, privacy=replace(params.privacy, mode="none"))
    assert params.hyper(ARCH) == (UNITS, BATCH, LR), "profiles/paper.yaml changed: update UNITS, BATCH, LR"
    with tempfile.TemporaryDirectory() as tmp:
        paths = Paths(Path(tmp))
        ingest(REPO / params.data_set.raw, paths.raw_table)
        validate(paths.raw_table, paths.series, paths.validation_dir, params)
        release(paths, params)
        build_features(paths, params)
        return window_arrays(pl.read_parquet(paths.feature_table), pl.read_parquet(paths.windows), "train",
                             params.features.window, params.features.horizon,
                             list(pl.read_parquet_schema(paths.targets)))


def model(train: tuple[np.ndarray, np.ndarray], activation: str, device: torch.device) -> Forecaster:
    seed_everything(0)
    _, window, features = train[0].shape
    zones = train[1].shape[-1]
    return Forecaster(ModelSpec(ARCH, UNITS, activation, window, features, zones),
                      Scaler.identity(features, zones)).to(device)


def seconds_per_epoch(train: tuple[np.ndarray, np.ndarray], device: torch.device, row: str, epochs: int) -> float:
    cfg = LoopConfig(epochs=epochs, batch_size=BATCH, learning_rate=LR, loss="mae", shuffle=False, patience=0, seed=0)
    if row == "plain relu (cells)":
        result = fit(model(train, "relu", device), train, None, cfg, device, progress=False)
    elif row == "plain tanh (fused)":
        result = fit(model(train, "tanh", device), train, None, cfg, device, progress=False)
    else:
        engine = OpacusHooks() if "opacus" in row else None
        stream = SecretStream.for_context(None, {"benchmark": "epoch_time"})  # OS randomness, as an unkeyed run
        result, _ = fit_private(model(train, "relu", device), train, cfg, 1.0, 1.0, device, stream, engine=engine,
                                progress=False)
    if device.type == "cuda":
        torch.cuda.synchronize()
    return result.seconds / epochs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--devices", default="cuda,cpu" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--opacus", action="store_true", help="also time DP-SGD with Opacus's hooks (slow)")
    parser.add_argument("--windows", type=Path, help="training windows saved by --save-windows")
    parser.add_argument("--save-windows", type=Path, help="build the windows, save them here and stop")
    args = parser.parse_args()
    if args.windows:
        with np.load(args.windows) as f:
            train = (f["x"], f["y"])
    else:
        train = study_windows()
    if args.save_windows:
        np.savez(args.save_windows, x=train[0], y=train[1])
        print(f"wrote {len(train[0])} training windows to {args.save_windows}")
        return
    print(f"torch {torch.__version__}, {torch.get_num_threads()} CPU threads; paper BiGRU: {UNITS} units, batch {BATCH}, "
          f"{len(train[0])} training windows, {args.epochs} epoch(s) per row")
    rows = ["plain relu (cells)", "plain tanh (fused)", "DP-SGD relu (cell-gradients)"]
    if args.opacus:
        rows.append("DP-SGD relu (opacus hooks)")
    times: dict[tuple[str, str], float] = {}
    print("| device | row | s/epoch | / plain relu on this device |")
    print("| --- | --- | --- | --- |")
    for name in args.devices.split(","):
        device = torch.device(name)
        for row in rows:
            times[name, row] = seconds_per_epoch(train, device, row, args.epochs)
            print(f"| {name} | {row} | {times[name, row]:.2f} | {times[name, row] / times[name, rows[0]]:.2f} |",
                  flush=True)
    if "cuda" in args.devices and "cpu" in args.devices:
        print("\n| row | cuda s/epoch | cpu s/epoch | cpu / cuda |")
        print("| --- | --- | --- | --- |")
        for row in rows:
            print(f"| {row} | {times['cuda', row]:.2f} | {times['cpu', row]:.2f} | "
                  f"{times['cpu', row] / times['cuda', row]:.2f} |")


if __name__ == "__main__":
    main()
