"""Stage ``register``: every model just trained becomes a registry version, and the
promotion rule decides, per registered model, whether it is the new champion.

Beside each decision, ``metrics/promotion.json`` keeps the baselines' scores (the field's
that ``evaluate.baselines`` names among them) on the windows the versions were scored on,
in the registry's metric: a champion that a baseline beats is visible where it is chosen.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

from dpforecast.config import Params
from dpforecast.evaluation.baselines import baseline_forecasts, field_forecasts
from dpforecast.evaluation.metrics import forecast_errors
from dpforecast.features.windows import window_arrays
from dpforecast.registry.publish import publish, registered_name
from dpforecast.runtime.io import write_json
from dpforecast.runtime.paths import Paths


def register(paths: Paths, params: Params, lineage: dict[str, str] | None = None) -> dict[str, dict[str, Any]]:
    """Publish every architecture ``train.model`` selects; write ``metrics/promotion.json``."""
    out: dict[str, dict[str, Any]] = {}
    baselines = baseline_scores(paths, params)
    for arch in params.models():
        decision = publish(paths, params, arch, lineage)
        out[arch] = {
            "registered_model": registered_name(params.model_prefix(), arch, params.privacy.mode),
            "version": int(decision.challenger.version),
            "promoted": decision.promote,
            decision.metric: decision.challenger.score,
            f"champion_{decision.metric}": decision.champion.score if decision.champion else None,
            "reason": decision.reason,
            f"baselines_{decision.metric}": baselines,
        }
    write_json(paths.promotion_metrics, out)
    return out


def baseline_scores(paths: Paths, params: Params) -> dict[str, float | None]:
    """Each baseline's ``registry.metric`` (mean over zones and leads, raw test targets) on the
    test windows the versions are scored on; None for one without a forecast of every
    window (seasonal naive lacking its lag), which would not be compared like for like."""
    table, windows, targets = (pl.read_parquet(p) for p in (paths.feature_table, paths.windows, paths.targets))
    zones = list(targets.columns)
    w, h, minutes = params.features.window, params.features.horizon, params.data_set.interval_minutes
    _, y = window_arrays(table, windows, "test", w, h, zones, targets=targets)
    forecasts, _ = baseline_forecasts(table, windows, w, h, zones, minutes)
    for name, fitted in field_forecasts(table, windows, w, h, zones, minutes, params.evaluate.baselines).items():
        forecasts[name] = fitted.forecast.mean
    metric = params.registry.metric
    return {name: forecast_errors(y, f, zones)[metric]["mean"] if np.isfinite(f).all() else None
            for name, f in forecasts.items()}


def decisions_table(decisions: dict[str, dict[str, Any]]) -> str:
    lines = ["| model | version | decision | reason |", "| --- | --- | --- | --- |"]
    for d in decisions.values():
        verdict = "champion" if d["promoted"] else "challenger"
        lines.append(f"| {d['registered_model']} | {d['version']} | {verdict} | {d['reason']} |")
    return "\n".join(lines)
