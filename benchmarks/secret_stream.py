"""What secret randomness costs: the CSPRNG's draws against torch's generator, and one DP-SGD epoch.

Prints, in one process so the machine's noise cancels, the time of a DP-SGD step's draws
(Poisson mask over the training windows and one normal per parameter) from
:class:`~dpforecast.privacy.randomness.SecretStream` (keyed and from the OS) against
``torch.rand``/``torch.randn`` on a seeded generator (what fit_private drew from before, and
which protected no one), and one fit_private epoch of BiGRU-64 at the dp-sgd profile's batch.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/secret_stream.py
"""

from __future__ import annotations

import time

import numpy as np
import torch

from dpforecast.models.forecaster import Forecaster, ModelSpec
from dpforecast.privacy.randomness import PrivacyKey, SecretStream
from dpforecast.training.dp_sgd import fit_private
from dpforecast.training.loop import LoopConfig

WINDOWS = 2_772  # Montreuil's training windows
STEPS = 200


def _per_step(draw, repeats: int = STEPS) -> float:
    start = time.perf_counter()
    for _ in range(repeats):
        draw()
    return (time.perf_counter() - start) / repeats


def main() -> None:
    torch.set_num_threads(1)
    model = Forecaster(ModelSpec("bigru", 64, "tanh", 6, 10, 6))
    params = sum(p.numel() for p in model.parameters())
    keyed = SecretStream.for_context(PrivacyKey(bytes(32), "bench"), {"bench": 1})
    fresh = SecretStream.for_context(None, {"bench": 1})
    gen = torch.Generator().manual_seed(0)
    base = _per_step(lambda: (torch.rand(WINDOWS, generator=gen), torch.randn(params, generator=gen)))
    for name, stream in (("keyed", keyed), ("os", fresh)):
        t = _per_step(lambda s=stream: (s.uniform(WINDOWS), s.normal(params)))
        print(f"step draws ({WINDOWS} windows, {params} parameters), {name} stream: {t * 1e3:.3f} ms, "
              f"{t / base:.2f}x torch's generator ({base * 1e3:.3f} ms)")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(WINDOWS, 6, 10)).astype(np.float32)
    y = rng.normal(size=(WINDOWS, 6)).astype(np.float32)
    cfg = LoopConfig(epochs=1, batch_size=512, learning_rate=1e-3, seed=0)
    start = time.perf_counter()
    fit_private(model, (x, y), cfg, 1.0, 1.0, torch.device("cpu"), fresh, progress=False)
    epoch = time.perf_counter() - start
    steps = round(WINDOWS / 512)
    t = _per_step(lambda: (fresh.uniform(WINDOWS), fresh.normal(params)), steps)
    print(f"fit_private BiGRU-64, batch 512, one epoch ({steps} steps): {epoch:.2f} s; its draws "
          f"{t * steps:.3f} s ({t * steps / epoch:.1%})")


if __name__ == "__main__":
    main()
