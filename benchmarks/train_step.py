"""Training-step time: our recurrent cells against PyTorch's fused nn.GRU / nn.LSTM, and
a DP-SGD step (Opacus per-sample gradients, clipping, noise) against the plain step.

Our cells exist for the relu activation the study used and for Opacus's per-sample
gradients; this prints what both cost, as ratios measured in the same process on the
same shapes (these machines are noisy: compare the ratios, not the absolute times).

    .venv/bin/python benchmarks/train_step.py [--repeats 300]
"""

from __future__ import annotations

import argparse
import time

import torch
from torch import nn

from dpforecast.models.forecaster import Forecaster, ModelSpec
from dpforecast.training.dp_sgd import OpacusHooks, private_optimizer, sample_loss

# The study's Table 2 sizes.
SHAPES = {"lstm": (225, 10), "bilstm": (500, 10), "gru": (75, 5), "bigru": (175, 5)}


class NativeForecaster(nn.Module):
    def __init__(self, arch: str, units: int) -> None:
        super().__init__()
        rnn = nn.GRU if "gru" in arch else nn.LSTM
        bi = arch.startswith("bi")
        self.rnn = rnn(10, units, batch_first=True, bidirectional=bi)
        self.head = nn.Linear(units * (2 if bi else 1), 6)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _, h = self.rnn(x)
        h = h[0] if isinstance(h, tuple) else h
        return self.head(torch.cat(list(h), dim=1))


def step_seconds(model: nn.Module, forward, batch: int, repeats: int) -> float:  # noqa: ANN001
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    x, y = torch.randn(batch, 6, 10), torch.randn(batch, 6)
    loss_fn = nn.L1Loss()
    for _ in range(20):
        opt.zero_grad()
        loss_fn(forward(x), y).backward()
        opt.step()
    start = time.perf_counter()
    for _ in range(repeats):
        opt.zero_grad()
        loss_fn(forward(x), y).backward()
        opt.step()
    return (time.perf_counter() - start) / repeats


def dp_step_seconds(model: Forecaster, batch: int, repeats: int) -> float:
    """One DP-SGD step at the expected batch size (fixed here to compare like for like)."""
    engine = OpacusHooks()
    opt = private_optimizer(torch.optim.Adam(model.parameters(), lr=1e-3), 1.0, 1.0, batch, torch.Generator())
    x, y = torch.randn(batch, 6, 10), torch.randn(batch, 6)
    loss = sample_loss("mae")

    def one() -> None:
        opt.zero_grad()
        engine.per_sample_gradients(model, loss, x, y)
        opt.step()

    for _ in range(20):
        one()
    start = time.perf_counter()
    for _ in range(repeats):
        one()
    engine.release(model)
    return (time.perf_counter() - start) / repeats


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=300)
    args = parser.parse_args()
    torch.manual_seed(0)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    print("| model | units | batch | native tanh ms/step | ours tanh | ours relu | DP-SGD relu | ours tanh / native | DP-SGD / ours relu |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for arch, (units, batch) in SHAPES.items():
        native = NativeForecaster(arch, units)
        t_native = step_seconds(native, native, batch, args.repeats)
        ours = {}
        for act in ("tanh", "relu"):
            m = Forecaster(ModelSpec(arch, units, act, 6, 10, 6))
            ours[act] = step_seconds(m, m.forward_scaled, batch, args.repeats)
        t_dp = dp_step_seconds(Forecaster(ModelSpec(arch, units, "relu", 6, 10, 6)), batch, args.repeats)
        print(f"| {arch} | {units} | {batch} | {t_native * 1e3:.2f} | {ours['tanh'] * 1e3:.2f} | "
              f"{ours['relu'] * 1e3:.2f} | {t_dp * 1e3:.2f} | {ours['tanh'] / t_native:.2f} | {t_dp / ours['relu']:.2f} |")


if __name__ == "__main__":
    main()
