"""How a :class:`~dpforecast.api.forecast.DPForecast` protects the people in its counts.

Values, not switches: each turns into the ``privacy`` parameters (and the settings its
mechanism needs) that the pipeline reads from ``params.yaml``, so a notebook's fit and a
``dvc repro`` are planned, accounted and charged by the same code, on the same ledger.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class InputPerturbation:
    """Noise added once to every count before any model reads it (the study's IP): every
    model, baselines included, is post-processing of the release and inherits its guarantee.
    ``unit``: event, day, week, person, w-event (with ``w``) or window."""

    epsilon: float
    unit: str = "event"
    delta: float = 1e-7
    mechanism: str = "discrete_gaussian"
    w: int | None = None
    clip_at_zero: bool = False

    def params(self) -> dict[str, Any]:
        return {"privacy": {"mode": "ip", "epsilon": float(self.epsilon), "delta": float(self.delta), "unit": self.unit,
                            "w": self.w, "ip": {"mechanism": self.mechanism, "clip_at_zero": self.clip_at_zero}}}


@dataclass(frozen=True)
class DPSGD:
    """DP-SGD: per-sample clipping and Gaussian noise on the networks' training. Baselines
    fitted beside them read raw counts and are reported as not covered. The settings DP-SGD
    needs come with it: fixed (log) scaling, as a fitted scaler would be an unaccounted
    statistic, and dpforecast's DP-SGD training defaults (``profiles/dp-sgd.yaml``)."""

    epsilon: float
    unit: str = "event"
    delta: float = 1e-7
    max_grad_norm: float = 1.0
    noise_multiplier: float | None = None
    accountant: str = "pld"
    optimizer: str = "adam"
    ema: float = 0.99
    w: int | None = None
    intervals: bool = False  # conformal intervals from raw residuals: NOT covered, marked so

    def params(self) -> dict[str, Any]:
        gp = {k: v for k, v in asdict(self).items() if k not in ("epsilon", "unit", "delta", "w")}
        return {"privacy": {"mode": "gp", "epsilon": float(self.epsilon), "delta": float(self.delta), "unit": self.unit,
                            "w": self.w, "gp": gp},
                "features": {"scaling": "log"}, "train": {"residual": True, "batch_size": 512, "epochs": 10}}


Privacy = InputPerturbation | DPSGD | None


def privacy_from_json(raw: dict[str, Any] | None) -> Privacy:
    """The value :func:`privacy_to_json` wrote."""
    if raw is None:
        return None
    kind = {"InputPerturbation": InputPerturbation, "DPSGD": DPSGD}[raw["kind"]]
    return kind(**raw["settings"])


def privacy_to_json(privacy: Privacy) -> dict[str, Any] | None:
    return None if privacy is None else {"kind": type(privacy).__name__, "settings": asdict(privacy)}
