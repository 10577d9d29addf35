"""dpforecast.training.ghost_clipping: per-sample gradient norms and the clipped sum from the linear maps'
factors, against the per-sample gradients written out."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from dpforecast.training.ghost_clipping import LinearFactors, clip_factors, clipped_sum, per_sample_norms


def _factors(batch: int = 4, time: int = 3, inputs: int = 5, outputs: int = 2):
    g = torch.Generator().manual_seed(0)
    d = torch.randn(batch, time, outputs, generator=g, dtype=torch.float64)
    a = torch.randn(batch, time, inputs, generator=g, dtype=torch.float64)
    weight, bias = nn.Parameter(torch.zeros(outputs, inputs, dtype=torch.float64)), nn.Parameter(
        torch.zeros(outputs, dtype=torch.float64))
    return {weight: LinearFactors(d, a), bias: LinearFactors(d, None)}, d, a


def test_clip_factors_are_opacus_min_one_c_over_norm():
    factors = clip_factors(torch.tensor([0.0, 0.5, 2.0, 10.0]), 1.0)
    torch.testing.assert_close(factors, torch.tensor([1.0, 1.0, 1 / (2 + 1e-6), 1 / (10 + 1e-6)]))


def test_norms_are_those_of_the_written_out_per_sample_gradients():
    factors, d, a = _factors()
    weight_grads = torch.einsum("bto,bti->boi", d, a)  # sample i: sum_t d_it a_it^T
    bias_grads = d.sum(dim=1)
    expected = (weight_grads.square().sum(dim=(1, 2)) + bias_grads.square().sum(dim=1)).sqrt()
    torch.testing.assert_close(per_sample_norms(factors.values()), expected)
    with pytest.raises(ValueError, match="no parameters to clip"):
        per_sample_norms([])


def test_the_clipped_sum_scales_each_samples_gradient_by_its_clip_factor():
    factors, d, a = _factors()
    clip = 6.0  # the norms are 6.5, 5.1, 7.9 and 5.6: two samples clipped, two not
    norms = clipped_sum(factors, clip)
    scale = clip_factors(norms, clip)
    assert (scale < 1).tolist() == [True, False, True, False]
    weight, bias = factors
    torch.testing.assert_close(weight.grad, torch.einsum("b,bto,bti->oi", scale, d, a))
    torch.testing.assert_close(bias.grad, torch.einsum("b,bto->o", scale, d))
    clipped = (torch.einsum("bto,bti->boi", d, a).square().sum(dim=(1, 2)) + d.sum(1).square().sum(1)).sqrt() * scale
    assert (clipped <= clip + 1e-9).all()  # every sample's contribution within C
