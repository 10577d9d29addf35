"""The forecaster: scaling, one (bi)recurrent layer and a linear head, in one module.

The scaler lives in the module's buffers, so the saved weights map raw-count windows to
raw-count forecasts with nothing else to carry along, and serving cannot apply the wrong
scaling.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn

from dpforecast.features.scaling import Scaler
from dpforecast.models.recurrent import Recurrent, keras_initialise_cells


@dataclass(frozen=True)
class ModelSpec:
    """Everything needed to rebuild the module before loading its weights."""

    architecture: str  # lstm, gru, bilstm, bigru
    units: int
    activation: str
    window: int
    n_features: int
    n_targets: int
    # log1p on counts and targets before the (fixed) affine scaling: a data-independent
    # transform, so a DP-SGD model stores no statistic of the private data.
    log_counts: bool = False
    # Predict the change from persistence (the last input count of each zone) on the scaled
    # target scale; the head starts at zero, so an untrained model is persistence. False by
    # default: descriptions saved before the option existed load as they were trained.
    residual: bool = False
    # Steps forecast at once (direct multi-output): the head emits ``horizon x n_targets``
    # values, lead-major. 1 (the study's) for descriptions saved before horizons existed.
    horizon: int = 1
    # With ``residual``, the baseline of lead h: 0 = persistence (the last input); s > 0 = the
    # input s steps before the target (seasonal naive, e.g. s = one day of steps). Needs
    # horizon <= s <= window, so the baseline never reads past the origin.
    season: int = 0

    @property
    def kind(self) -> str:
        return self.architecture.removeprefix("bi")

    @property
    def bidirectional(self) -> bool:
        return self.architecture.startswith("bi")

    def to_dict(self) -> dict:
        return asdict(self)


class Forecaster(nn.Module):
    def __init__(self, spec: ModelSpec, scaler: Scaler | None = None, keras_init: bool = True) -> None:
        super().__init__()
        self.spec = spec
        scaler = scaler or Scaler.identity(spec.n_features, spec.n_targets)
        for name in ("x_mean", "x_std", "y_mean", "y_std"):
            self.register_buffer(name, torch.as_tensor(getattr(scaler, name), dtype=torch.float32))
        self.rnn = Recurrent(spec.kind, spec.n_features, spec.units, spec.bidirectional, spec.activation)
        self.head = nn.Linear(self.rnn.output_size, spec.n_targets * spec.horizon)
        if keras_init:
            keras_initialise_cells(self.rnn)
            nn.init.xavier_uniform_(self.head.weight)
            nn.init.zeros_(self.head.bias)
        if spec.residual:
            nn.init.zeros_(self.head.weight)
            nn.init.zeros_(self.head.bias)

    def forward_scaled(self, x: torch.Tensor) -> torch.Tensor:
        """Prediction on the scaled target scale, from raw inputs (what training fits)."""
        return self(x, scaled=True)

    def scale_inputs(self, x: torch.Tensor) -> torch.Tensor:
        """Raw windows on the scale the recurrent layer reads (one definition, shared with
        :class:`~dpforecast.models.fused.FusedForecaster`)."""
        if self.spec.log_counts:
            k = self.spec.n_targets
            x = torch.cat([torch.log1p(torch.clamp(x[..., :k], min=0.0)), x[..., k:]], dim=-1)
        return (x - self.x_mean) / self.x_std

    def scale_targets(self, y: torch.Tensor) -> torch.Tensor:
        """Raw targets ``(n, horizon, zones)`` on the scale the head predicts, flattened
        lead-major to ``(n, horizon * zones)`` as the head's output is."""
        if self.spec.log_counts:
            y = torch.log1p(torch.clamp(y, min=0.0))
        return ((y - self.y_mean) / self.y_std).flatten(1)

    def baseline_scaled(self, x: torch.Tensor) -> torch.Tensor:
        """What the head's output is added to, on the scaled target scale: for a residual
        model persistence (each zone's last input count) or, with ``season``, the count one
        season before each target; else zeros. It has no parameters, so
        every engine that forms a scaled prediction adds it without changing a gradient
        factor; this is its one definition."""
        spec = self.spec
        if spec.season:
            leads = torch.arange(1, spec.horizon + 1, device=x.device)
            base = x[:, spec.window - 1 - spec.season + leads, : spec.n_targets]
        else:
            base = x[:, -1:, : spec.n_targets].expand(-1, spec.horizon, -1)
        return self.scale_targets(base) if spec.residual else torch.zeros_like(base).flatten(1)

    def forward(self, x: torch.Tensor, scaled: bool = False) -> torch.Tensor:
        """Raw-count forecast of every zone at every lead, clipped at zero: ``(n, window,
        features) -> (n, horizon, zones)``; with ``scaled``, the unclipped prediction on the
        scaled target scale, ``(n, horizon * zones)``."""
        out = self.head(self.rnn(self.scale_inputs(x))) + self.baseline_scaled(x)
        if scaled:
            return out
        y = out.unflatten(1, (self.spec.horizon, self.spec.n_targets)) * self.y_std + self.y_mean
        if self.spec.log_counts:
            y = torch.expm1(torch.clamp(y, max=20.0))
        return torch.clamp(y, min=0.0)
