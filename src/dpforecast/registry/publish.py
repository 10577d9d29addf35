"""Register a trained model, score it against the champion, and move the aliases.

Every trained model becomes a new version of ``<prefix>-<arch>[-ip|-gp]`` with the
``challenger`` alias, tagged with its data version, git commit, privacy guarantee and the
test windows it was scored on. The promotion rule (:mod:`dpforecast.registry.promotion`)
then decides whether it takes the ``champion`` alias; the decision and its reason are
written on the version's tags and appended to the decisions log beside the MLflow store.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from dpforecast.config import Params
from dpforecast.io import read_json
from dpforecast.models.store import DESCRIPTION
from dpforecast.paths import Paths
from dpforecast.registry.promotion import Decision, Guarantee, Scored, decide
from dpforecast.registry.scoring import score_version, scoring_targets
from dpforecast.serving.window import TARGET_TIME

CHAMPION = "champion"
CHALLENGER = "challenger"


def registered_name(prefix: str, arch: str, mode: str) -> str:
    """One registered model per task and variant: ``mobility-bigru``, ``mobility-bigru-ip``."""
    return f"{prefix}-{arch}" if mode == "none" else f"{prefix}-{arch}-{mode}"


def _guarantee_tags(report: dict[str, Any]) -> dict[str, str]:
    g = Guarantee.from_report(report)
    tags = {"privacy.private": str(g.private).lower(), "privacy.mode": g.mode, "privacy.summary": report["summary"],
            "privacy.report": json.dumps(report, sort_keys=True)}
    if g.private:
        tags.update({"privacy.epsilon": repr(g.epsilon), "privacy.delta": repr(g.delta), "privacy.unit": str(g.unit)})
    return tags


def _guarantee(tags: dict[str, str]) -> Guarantee:
    return Guarantee.from_report(json.loads(tags["privacy.report"]))


def _champion(client: Any, name: str) -> Any | None:
    from mlflow.exceptions import MlflowException

    try:
        return client.get_model_version_by_alias(name, CHAMPION)
    except MlflowException:
        return None


def publish(paths: Paths, params: Params, arch: str, lineage: dict[str, str] | None = None,
            folder: Path | None = None) -> Decision:
    """Register ``folder`` (default ``models/<arch>``; already tracked), decide on the
    champion, log the decision."""
    import mlflow

    from dpforecast.tracking.mlflow_tracking import configure

    configure(paths, params.tracking.experiment)
    client = mlflow.MlflowClient()
    folder = folder or paths.model_dir(arch)
    model_uri = read_json(folder / DESCRIPTION).get("mlflow_model_uri")
    if not model_uri:
        raise ValueError(f"{folder}: the model was trained without tracking; there is no logged MLflow model to register")
    try:
        mlflow.models.get_model_info(model_uri)
    except Exception as exc:  # MlflowException or OSError, depending on the store
        raise ValueError(
            f"{folder}: its logged model {model_uri} is not in the MLflow store at {mlflow.get_tracking_uri()} "
            f"(trained against another store, or restored by DVC from a cache); retrain it here "
            f"(dvc repro --force train) or set MLFLOW_TRACKING_URI to the store that holds it") from exc
    report = read_json(folder / "privacy.json")
    name = registered_name(params.registry.name_prefix, arch, params.privacy.mode)
    series, targets = scoring_targets(paths)
    tags = {**(lineage or {}), **_guarantee_tags(report), "architecture": arch,
            "test.first_target": targets[TARGET_TIME].min().isoformat(),
            "test.last_target": targets[TARGET_TIME].max().isoformat(), "test.windows": str(targets.height)}
    version = mlflow.register_model(model_uri, name, tags=tags).version
    client.set_registered_model_alias(name, CHALLENGER, version)

    metric, margin = params.registry.metric, params.registry.margin
    challenger = Scored(str(version), score_version(f"models:/{name}/{version}", series, targets)[metric]["mean"],
                        Guarantee.from_report(report))
    current = _champion(client, name)
    champion = None
    if current is not None:
        champion = Scored(str(current.version),
                          score_version(f"models:/{name}/{current.version}", series, targets)[metric]["mean"],
                          _guarantee(current.tags))
    decision = decide(challenger, champion, metric, margin)
    if decision.promote:
        client.set_registered_model_alias(name, CHAMPION, version)
    outcome = {"promotion.decision": "promoted" if decision.promote else "kept champion",
               "promotion.reason": decision.reason, f"promotion.{metric}": f"{challenger.score:.4f}",
               "promotion.champion_version": champion.version if champion else "",
               f"promotion.champion_{metric}": f"{champion.score:.4f}" if champion else ""}
    for key, value in outcome.items():
        client.set_model_version_tag(name, version, key, value)
    _log(paths, {"time": datetime.now(timezone.utc).isoformat(), "registered_model": name, "version": str(version),
                 "champion_after": str(version) if decision.promote else (champion.version if champion else None),
                 **decision.to_json()})
    return decision


def _log(paths: Paths, entry: dict[str, Any]) -> None:
    """One JSON line per decision; a single ``write`` of one line, appended."""
    paths.promotions.parent.mkdir(parents=True, exist_ok=True)
    with open(paths.promotions, "a", encoding="utf-8") as fh:
        fh.write(json.dumps(entry, sort_keys=True, default=str) + "\n")
