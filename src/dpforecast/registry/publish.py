"""Register a trained model, score it against the champion, and move the aliases.

Every trained model becomes a new version of ``<prefix>-<arch>[-ip|-gp]`` with the
``challenger`` alias, tagged with its data version, git commit, privacy guarantee and the
test windows it was scored on. The promotion rule (:mod:`dpforecast.registry.promotion`)
then decides whether it takes the ``champion`` alias; the decision and its reason are
appended to the decisions log beside the MLflow store (``promotions.jsonl``, the
decision's commit point), then written on the version's tags and aliases. A register
killed between those steps is completed by the next one, never decided twice.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl
from polars.exceptions import PolarsError

from dpforecast.config import Params
from dpforecast.models.conformal import interval_tags
from dpforecast.models.store import DESCRIPTION, load_intervals
from dpforecast.privacy.published_lineage import published_lineage
from dpforecast.privacy.randomness import load_key
from dpforecast.registry.promotion import Decision, Guarantee, Scored, decide
from dpforecast.registry.scoring import score_version, scoring_targets
from dpforecast.runtime.faults import crash_point
from dpforecast.runtime.io import read_json
from dpforecast.runtime.paths import Paths
from dpforecast.serving.window import TARGET_TIME

CHAMPION = "champion"
CHALLENGER = "challenger"
# The logged model a version was registered from, and the mark that its decision is applied.
MODEL_URI_TAG = "model.uri"
APPLIED_TAG = "promotion.recorded"


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
            folder: Path | None = None, scoring: tuple[pl.DataFrame, pl.DataFrame] | None = None) -> Decision:
    """Register ``folder`` (default ``models/<arch>``; already tracked), decide on the
    champion, log the decision. ``scoring``: the raw series and test targets both versions
    are scored on (:func:`~dpforecast.registry.scoring.test_targets`; default: the features
    built in ``paths``).

    Safe to repeat after a crash: the model's version is found again instead of registered
    twice, a decision already in the log is applied rather than taken again, and decisions
    a killed register left unapplied are completed first."""
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
    name = registered_name(params.model_prefix(), arch, params.privacy.mode)
    _complete_pending(client, paths, name, model_uri)
    series, targets = scoring_targets(paths, params.features.horizon) if scoring is None else scoring
    version = _version_of(client, name, model_uri)
    if version is None:
        private = bool(report.get("private"))  # a private model's version carries no raw-data hash
        published = published_lineage(dict(lineage or {}), private, load_key() if private else None)
        tags = {**published, **_guarantee_tags(report), **interval_tags(load_intervals(folder)),
                "architecture": arch, MODEL_URI_TAG: model_uri,
                "test.first_target": targets[TARGET_TIME].min().isoformat(),
                "test.last_target": targets[TARGET_TIME].max().isoformat(), "test.windows": str(targets["origin_time"].n_unique()),
                "test.horizon": str(params.features.horizon)}
        version = str(mlflow.register_model(model_uri, name, tags=tags).version)
        crash_point("register:version")
    logged = _logged_decision(paths, name, version, model_uri)
    if logged is not None:
        decision = Decision.from_json(logged)
        if APPLIED_TAG in client.get_model_version(name, version).tags:
            return decision  # decided and applied before: the aliases have moved on since, maybe
    else:
        metric, margin = params.registry.metric, params.registry.margin
        challenger = _scored(name, version, Guarantee.from_report(report), series, targets, metric)
        current = _champion(client, name)
        champion = None
        if current is not None:
            champion = _scored(name, str(current.version), _guarantee(current.tags), series, targets, metric)
        decision = decide(challenger, champion, metric, margin)
        # The log line is the decision's commit point: once it is on disk, the aliases and
        # tags below follow from it, now or in the next register.
        _log(paths, {"time": datetime.now(UTC).isoformat(), "registered_model": name, "version": version,
                     "model_uri": model_uri,
                     "champion_after": version if decision.promote else (champion.version if champion else None),
                     **decision.to_json()})
        crash_point("register:logged")
    _apply(client, name, decision)
    return decision


def _scored(name: str, version: str, guarantee: Guarantee, series: Any, targets: Any, metric: str) -> Scored:
    """The version's ``metric`` on the current test windows, or why it has none: a model
    that cannot forecast them is recorded as not promotable, never left undecided."""
    try:
        errors = score_version(f"models:/{name}/{version}", series, targets)
    except (ValueError, KeyError, PolarsError) as exc:  # other leads or zones, a gap, a format it cannot serve
        return Scored(version, None, guarantee, str(exc))
    return Scored(version, errors[metric]["mean"], guarantee)


def _version_of(client: Any, name: str, model_uri: str) -> str | None:
    """The version already registered for ``model_uri`` (by a register that was killed), if any."""
    found = [v for v in client.search_model_versions(f"name='{name}'") if v.tags.get(MODEL_URI_TAG) == model_uri]
    return str(min(int(v.version) for v in found)) if found else None


def _decisions(paths: Paths, name: str) -> list[dict[str, Any]]:
    """Entries of the decisions log for ``name`` written by this publisher (they name their model)."""
    if not paths.promotions.is_file():
        return []
    entries = []
    for line in paths.promotions.read_text(encoding="utf-8").splitlines():
        try:
            entry = json.loads(line)
        except ValueError:  # a line cut short by a crash: never a decision
            continue
        if entry.get("registered_model") == name and "model_uri" in entry:
            entries.append(entry)
    return entries


def _logged_decision(paths: Paths, name: str, version: str, model_uri: str) -> dict[str, Any] | None:
    return next((e for e in _decisions(paths, name) if e["version"] == version and e["model_uri"] == model_uri), None)


def _complete_pending(client: Any, paths: Paths, name: str, current_uri: str) -> None:
    """Finish what killed registers left of ``name``: apply, in log order, the logged
    decisions whose aliases and tags were not written; mark versions registered but never
    decided (killed before deciding) as such, but for ``current_uri``'s, decided now."""
    from mlflow.exceptions import MlflowException

    entries = _decisions(paths, name)
    for entry in entries:
        try:
            version = client.get_model_version(name, entry["version"])
        except MlflowException:  # a version of another store (MLFLOW_TRACKING_URI changed)
            continue
        if version.tags.get(MODEL_URI_TAG) == entry["model_uri"] and APPLIED_TAG not in version.tags:
            _apply(client, name, Decision.from_json(entry))
    logged = {(e["version"], e["model_uri"]) for e in entries}
    for version in client.search_model_versions(f"name='{name}'"):
        uri = version.tags.get(MODEL_URI_TAG)
        if uri and uri != current_uri and APPLIED_TAG not in version.tags and (str(version.version), uri) not in logged:
            client.set_model_version_tag(name, version.version, "promotion.decision", "not decided")
            client.set_model_version_tag(name, version.version, "promotion.reason",
                                         "its register was killed before the decision; this model was not registered again")
            client.set_model_version_tag(name, version.version, APPLIED_TAG, "true")


