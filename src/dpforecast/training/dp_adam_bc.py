"""DP-AdamBC: Adam with its second moment corrected for the DP noise's known variance.

Tang, Shpilevskiy, Lécuyer (2023), "DP-AdamBC: Your DP-Adam Is Actually DP-SGD (Unless You
Apply Bias Correction)", arXiv:2312.14334. Under DP-SGD each coordinate of the averaged
gradient carries Gaussian noise of variance ``Phi = (noise_multiplier * max_grad_norm /
expected_batch_size)^2``, which dominates Adam's second-moment estimate ``v``: the update
``m / sqrt(v)`` then divides by a near-constant and Adam acts as SGD with a rescaled step.
Subtracting ``Phi`` restores the estimate of the true gradient's second moment:

    m_t = b1 m + (1 - b1) g,   v_t = b2 v + (1 - b2) g^2
    theta -= lr * (m_t / (1 - b1^t)) / sqrt(max(v_t / (1 - b2^t) - Phi, gamma))

``Phi`` is a constant of the configuration (not of the data), so the correction is
post-processing of the noisy gradients and costs no privacy.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import torch
from torch.optim import Optimizer


class DPAdamBC(Optimizer):
    """Bias-corrected DP-Adam; ``noise_variance`` is ``Phi`` above, ``gamma`` the floor that
    keeps the denominator positive where the noise explains all of ``v``."""

    def __init__(self, params: Iterable[torch.Tensor], noise_variance: float, lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), gamma: float = 1e-8) -> None:
        if not noise_variance >= 0:
            raise ValueError(f"noise_variance must be non-negative, got {noise_variance}")
        if not gamma > 0:
            raise ValueError(f"gamma must be positive, got {gamma}")
        super().__init__(params, {"lr": lr, "betas": betas, "noise_variance": noise_variance, "gamma": gamma})

    @torch.no_grad()
    def step(self, closure: Callable[[], float] | None = None) -> float | None:
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    self._update(p, group)
        return loss

    def _update(self, p: torch.Tensor, group: dict) -> None:
        b1, b2 = group["betas"]
        state = self.state[p]
        if not state:
            state["step"] = 0
            state["exp_avg"] = torch.zeros_like(p)
            state["exp_avg_sq"] = torch.zeros_like(p)
        state["step"] += 1
        t, m, v, g = state["step"], state["exp_avg"], state["exp_avg_sq"], p.grad
        m.mul_(b1).add_(g, alpha=1 - b1)
        v.mul_(b2).addcmul_(g, g, value=1 - b2)
        denom = (v / (1 - b2**t) - group["noise_variance"]).clamp_(min=group["gamma"]).sqrt_()
        p.addcdiv_(m, denom, value=-group["lr"] / (1 - b1**t))
