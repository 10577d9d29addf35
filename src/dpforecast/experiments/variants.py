"""Privacy variants of one architecture: a named privacy setting, trained outside the workspace.

A setting's key names its mode and epsilon (``none``, ``ip-eps1``, ``gp-eps0.1``). The
Dagster asset ``model_variant`` is partitioned over architecture x :data:`SETTINGS`;
``dpforecast variants`` and ``dpforecast frontier`` train through :func:`train_variant`
too, so every entry point makes a variant the same way. DP-SGD variants use
``features.scaling: log``: a scaler fitted on the private windows would leak.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from dpforecast.api.dataset import validated_series
from dpforecast.config import deep_merge, load_params
from dpforecast.errors import ConfigError
from dpforecast.experiments.network_run import scoring_of, train_network
from dpforecast.registry.publish import publish
from dpforecast.runtime.paths import Paths
from dpforecast.runtime.project import lineage

MODE_OVERRIDES: dict[str, dict[str, Any]] = {
    "none": {"privacy": {"mode": "none"}},
    "ip": {"privacy": {"mode": "ip"}},
    "gp": {"privacy": {"mode": "gp"}, "features": {"scaling": "log"}},
}
_KEY = re.compile(r"^(ip|gp)-eps([0-9]*\.?[0-9]+)$")


@dataclass(frozen=True)
class PrivacySetting:
    mode: str
    epsilon: float | None = None

    @classmethod
    def parse(cls, key: str) -> PrivacySetting:
        """``none`` or ``<ip|gp>-eps<epsilon>``; anything else is refused by name."""
        if key == "none":
            return cls("none")
        match = _KEY.match(key)
        if not match or float(match.group(2)) <= 0:
            raise ConfigError(f"privacy setting: {key!r} is not 'none' or '<ip|gp>-eps<epsilon > 0>' (e.g. 'gp-eps1')")
        return cls(match.group(1), float(match.group(2)))

    @property
    def key(self) -> str:
        return "none" if self.mode == "none" else f"{self.mode}-eps{self.epsilon:g}"

    def overrides(self) -> dict[str, Any]:
        over = MODE_OVERRIDES[self.mode]
        return over if self.epsilon is None else deep_merge(over, {"privacy": {"epsilon": self.epsilon}})


#: The profile a mode trains under when the caller names none: DP-SGD's defaults were chosen
#: on another data set than the one they protect (dpforecast.training.private_defaults).
MODE_PROFILES: dict[str, str] = {"gp": "dp-sgd"}

# The settings Dagster offers as partitions: the non-private reference and both mechanisms
# at three epsilons a decade apart.
SETTINGS: tuple[str, ...] = ("none", "ip-eps0.1", "ip-eps1", "ip-eps10", "gp-eps0.1", "gp-eps1", "gp-eps10")


def train_variant(
    root: Path, model: str, setting: PrivacySetting, seed: int = 0, profile: str = "default",
    extra: dict[str, Any] | None = None, name: str | None = None, register: bool = False,
    series: pl.DataFrame | None = None,
) -> dict[str, Any]:
    """Train ``model`` under ``setting`` in memory on ``series`` (the data set's validated
    series; default: its files, validated in memory), write its folder to
    ``artifacts/study/<name>/``; return one table row (mode, epsilon, mean RMSE and MAE, the
    guarantee sentence) with the full privacy report.

    ``register``: also publish it to the registry (``<prefix>-<model>-<mode>``), scored on
    the same test windows as that variant's champion; the promotion rule decides whether it
    becomes the champion (``row["decision"]``)."""
    overrides = deep_merge(setting.overrides(), extra or {})
    if profile == "default":
        profile = MODE_PROFILES.get(setting.mode, profile)
    name = name or f"variant-{setting.key}-{model}"
    params = load_params(root / "params.yaml", profile=profile, **deep_merge({"train": {"model": model}}, overrides))
    series = validated_series(params, root) if series is None else series
    tags = {**lineage(Paths(root), params), "study": profile}
    folder = root / "artifacts" / "study" / name / "models" / f"{model}-seed{seed}"
    trained, holdout = train_network(root, params, model, seed, series, folder, lineage=tags)
    row = {"model": model, "mode": setting.mode, "epsilon": setting.epsilon, "rmse": trained.test["rmse"]["mean"],
           "mae": trained.test["mae"]["mean"], "guarantee": trained.privacy.summary(), "seed": seed,
           "report": trained.privacy.to_json(), "mlflow_run_id": trained.mlflow_run_id, "model_dir": str(folder)}
    if register:
        decision = publish(Paths(root), params, model, {**tags, "variant": setting.key}, folder=folder,
                           scoring=scoring_of(series, holdout, params.features.horizon))
        row["decision"] = decision.to_json()
    return row
