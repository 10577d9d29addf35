"""Exact per-sample gradients of the forecaster in one forward and one backward pass.

Every weight of our model is a linear map applied at every time step, so a window's
gradient of ``W`` is ``sum_t d_t a_t^T``, with ``a_t`` what the map read at step ``t`` and
``d_t`` the gradient of its output. The engine runs the recurrence itself on detached
weights, with the input projections of all steps computed at once and zero-valued probes
added to the hidden projections; one backward (to those tensors only, never to the
weights) yields every ``d_t``, and per-sample gradients are then batched contractions over
time. DP-SGD needs only their clipped sum, which ghost clipping computes from the same
``d_t`` and ``a_t`` without forming them. Opacus's hooks do the sum one ``nn.Linear`` call
at a time and also compute the batch gradients of every step, which the DP optimiser
discards.

The equations are those of :mod:`dpforecast.models.recurrent` (Keras's, GRU with
``reset_after``); the tests check the result against Opacus and ``torch.func``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from torch import nn

from dpforecast.models.recurrent import GRUCell, LSTMCell
from dpforecast.training.ghost_clipping import LinearFactors, clipped_sum

if TYPE_CHECKING:
    from dpforecast.models.forecaster import Forecaster

# (scaled prediction, scaled target) -> one loss per sample, shape (batch,)
SampleLoss = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


class _Trace:
    """What one direction's run leaves for the contractions: the inputs it read, the
    states its hidden map read (the zero initial state included, which keeps the
    contraction over all steps and its operands contiguous), and the leaves whose
    gradients are the pre-activation gradients of every step."""

    def __init__(self, cell: GRUCell | LSTMCell, x: torch.Tensor) -> None:
        self.cell = cell
        self.x = x
        weight, bias = cell.input_map.weight.detach(), cell.input_map.bias.detach()
        # (batch, time, gates*units), all steps at once, outside the recurrence.
        self.input_side = F.linear(x, weight, bias).requires_grad_()
        # The hidden side's own gradient is only needed where it differs from the input
        # side's (GRU: r multiplies hn) or for a hidden bias; for the LSTM they are equal.
        self.probe = torch.zeros_like(self.input_side, requires_grad=True) if isinstance(cell, GRUCell) else None
        self.last, self.states = self._run()

    def _run(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The recurrence through the cell's own equations (``cell.step``), on detached
        weights; returns the last hidden state and the states the hidden map read."""
        cell = self.cell
        w_h = cell.hidden_map.weight.detach()
        b_h = None if cell.hidden_map.bias is None else cell.hidden_map.bias.detach()
        steps = self.input_side.unbind(dim=1)
        probes = self.probe.unbind(dim=1) if self.probe is not None else [None] * len(steps)
        state = cell.initial_state(len(steps[0]), steps[0])
        states = []
        for gi, probe in zip(steps, probes):
            states.append(state[0])
            hh = F.linear(state[0], w_h, b_h)
            state = cell.step(gi, hh if probe is None else hh + probe, state)
        return state[0], torch.stack(states, dim=1).detach()

    def leaves(self) -> list[torch.Tensor]:
        return [self.input_side] if self.probe is None else [self.input_side, self.probe]

    def factors(self, grads: list[torch.Tensor]) -> dict[nn.Parameter, LinearFactors]:
        d_in = grads[0]
        d_hidden = grads[1] if self.probe is not None else d_in
        input_map, hidden_map = self.cell.input_map, self.cell.hidden_map
        out = {input_map.weight: LinearFactors(d_in, self.x), input_map.bias: LinearFactors(d_in, None),
               hidden_map.weight: LinearFactors(d_hidden, self.states)}
        if hidden_map.bias is not None:
            out[hidden_map.bias] = LinearFactors(d_hidden, None)
        return out


