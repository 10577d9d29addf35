"""The publishable bundle of a private model: what may leave the data owner, and nothing else.

A model folder (``models/<arch>/``) holds internal outputs computed on raw data: test errors
on the raw targets, the training history, lineage. A bundle (``dpforecast bundle``) keeps
only what the model's guarantee covers:

* the weights and the architecture (``model.pt``, ``model.json`` with the spec and the
  training parameters, all public);
* the data set's spec (public: layout, zones, clock, the declared privacy bound);
* ``privacy.json`` and ``MODEL_CARD.md``: the guarantee on the declared unit and on every
  unit the ledger tracks, with the inputs an independent accountant needs;
* for input perturbation, the errors against the noisy release's targets (post-processing
  of the release, covered) and the intervals calibrated on it; for DP-SGD, no metric: every
  score of a DP-SGD model is computed on raw data.

No raw-data hash, seed other than the public ``train.seed``, key material, raw-count error
or MLflow run id is copied. A non-private model has no bundle: it carries no guarantee.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from dpforecast.models.store import DATASET_SPEC, DESCRIPTION, INTERVALS, WEIGHTS
from dpforecast.privacy.unit import LEDGER_UNITS
from dpforecast.runtime.io import atomic_dir, read_json, write_json, write_text

#: Description fields that describe the architecture and its public training parameters.
PUBLIC_DESCRIPTION = ("spec", "architecture", "seed", "features", "zones", "dataset", "horizon", "scaling",
                      "params", "privacy")


class BundleError(ValueError):
    """The model folder cannot be published (not private, or incomplete)."""


def _covered_metrics(folder: Path, report: dict[str, Any]) -> dict[str, Any]:
    if report["mode"] == "ip":
        metrics = read_json(folder / "metrics.json")
        return {"scored_on": "the noisy release's test targets (post-processing of the release: covered)",
                **metrics.get("against_noisy_targets", {})}
    return {"scored_on": "none: every score of a DP-SGD model uses raw data, which its guarantee does not cover"}


def model_card(description: dict[str, Any], report: dict[str, Any], metrics: dict[str, Any]) -> str:
    order = {u: i for i, u in enumerate(LEDGER_UNITS)}
    rows = sorted((u for u in report.get("unit_epsilons", []) if "windows_per_unit" not in u),
                  key=lambda u: order.get(u["unit"], len(order)))
    units = "\n".join(f"| {u['unit']} | {'vacuous' if u['epsilon'] is None else format(u['epsilon'], '.4g')} | "
                      f"{u['delta']:g} |" for u in rows)
    rmse = metrics.get("rmse", {}).get("mean")
    return f"""# {description['architecture']} on {description['dataset']['dataset']}: model card

**Guarantee:** {report['summary']}

{chr(10).join('- ' + n for n in report.get('notes', []))}

| tracked unit | epsilon | delta |
| --- | --- | --- |
{units}

Forecast horizon: {description['horizon']} step(s) of {description['dataset']['interval_minutes']} minutes.
Covered evaluation: {metrics['scored_on']}{f'; mean RMSE {rmse:.1f}' if rmse is not None else ''}.
Everything in this bundle is covered by the guarantee above; nothing in it is derived from the
raw data outside the accountant (no raw-data hash, no seed of private randomness, no raw-count error).
"""


def export_bundle(folder: str | Path, out: str | Path) -> Path:
    """Write the bundle of the private model in ``folder`` to ``out`` (whole or not at all)."""
    folder, out = Path(folder), Path(out)
    if not (folder / DESCRIPTION).is_file():
        raise BundleError(f"{folder}: not a model folder (no {DESCRIPTION})")
    report = read_json(folder / "privacy.json")
    if not report.get("private"):
        raise BundleError(f"{folder}: a non-private model has no guarantee to publish under; train it with "
                          f"privacy.mode ip or gp")
    description = read_json(folder / DESCRIPTION)
    public = {k: description[k] for k in PUBLIC_DESCRIPTION if k in description}
    metrics = _covered_metrics(folder, report)
    with atomic_dir(out) as tmp:
        shutil.copyfile(folder / WEIGHTS, tmp / WEIGHTS)
        shutil.copyfile(folder / DATASET_SPEC, tmp / DATASET_SPEC)
        write_json(tmp / DESCRIPTION, public)
        write_json(tmp / "privacy.json", report)
        write_json(tmp / "metrics.json", metrics)
        if report["mode"] == "ip" and (folder / INTERVALS).is_file():
            shutil.copyfile(folder / INTERVALS, tmp / INTERVALS)
        write_text(tmp / "MODEL_CARD.md", model_card(description, report, metrics))
    return out
