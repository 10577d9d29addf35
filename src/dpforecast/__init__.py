"""dpforecast: differentially private forecasting of aggregated counts of people.

The public API is importable from here (``from dpforecast import DPForecast, BiGRU``); it is
loaded on first use, so the command line and the pipeline's stages do not pay for it.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__version__ = "0.1.0"

_PUBLIC = {
    "DPForecast": "dpforecast.api.forecast",
    "InputPerturbation": "dpforecast.api.privacy",
    "DPSGD": "dpforecast.api.privacy",
    "PrivacyReports": "dpforecast.api.reports",
    "read_counts": "dpforecast.api.dataset",
    "load_dataset": "dpforecast.api.dataset",
    "add_dataset": "dpforecast.api.new_dataset",
    "LSTM": "dpforecast.training.networks",
    "GRU": "dpforecast.training.networks",
    "BiLSTM": "dpforecast.training.networks",
    "BiGRU": "dpforecast.training.networks",
    "Ridge": "dpforecast.models.ridge",
    "SeasonalNaive": "dpforecast.models.seasonal",
    "Persistence": "dpforecast.models.persistence",
    "AutoETS": "dpforecast.models.statistical",
    "MSTL": "dpforecast.models.statistical",
    "AutoARIMA": "dpforecast.models.statistical",
    "Fracast": "dpforecast.models.zero_shot",
    "Model": "dpforecast.models.base",
    "Callback": "dpforecast.models.base",
    "MLflowLogger": "dpforecast.tracking.mlflow_callback",
}
__all__ = sorted(_PUBLIC)


def __getattr__(name: str) -> Any:
    if name not in _PUBLIC:
        raise AttributeError(f"module 'dpforecast' has no attribute {name!r}")
    return getattr(import_module(_PUBLIC[name]), name)


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
