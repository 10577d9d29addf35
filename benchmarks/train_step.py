"""Training-step time and memory: plain steps (fused kernels, our cells) against DP-SGD steps
(Opacus's hooks, the cell-gradient engine), all tanh, measured in one process.

A DP step is the engine's clipped sum of per-sample gradients, the private optimiser's noise
(``NoisyClippedSum``) and Adam, at a fixed batch of the expected size (like
for like with the plain step). "cell-grad" is the default path, ghost clipping; "cell-grad
mat." forms the engine's per-sample gradients and clips them as Opacus's ``DPOptimizer``
does, as Opacus's hooks do here too. The five steps of a shape run in turn, round after
round, and each is reported by its fastest round: these machines are shared, so the minimum
is the least disturbed measure and the ratios compare steps that saw the same load.
``--run`` also times two epochs of ``fit_private`` at the study's BiGRU size per path.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/train_step.py [--repeats 15] [--threads 1] [--run]
    python3 benchmarks/train_step.py --device cuda     # cuDNN plain step (benchmarks/gpu.sh)
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numpy as np
import torch
from torch import nn

from dpforecast.models.forecaster import Forecaster, ModelSpec
from dpforecast.models.fused import FusedForecaster
from dpforecast.privacy.randomness import SecretStream
from dpforecast.training.cell_gradients import CellGradients
from dpforecast.training.dp_sgd import (
    MaterialisedClipping,
    OpacusHooks,
    PerSampleGradientEngine,
    clip_grad_samples,
    fit_private,
    private_optimizer,
    sample_loss,
)
from dpforecast.training.loop import LoopConfig

# (architecture, units, batch): the study's Table 2 sizes, then the default size (which is
# also the DP-SGD default, bigru 64 / batch 64).
SHAPES = [("lstm", 225, 10), ("bilstm", 500, 10), ("gru", 75, 5), ("bigru", 175, 5),
          ("lstm", 64, 64), ("bilstm", 64, 64), ("gru", 64, 64), ("bigru", 64, 64)]
WARMUP = 3
DEVICE = torch.device("cpu")  # --device


def _sync() -> None:
    if DEVICE.type == "cuda":
        torch.cuda.synchronize()


class MaterialisedCellGradients(MaterialisedClipping, CellGradients):
    """The engine's per-sample gradients, clipped as materialised: the path before ghost clipping."""

    name = "cell-gradients-materialised"


def _batch(batch: int) -> tuple[torch.Tensor, torch.Tensor]:
    return torch.randn(batch, 6, 10, device=DEVICE), torch.randn(batch, 6, device=DEVICE)


def _fastest_seconds(steps: list[Callable[[], None]], repeats: int) -> list[float]:
    """Each step's fastest time over ``repeats`` interleaved rounds."""
    for step in steps:
        for _ in range(WARMUP):
            step()
    best = [float("inf")] * len(steps)
    for _ in range(repeats):
        for i, step in enumerate(steps):
            _sync()
            start = time.perf_counter()
            step()
            _sync()
            best[i] = min(best[i], time.perf_counter() - start)
    return best


def _storages(tensors: list[torch.Tensor | None]) -> dict[int, int]:
    return {t.untyped_storage().data_ptr(): t.untyped_storage().nbytes() for t in tensors if t is not None}


def _saved_storages(step: Callable[[], object]) -> dict[int, int]:
    """The distinct storages autograd saves for backward during ``step``, and their bytes."""
    storages: dict[int, int] = {}

    def pack(t: torch.Tensor) -> torch.Tensor:
        storages.update(_storages([t]))
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        step()
    return storages


def _saved_bytes(step: Callable[[], None]) -> int:
    return sum(_saved_storages(step).values())


def _tensor_bytes(tensors: list[torch.Tensor | None]) -> int:
    return sum(t.numel() * t.element_size() for t in tensors if t is not None)


