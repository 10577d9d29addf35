"""Ghost clipping: DP-SGD's sum of clipped per-sample gradients without the per-sample gradients.

Every parameter of our model is a linear map (or its bias) applied at every time step, so
sample ``i``'s gradient of a weight is ``G_i = sum_t d_it a_it^T`` (``d``: the gradient of
the map's output, ``a``: what the map read) and of a bias ``sum_t d_it``. Hence

    ||G_i||^2 = sum_{t,t'} (d_it . d_it') (a_it . a_it'),

two (time x time) Gram matrices per sample instead of an (outputs x inputs) one, and the
clipped sum ``sum_i c_i G_i`` is one matmul over the (batch * time) rows with ``c_i`` folded
into ``d``. Clipping materialised per-sample gradients reads batch x parameters twice; this
reads the factors, batch x time x (inputs + outputs) per map.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

import torch
from torch import nn


class LinearFactors(NamedTuple):
    """Sample ``i``'s gradient of a weight is ``d[i].T @ a[i]``; of a bias (``a`` is None),
    ``d[i].sum(0)``."""

    d: torch.Tensor  # (batch, time, outputs)
    a: torch.Tensor | None  # (batch, time, inputs)


def clip_factors(norms: torch.Tensor, max_grad_norm: float) -> torch.Tensor:
    """``min(1, C / (norm + 1e-6))``: Opacus's ``DPOptimizer.clip_and_accumulate``, so that
    every path clips exactly as Opacus would."""
    return (max_grad_norm / (norms + 1e-6)).clamp(max=1.0)


def per_sample_norms(factors: Iterable[LinearFactors]) -> torch.Tensor:
    """Each sample's gradient norm over all the given parameters, shape ``(batch,)``."""
    squares = None
    for d, a in factors:
        if a is None:
            square = d.sum(dim=1).square().sum(dim=1)
        else:
            square = (torch.bmm(d, d.transpose(1, 2)) * torch.bmm(a, a.transpose(1, 2))).sum(dim=(1, 2))
        squares = square if squares is None else squares + square
    if squares is None:
        raise ValueError("no parameters to clip")
    # A sum of products of Gram entries: non-negative exactly, maybe -ulp in floating point.
    return squares.clamp(min=0).sqrt()


def clipped_sum(factors: dict[nn.Parameter, LinearFactors], max_grad_norm: float) -> torch.Tensor:
    """Set ``p.grad`` of every parameter in ``factors`` to ``sum_i c_i g_i``, each sample's
    gradient scaled by its clip factor; return the per-sample norms (before clipping)."""
    norms = per_sample_norms(factors.values())
    scale = clip_factors(norms, max_grad_norm)[:, None, None]
    for p, (d, a) in factors.items():
        scaled = d * scale
        p.grad = scaled.sum(dim=(0, 1)) if a is None else scaled.flatten(0, 1).T @ a.flatten(0, 1)
    return norms
