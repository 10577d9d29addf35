"""A forecaster's tanh recurrent layer on PyTorch's fused ``nn.GRU``/``nn.LSTM``, for speed.

Our cells (:mod:`dpforecast.models.recurrent`) step through time in Python, one pair of
``nn.Linear`` calls per step; the fused kernels run the whole window at once. For tanh the
two compute the same function: nn.GRU is Keras's ``reset_after`` GRU with the gate blocks
in the order r, z, n instead of our z, r, n, and nn.LSTM is ours plus a recurrent bias,
held here at zero and frozen so the trained function and the parameter count stay ours.
Training runs on this copy and writes the weights back, so what is saved, logged and
served is always our cells' layout.
"""

from __future__ import annotations

import torch
from torch import nn

from dpforecast.models.forecaster import Forecaster
from dpforecast.models.recurrent import GRUCell, LSTMCell

# Where each of our gate blocks goes in the fused layout: fused block j = our block ORDER[j].
_GATE_ORDER = {"gru": (1, 0, 2), "lstm": (0, 1, 2, 3)}
_FUSED = {"gru": nn.GRU, "lstm": nn.LSTM}


def _reorder(t: torch.Tensor, order: tuple[int, ...]) -> torch.Tensor:
    return torch.cat([t.chunk(len(order))[i] for i in order])


def _inverse(order: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(order.index(i) for i in range(len(order)))


class FusedForecaster(nn.Module):
    """The recurrent layer and head of a tanh :class:`Forecaster` on the fused kernels.

    The source model is held outside the module tree (its parameters are not this module's)
    and lends its scaling, so inputs and targets are scaled by the one definition."""

    def __init__(self, model: Forecaster) -> None:
        super().__init__()
        spec = model.spec
        if spec.activation != "tanh":
            raise ValueError(f"the fused nn.GRU/nn.LSTM compute tanh only; this model uses {spec.activation!r}")
        object.__setattr__(self, "source", model)
        self.spec = spec
        device = model.head.weight.device
        # Built on the meta device so that construction draws nothing from the global RNG;
        # every value is then copied in from the source.
        self.rnn = _FUSED[spec.kind](spec.n_features, spec.units, batch_first=True,
                                     bidirectional=spec.bidirectional, device="meta").to_empty(device=device)
        head = model.head
        self.head = nn.Linear(head.in_features, head.out_features, device="meta").to_empty(device=device)
        self._load(model)
        if spec.kind == "lstm":
            for name, p in self.rnn.named_parameters():
                if name.startswith("bias_hh"):
                    p.requires_grad_(False)
        self.rnn.flatten_parameters()

    @classmethod
    def from_forecaster(cls, model: Forecaster) -> FusedForecaster:
        return cls(model)

    def _pairs(self, model: Forecaster) -> list[tuple[str, GRUCell | LSTMCell]]:
        cells = [("", model.rnn.forward_cell)]
        if model.rnn.backward_cell is not None:
            cells.append(("_reverse", model.rnn.backward_cell))
        return cells

    @torch.no_grad()
    def _load(self, model: Forecaster) -> None:
        order = _GATE_ORDER[self.spec.kind]
        fused = dict(self.rnn.named_parameters())
        for suffix, cell in self._pairs(model):
            fused[f"weight_ih_l0{suffix}"].copy_(_reorder(cell.input_map.weight, order))
            fused[f"bias_ih_l0{suffix}"].copy_(_reorder(cell.input_map.bias, order))
            fused[f"weight_hh_l0{suffix}"].copy_(_reorder(cell.hidden_map.weight, order))
            hidden_bias = fused[f"bias_hh_l0{suffix}"]
            if cell.hidden_map.bias is None:
                hidden_bias.zero_()
            else:
                hidden_bias.copy_(_reorder(cell.hidden_map.bias, order))
        self.head.load_state_dict(model.head.state_dict())

    @torch.no_grad()
    def copy_to(self, model: Forecaster) -> None:
        """Write this module's weights into ``model``'s cells and head (a pure permutation)."""
        order = _inverse(_GATE_ORDER[self.spec.kind])
        fused = dict(self.rnn.named_parameters())
        for suffix, cell in self._pairs(model):
            cell.input_map.weight.copy_(_reorder(fused[f"weight_ih_l0{suffix}"], order))
            cell.input_map.bias.copy_(_reorder(fused[f"bias_ih_l0{suffix}"], order))
            cell.hidden_map.weight.copy_(_reorder(fused[f"weight_hh_l0{suffix}"], order))
            if cell.hidden_map.bias is not None:
                cell.hidden_map.bias.copy_(_reorder(fused[f"bias_hh_l0{suffix}"], order))
        model.head.load_state_dict(self.head.state_dict())

    def scale_targets(self, y: torch.Tensor) -> torch.Tensor:
        return self.source.scale_targets(y)

    def forward_scaled(self, x: torch.Tensor) -> torch.Tensor:
        """As :meth:`Forecaster.forward_scaled`: raw windows in, scaled-target prediction out."""
        _, state = self.rnn(self.source.scale_inputs(x))
        h_n = state[0] if self.spec.kind == "lstm" else state  # (directions, batch, units)
        return self.head(torch.cat(h_n.unbind(0), dim=1)) + self.source.baseline_scaled(x)