def _apply(client: Any, name: str, decision: Decision) -> None:
    """Move the aliases and write the decision's tags; the last tag marks it applied.
    Every step may be repeated."""
    version, metric, champion = decision.challenger.version, decision.metric, decision.champion
    client.set_registered_model_alias(name, CHALLENGER, version)
    if decision.promote:
        client.set_registered_model_alias(name, CHAMPION, version)
    verdict = "promoted" if decision.promote else "kept champion" if decision.challenger.score is not None else "not promotable"
    outcome = {"promotion.decision": verdict,
               "promotion.reason": decision.reason, f"promotion.{metric}": _tag(decision.challenger.score),
               "promotion.champion_version": champion.version if champion else "",
               f"promotion.champion_{metric}": _tag(champion.score) if champion else ""}
    for key, value in outcome.items():
        client.set_model_version_tag(name, version, key, value)
    client.set_model_version_tag(name, version, APPLIED_TAG, "true")


def _tag(score: float | None) -> str:
    return "not scored" if score is None else f"{score:.4f}"


def _log(paths: Paths, entry: dict[str, Any]) -> None:
    """One JSON line per decision: a single ``write`` of one line, appended and flushed to disk."""
    paths.promotions.parent.mkdir(parents=True, exist_ok=True)
    torn = False  # a last line a power loss cut short
    if paths.promotions.is_file() and paths.promotions.stat().st_size > 0:
        with open(paths.promotions, "rb") as fh:
            fh.seek(-1, os.SEEK_END)
            torn = fh.read(1) != b"\n"
    with open(paths.promotions, "a", encoding="utf-8") as fh:
        fh.write(("\n" if torn else "") + json.dumps(entry, sort_keys=True, default=str) + "\n")
        fh.flush()
        os.fsync(fh.fileno())
