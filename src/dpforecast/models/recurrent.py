"""LSTM and GRU layers with a choice of activation, built from ``nn.Linear`` pieces.

PyTorch's ``nn.LSTM``/``nn.GRU`` fix the activation to tanh; the study used relu (Keras
``activation="relu"``). Writing the cells from linear maps gives both, follows Keras's
equations (GRU with ``reset_after=True``), and makes every weight a map read at each step,
which DP-SGD's per-sample gradients and ghost clipping exploit
(:mod:`dpforecast.training.cell_gradients`; Opacus's ``nn.Linear`` hooks are the reference).
"""

from __future__ import annotations

import torch
from torch import nn

_ACTIVATIONS = {"tanh": torch.tanh, "relu": torch.relu}


class GRUCell(nn.Module):
    gates = 3

    def __init__(self, input_size: int, units: int, activation: str) -> None:
        super().__init__()
        self.units = units
        self.act = _ACTIVATIONS[activation]
        self.input_map = nn.Linear(input_size, self.gates * units)
        self.hidden_map = nn.Linear(units, self.gates * units)

    def initial_state(self, batch: int, like: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return (like.new_zeros(batch, self.units),)

    def forward(self, x: torch.Tensor, state: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, ...]:
        return self.step(self.input_map(x), self.hidden_map(state[0]), state)

    def step(self, gi: torch.Tensor, hh: torch.Tensor, state: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, ...]:
        """The cell's equations from its two projections (input side ``gi``, hidden side
        ``hh``): the one definition the per-sample gradient engine runs too."""
        (h,) = state
        xz, xr, xn = gi.chunk(3, dim=1)
        hz, hr, hn = hh.chunk(3, dim=1)
        z = torch.sigmoid(xz + hz)
        r = torch.sigmoid(xr + hr)
        n = self.act(xn + r * hn)
        return (z * h + (1 - z) * n,)


class LSTMCell(nn.Module):
    gates = 4

    def __init__(self, input_size: int, units: int, activation: str) -> None:
        super().__init__()
        self.units = units
        self.act = _ACTIVATIONS[activation]
        self.input_map = nn.Linear(input_size, self.gates * units)
        self.hidden_map = nn.Linear(units, self.gates * units, bias=False)

    def initial_state(self, batch: int, like: torch.Tensor) -> tuple[torch.Tensor, ...]:
        zeros = like.new_zeros(batch, self.units)
        return (zeros, zeros)

    def forward(self, x: torch.Tensor, state: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, ...]:
        return self.step(self.input_map(x), self.hidden_map(state[0]), state)

    def step(self, gi: torch.Tensor, hh: torch.Tensor, state: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, ...]:
        """The cell's equations from its two projections (see :meth:`GRUCell.step`)."""
        _, c = state
        i, f, g, o = (gi + hh).chunk(4, dim=1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * self.act(g)
        return (torch.sigmoid(o) * self.act(c), c)


_CELLS: dict[str, type[GRUCell] | type[LSTMCell]] = {"gru": GRUCell, "lstm": LSTMCell}


class Recurrent(nn.Module):
    """One recurrent layer; returns the last hidden state (both directions concatenated)."""

    def __init__(self, kind: str, input_size: int, units: int, bidirectional: bool, activation: str) -> None:
        super().__init__()
        cell = _CELLS[kind]
        self.forward_cell = cell(input_size, units, activation)
        self.backward_cell = cell(input_size, units, activation) if bidirectional else None
        self.output_size = units * (2 if bidirectional else 1)

    @staticmethod
    def _run(cell: nn.Module, steps: list[torch.Tensor]) -> torch.Tensor:
        state = cell.initial_state(steps[0].shape[0], steps[0])
        for x in steps:
            state = cell(x, state)
        return state[0]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        steps = list(x.unbind(dim=1))
        last = self._run(self.forward_cell, steps)
        if self.backward_cell is None:
            return last
        first = self._run(self.backward_cell, steps[::-1])
        return torch.cat([last, first], dim=1)


def keras_initialise_cells(module: nn.Module) -> None:
    """Glorot-uniform input maps, orthogonal recurrent maps, zero biases, and a forget-gate
    bias of 1 for LSTMs: the Keras defaults the study trained with."""
    for sub in module.modules():
        if isinstance(sub, (GRUCell, LSTMCell)):
            nn.init.xavier_uniform_(sub.input_map.weight)
            nn.init.orthogonal_(sub.hidden_map.weight)
            nn.init.zeros_(sub.input_map.bias)
            if sub.hidden_map.bias is not None:
                nn.init.zeros_(sub.hidden_map.bias)
            if isinstance(sub, LSTMCell):
                with torch.no_grad():
                    sub.input_map.bias[sub.units : 2 * sub.units].fill_(1.0)