class _Buffers:
    """Per-sample weight gradients written into memory kept across steps: a fresh
    ``(batch, *weight.shape)`` tensor per step is mostly page faults (on our CPU, one
    BiLSTM-500 recurrent map at batch 10, 38 MB: 25 ms into a fresh tensor, 6 ms into a
    kept one). Each step's ``grad_sample`` is a view that the next step overwrites; its
    reader (the materialised clipping) has consumed it by then."""

    def __init__(self) -> None:
        self._store: dict[nn.Parameter, torch.Tensor] = {}

    def get(self, p: nn.Parameter, batch: int) -> torch.Tensor:
        store = self._store.get(p)
        if store is None or len(store) < batch or store.dtype != p.dtype or store.device != p.device:
            store = self._store[p] = p.new_empty((batch, *p.shape))
        return store[:batch]

    def discard(self, params: list[nn.Parameter]) -> None:
        for p in params:
            self._store.pop(p, None)


class CellGradients:
    """Per-sample gradients of every parameter of a :class:`Forecaster` (LSTM or GRU, one or
    two directions, tanh or relu), exact, with no hooks left on the model; or, for DP-SGD,
    only their clipped sum (:mod:`~dpforecast.training.ghost_clipping`)."""

    name = "cell-gradients"

    def __init__(self) -> None:
        self._buffers = _Buffers()

    def factors(self, model: Forecaster, loss: SampleLoss, x: torch.Tensor, y: torch.Tensor
                ) -> dict[nn.Parameter, LinearFactors]:
        """Every parameter's per-step factors for the batch ``(x, y)``, in the model's order."""
        rnn = model.rnn
        with torch.no_grad():
            inputs = model.scale_inputs(x)
            target = model.scale_targets(y)
            baseline = model.baseline_scaled(x)
        traces = [_Trace(rnn.forward_cell, inputs)]
        if rnn.backward_cell is not None:
            traces.append(_Trace(rnn.backward_cell, inputs.flip(1)))
        features = torch.cat([t.last for t in traces], dim=1) if len(traces) > 1 else traces[0].last
        pred = F.linear(features, model.head.weight.detach(), model.head.bias.detach())
        leaves = [pred] + [leaf for t in traces for leaf in t.leaves()]
        # The prediction is the head's output plus the parameter-free baseline (persistence for
        # a residual model): the loss's gradient to that output is still the head's factor.
        grads = list(torch.autograd.grad(loss(pred + baseline, target).sum(), leaves))
        d_pred = grads.pop(0)[:, None]  # the head is read once: a one-step map
        found = {model.head.weight: LinearFactors(d_pred, features.detach()[:, None]),
                 model.head.bias: LinearFactors(d_pred, None)}
        for trace in traces:
            n = len(trace.leaves())
            found.update(trace.factors(grads[:n]))
            grads = grads[n:]
        return {p: found[p] for p in model.parameters()}

    def per_sample_gradients(self, model: Forecaster, loss: SampleLoss, x: torch.Tensor, y: torch.Tensor) -> None:
        for p, (d, a) in self.factors(model, loss, x, y).items():
            p.grad = None
            # sum_t d_t a_t^T per sample: (batch, outputs, time) @ (batch, time, inputs).
            p.grad_sample = d.sum(dim=1) if a is None else torch.bmm(d.transpose(1, 2), a,
                                                                      out=self._buffers.get(p, len(x)))

    def clipped_gradient_sum(self, model: Forecaster, loss: SampleLoss, x: torch.Tensor, y: torch.Tensor,
                             max_grad_norm: float) -> torch.Tensor:
        """``p.grad`` = the batch's sum of clipped per-sample gradients, by ghost clipping
        (no per-sample gradient is formed); returns the per-sample norms."""
        return clipped_sum(self.factors(model, loss, x, y), max_grad_norm)

    def release(self, model: Forecaster) -> None:
        for p in model.parameters():
            p.grad_sample = None
        self._buffers.discard(list(model.parameters()))
