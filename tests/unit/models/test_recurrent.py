"""dpforecast.models.recurrent: LSTM and GRU cells from linear maps, with Keras's equations and initialisation."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from dpforecast.models.forecaster import Forecaster, ModelSpec
from dpforecast.models.recurrent import GRUCell, LSTMCell, Recurrent, keras_initialise_cells


def test_relu_and_tanh_differ_and_relu_is_unbounded():
    torch.manual_seed(0)
    cell = GRUCell(10, 8, "relu")
    x = torch.full((2, 10), 50.0)
    (h,) = cell(x, cell.initial_state(2, x))
    torch.manual_seed(0)
    tanh_cell = GRUCell(10, 8, "tanh")
    (h_tanh,) = tanh_cell(x, tanh_cell.initial_state(2, x))
    assert not torch.allclose(h, h_tanh)
    assert h_tanh.abs().max() <= 1.0


def test_bidirectional_reads_the_sequence_both_ways():
    torch.manual_seed(0)
    model = Forecaster(ModelSpec("bigru", 8, "tanh", 6, 10, 6))
    x = torch.randn(4, 6, 10)
    out = model.rnn(x)
    assert out.shape == (4, 16)
    # The backward half's final state depends on the first step last.
    fwd_only = model.rnn._run(model.rnn.forward_cell, list(x.unbind(1)))
    assert torch.allclose(out[:, :8], fwd_only)


def test_with_tanh_the_cells_compute_what_torchs_gru_and_lstm_compute():
    """Keras's GRU (reset_after=True) is PyTorch's: same weights (gates reordered r, z, n -> z, r, n), same states."""
    torch.manual_seed(0)
    x = torch.randn(3, 5, 4)
    ref_gru, ref_lstm = nn.GRU(4, 6, batch_first=True), nn.LSTM(4, 6, batch_first=True)
    gru, lstm = Recurrent("gru", 4, 6, False, "tanh"), Recurrent("lstm", 4, 6, False, "tanh")
    order = torch.cat([torch.arange(6, 12), torch.arange(0, 6), torch.arange(12, 18)])  # r, z, n -> z, r, n
    with torch.no_grad():
        cell = gru.forward_cell
        cell.input_map.weight.copy_(ref_gru.weight_ih_l0[order])
        cell.input_map.bias.copy_(ref_gru.bias_ih_l0[order])
        cell.hidden_map.weight.copy_(ref_gru.weight_hh_l0[order])
        cell.hidden_map.bias.copy_(ref_gru.bias_hh_l0[order])
        cell = lstm.forward_cell  # i, f, g, o in both; one bias
        cell.input_map.weight.copy_(ref_lstm.weight_ih_l0)
        cell.input_map.bias.copy_(ref_lstm.bias_ih_l0 + ref_lstm.bias_hh_l0)
        cell.hidden_map.weight.copy_(ref_lstm.weight_hh_l0)
        torch.testing.assert_close(gru(x), ref_gru(x)[1][0])
        torch.testing.assert_close(lstm(x), ref_lstm(x)[1][0][0])
    assert lstm.forward_cell.hidden_map.bias is None and gru.output_size == 6


def test_keras_initialisation_zeroes_biases_but_the_lstm_forget_gate():
    torch.manual_seed(0)
    layer = nn.Sequential(Recurrent("lstm", 4, 5, True, "relu"), Recurrent("gru", 4, 5, False, "relu"))
    keras_initialise_cells(layer)
    lstm, gru = layer[0].forward_cell, layer[1].forward_cell
    assert isinstance(lstm, LSTMCell) and layer[0].backward_cell is not None and layer[0].output_size == 10
    assert lstm.input_map.bias.tolist() == [0.0] * 5 + [1.0] * 5 + [0.0] * 10  # i, f (1), g, o
    assert gru.input_map.bias.abs().sum() == 0 and gru.hidden_map.bias.abs().sum() == 0
    hidden = lstm.hidden_map.weight  # (4 * units, units): orthonormal columns
    torch.testing.assert_close(hidden.T @ hidden, torch.eye(5), atol=1e-5, rtol=0)
    bound = (6 / (4 + 15)) ** 0.5  # Glorot uniform over fan-in 4 and fan-out 3 * 5
    assert gru.input_map.weight.abs().max() <= bound


def test_an_unknown_activation_or_kind_is_a_key_error():
    with pytest.raises(KeyError, match="sigmoid"):
        GRUCell(4, 5, "sigmoid")
    with pytest.raises(KeyError, match="rnn"):
        Recurrent("rnn", 4, 5, False, "tanh")
