"""dpforecast.training.device: CUDA when present (or refused when asked for and absent), and seeding."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch

from dpforecast.training.device import seed_everything, select_device


def test_auto_device_is_cpu_without_cuda():
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert select_device("auto").type == expected


def test_a_named_device_is_taken_as_is_and_cuda_refused_without_one():
    assert select_device("cpu") == torch.device("cpu")
    if torch.cuda.is_available():
        pytest.skip("a CUDA device is present")
    with pytest.raises(RuntimeError, match="train.device is 'cuda' but no CUDA device is available to PyTorch"):
        select_device("cuda")


def test_the_same_seed_gives_the_same_draws_from_every_generator():
    def draws() -> tuple:
        return random.random(), float(np.random.rand()), float(torch.rand(1))

    seed_everything(3)
    first = draws()
    seed_everything(3)
    assert draws() == first
    seed_everything(4)
    assert draws() != first
    assert torch.are_deterministic_algorithms_enabled()
