"""Stage ``register``: every model just trained becomes a registry version, and the
promotion rule decides, per registered model, whether it is the new champion."""

from __future__ import annotations

from typing import Any

from dpforecast.config import Params
from dpforecast.registry.publish import publish, registered_name
from dpforecast.runtime.io import write_json
from dpforecast.runtime.paths import Paths


def register(paths: Paths, params: Params, lineage: dict[str, str] | None = None) -> dict[str, dict[str, Any]]:
    """Publish every architecture ``train.model`` selects; write ``metrics/promotion.json``."""
    out: dict[str, dict[str, Any]] = {}
    for arch in params.models():
        decision = publish(paths, params, arch, lineage)
        out[arch] = {
            "registered_model": registered_name(params.model_prefix(), arch, params.privacy.mode),
            "version": int(decision.challenger.version),
            "promoted": decision.promote,
            decision.metric: decision.challenger.score,
            f"champion_{decision.metric}": decision.champion.score if decision.champion else None,
            "reason": decision.reason,
        }
    write_json(paths.promotion_metrics, out)
    return out


def decisions_table(decisions: dict[str, dict[str, Any]]) -> str:
    lines = ["| model | version | decision | reason |", "| --- | --- | --- | --- |"]
    for d in decisions.values():
        verdict = "champion" if d["promoted"] else "challenger"
        lines.append(f"| {d['registered_model']} | {d['version']} | {verdict} | {d['reason']} |")
    return "\n".join(lines)
