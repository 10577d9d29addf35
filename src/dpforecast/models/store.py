"""Saving and loading a trained forecaster as a weights file plus a JSON description.

Weights are a plain ``state_dict`` read back with ``torch.load(weights_only=True)``, so
loading a model never unpickles arbitrary objects; the architecture comes from our code
and ``model.json``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from dpforecast.data.spec import DatasetSpec, spec_from_dict
from dpforecast.models.conformal import Intervals
from dpforecast.models.forecaster import Forecaster, ModelSpec
from dpforecast.runtime.io import read_json, write_json

WEIGHTS = "model.pt"
DESCRIPTION = "model.json"
# A copy of the data set's spec: what the model's zones, layout and clock are.
DATASET_SPEC = "dataset.yaml"
# Split conformal half-widths per level, lead and zone: served with every forecast.
INTERVALS = "intervals.json"


def save_forecaster(model: Forecaster, folder: Path, extra: dict[str, Any] | None = None) -> None:
    """Write ``model.pt`` and ``model.json`` into ``folder`` (expected to be a fresh folder)."""
    folder.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    torch.save(state, folder / WEIGHTS)
    write_json(folder / DESCRIPTION, {"spec": model.spec.to_dict(), **(extra or {})})


def load_forecaster(folder: str | Path, device: str | torch.device = "cpu") -> Forecaster:
    folder = Path(folder)
    description = read_json(folder / DESCRIPTION)
    model = Forecaster(ModelSpec(**description["spec"]), keras_init=False)
    state = torch.load(folder / WEIGHTS, map_location=device, weights_only=True)
    model.load_state_dict(state)
    return model.to(device).eval()


def load_dataset_spec(folder: str | Path) -> DatasetSpec:
    """The spec of the data set a saved model was trained on (from its own copy)."""
    import yaml

    path = Path(folder) / DATASET_SPEC
    return spec_from_dict(yaml.safe_load(path.read_text()), str(path))


def load_intervals(folder: str | Path) -> Intervals | None:
    """The model's calibrated intervals; None if it was trained with no validation block
    (or before intervals existed)."""
    path = Path(folder) / INTERVALS
    return Intervals.from_json(read_json(path)) if path.is_file() else None