def plain(module: nn.Module, forward: Callable[[torch.Tensor], torch.Tensor], batch: int) -> tuple[Callable[[], None], int]:
    """A plain step, and the bytes it saves for backward plus its gradients."""
    params = [p for p in module.parameters() if p.requires_grad]
    opt = torch.optim.Adam(params, lr=1e-3)
    x, y = _batch(batch)

    def step() -> None:
        opt.zero_grad(set_to_none=True)
        nn.functional.l1_loss(forward(x), y).backward()
        opt.step()

    return step, _saved_bytes(step) + _tensor_bytes([p.grad for p in params])


def private(model: Forecaster, engine: PerSampleGradientEngine, batch: int) -> tuple[Callable[[], None], int]:
    """A DP-SGD step, and the bytes it saves for backward plus what it holds at its peak beyond
    the weights and Adam's state: the clipped sum, and the per-sample gradients (materialised
    paths) or the ghost factors, the per-step gradients and inputs of every map (ghost path)."""
    opt = private_optimizer(torch.optim.Adam(model.parameters(), lr=1e-3), 1.0, 1.0, batch,
                            SecretStream.for_context(None, {"benchmark": "train_step"}))
    x, y = _batch(batch)
    loss = sample_loss("mae")

    def step() -> None:
        opt.zero_grad(set_to_none=True)
        engine.clipped_gradient_sum(model, loss, x, y, 1.0)
        opt.step()

    params = list(model.parameters())
    held = _saved_storages(lambda: engine.clipped_gradient_sum(model, loss, x, y, 1.0))
    held.update(_storages([p.grad for p in params]))
    if isinstance(engine, MaterialisedClipping):
        held.update(_storages([p.grad_sample for p in params]))
    else:
        held.update(_storages([t for factors in engine.factors(model, loss, x, y).values() for t in factors]))
    opt.zero_grad(set_to_none=True)
    engine.release(model)
    return step, sum(held.values())


def _model(arch: str, units: int) -> Forecaster:
    return Forecaster(ModelSpec(arch, units, "tanh", 6, 10, 6)).to(DEVICE)


def step_table(repeats: int) -> None:
    print("| model | units | batch | fused ms | ours ms | DP Opacus ms | DP cell-grad mat. ms | DP cell-grad ms | "
          "DP cell-grad / ours | DP mat. / ours | Opacus / cell-grad | plain MB | DP Opacus MB | DP mat. MB | "
          "DP cell-grad MB | DP cell-grad / plain MB | same, with weights + Adam |")
    print("| --- " * 17 + "|")
    for arch, units, batch in SHAPES:
        torch.manual_seed(0)
        fused = FusedForecaster.from_forecaster(_model(arch, units))
        ours = _model(arch, units)
        opacus_model, opacus = _model(arch, units), OpacusHooks()
        steps = [plain(fused, fused.forward_scaled, batch), plain(ours, ours.forward_scaled, batch),
                 private(opacus_model, opacus, batch), private(_model(arch, units), MaterialisedCellGradients(), batch),
                 private(_model(arch, units), CellGradients(), batch)]
        t_fused, t_ours, t_opacus, t_mat, t_cells = _fastest_seconds([step for step, _ in steps], repeats)
        opacus.release(opacus_model)
        m_plain, m_opacus, m_mat, m_cells = (held for _, held in steps[1:])
        state = 3 * _tensor_bytes(list(ours.parameters()))  # weights, Adam's two moments
        print(f"| {arch} | {units} | {batch} | {t_fused * 1e3:.2f} | {t_ours * 1e3:.2f} | {t_opacus * 1e3:.2f} | "
              f"{t_mat * 1e3:.2f} | {t_cells * 1e3:.2f} | {t_cells / t_ours:.2f} | {t_mat / t_ours:.2f} | "
              f"{t_opacus / t_cells:.1f} | {m_plain / 2**20:.2f} | {m_opacus / 2**20:.2f} | {m_mat / 2**20:.2f} | "
              f"{m_cells / 2**20:.2f} | {m_cells / m_plain:.1f} | {(m_cells + state) / (m_plain + state):.1f} |",
              flush=True)
    print("\nms: fastest of the rounds. MB: the distinct storages autograd saved for backward in the step, "
          "plus what it holds (plain: p.grad; DP: the clipped sum and p.grad_sample, or for ghost clipping the "
          "per-step gradients and inputs of every map); the last column adds the weights and Adam's moments to "
          "both. Measured by saved_tensors_hooks and tensor sizes: torch has no CPU allocator statistics.")


def split_table(repeats: int) -> None:
    """Where a DP step's time goes with the cell-gradient engine, against the plain step's
    forward+backward and Adam: the ghost clipped sum (engine included), or the engine's
    per-sample gradients and their clipping; the noise; Adam. Each timed alone (fastest of
    ``repeats``)."""
    print("\n| model | units | batch | plain fwd+bwd ms | plain Adam | DP ghost clipped sum | DP per-sample grads | "
          "DP clip them | DP noise | DP Adam |")
    print("| --- " * 10 + "|")
    for arch, units, batch in SHAPES:
        torch.manual_seed(0)
        x, y = _batch(batch)
        ours = _model(arch, units)
        adam = torch.optim.Adam(ours.parameters(), lr=1e-3)

        def forward_backward() -> None:
            adam.zero_grad(set_to_none=True)
            nn.functional.l1_loss(ours.forward_scaled(x), y).backward()

        model, engine, loss = _model(arch, units), CellGradients(), sample_loss("mae")
        opt = private_optimizer(torch.optim.Adam(model.parameters(), lr=1e-3), 1.0, 1.0, batch,
                                SecretStream.for_context(None, {"benchmark": "train_step"}))
        engine.per_sample_gradients(model, loss, x, y)

        def noise() -> None:
            for p in model.parameters():
                p.summed_grad = None
            opt.pre_step()

        times = _fastest_seconds([forward_backward, adam.step,
                                  lambda: engine.clipped_gradient_sum(model, loss, x, y, 1.0),
                                  lambda: engine.per_sample_gradients(model, loss, x, y),
                                  lambda: clip_grad_samples(model, 1.0), noise, opt.original_optimizer.step], repeats)
        print(f"| {arch} | {units} | {batch} | " + " | ".join(f"{t * 1e3:.2f}" for t in times) + " |", flush=True)


def epoch_run() -> None:
    """Two epochs of fit_private at the study's BiGRU size on random data, per path."""
    rng = np.random.default_rng(0)
    data = (rng.normal(size=(3114, 6, 10)).astype(np.float32), rng.normal(size=(3114, 6)).astype(np.float32))
    cfg = LoopConfig(epochs=2, batch_size=5, learning_rate=1e-3, seed=0)
    seconds = {}
    for engine in (OpacusHooks(), MaterialisedCellGradients(), CellGradients()):
        torch.manual_seed(0)
        model = Forecaster(ModelSpec("bigru", 175, "relu", 6, 10, 6))
        result, _ = fit_private(model, data, cfg, noise_multiplier=1.0, max_grad_norm=1.0, device=DEVICE,
                                stream=SecretStream.for_context(None, {"benchmark": "train_step"}), engine=engine,
                                progress=False)
        seconds[engine.name] = result.seconds / cfg.epochs
        print(f"fit_private bigru 175, batch 5, 3114 windows, {engine.name}: {seconds[engine.name]:.2f} s/epoch")
    print(f"opacus-hooks / cell-gradients (ghost, default): {seconds['opacus-hooks'] / seconds['cell-gradients']:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--run", action="store_true", help="also time two fit_private epochs per engine")
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    args = parser.parse_args()
    global DEVICE
    DEVICE = torch.device(args.device)
    torch.set_num_threads(args.threads)
    where = torch.cuda.get_device_name(DEVICE) if DEVICE.type == "cuda" else f"{torch.get_num_threads()} threads"
    print(f"torch {torch.__version__}, {args.device} ({where}), {args.repeats} rounds")
    step_table(args.repeats)
    split_table(args.repeats)
    if args.run:
        epoch_run()


if __name__ == "__main__":
    main()
