"""A one-run canary audit of DP-SGD (Steinke, Nasr and Jagielski 2023): does the trained
model reveal which windows it saw more than the accountant's epsilon allows?

``m`` canary windows each join the training set independently with probability 1/2 (seeded
draw); the model is trained ONCE with the project's DP-SGD configuration, each canary is
scored by how much training lowered its loss, and the auditor guesses "in" for the ``k``
highest scores, "out" for the ``k`` lowest and abstains on the rest. The correct guesses give
a lower bound on epsilon at 95 % confidence (:mod:`dpforecast.privacy.audit_bound`), set
beside the per-window epsilon the accountant claims for that very run: a canary is one
window added or removed, so the per-window claim is what is audited.

Canary design: each canary's inputs are a real training window's calendar features with
its counts replaced by i.i.d. ``N(0, 1)`` values on the scaled (log) scale, and its target
is ``+A`` or ``-A`` (``A`` = :data:`TARGET_AMPLITUDE`, random sign per zone) on the scaled
target scale: 20 or 3.3 million people, implausible for any zone. Real count inputs were not
kept: Montreuil's windows overlap by all but one step, so canaries on real inputs sit next to
each other and to real windows, and the model's smooth fit averages their independent random
signs away; random inputs are nearly orthogonal in 36 dimensions, so each canary's sign must
be memorised on its own, and its loss reveals whether it was.
"""

from __future__ import annotations

import copy
import hashlib
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import torch

from dpforecast.config import Params, deep_merge, load_params
from dpforecast.features.windows import window_arrays
from dpforecast.io import write_json, write_text
from dpforecast.models.forecaster import Forecaster
from dpforecast.paths import Paths
from dpforecast.privacy import accounting
from dpforecast.privacy.audit_bound import epsilon_lower_bound
from dpforecast.privacy.randomness import SecretStream
from dpforecast.stages.train import build_model, private_options
from dpforecast.study import prepare_workspace
from dpforecast.tracking.lineage import file_md5
from dpforecast.training.device import select_device
from dpforecast.training.dp_sgd import Spend, fit_private, sample_loss
from dpforecast.training.loop import LoopConfig, TrainResult
from dpforecast.training.private_plan import charge, plan_privacy
from dpforecast.variants import MODE_OVERRIDES, MODE_PROFILES

TARGET_AMPLITUDE = 3.0
BETA = 0.05
#: The headline guesses per side, as a fraction of the canaries, fixed before any result
#: (choosing the best k after seeing the scores would overstate the bound).
HEADLINE_FRACTION = 0.1
#: Other guess counts reported beside the headline, for reading only.
OTHER_FRACTIONS = (0.01, 0.05, 0.25, 0.5)
CLAIMED_UNIT = "one training window (a canary is one window added or removed)"
UNIT_NOTE = ("data-level units (an event, a person) touch one window or more, so their epsilon is at least "
             "the per-window one: a contradiction here contradicts them too")

# (model, (x, y), loop, noise multiplier, max grad norm, device) -> (result, spend): fit_private's shape.
Trainer = Callable[[Forecaster, tuple[np.ndarray, np.ndarray], LoopConfig, float, float, torch.device, SecretStream],
                   tuple[TrainResult, Spend]]


def make_canaries(x_real: np.ndarray, model: Forecaster, m: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``m`` canary windows in raw counts: random scaled counts over real calendar features,
    targets ``±A`` per zone on the scaled scale (see the module docstring)."""
    zones = model.spec.n_targets
    pick = rng.choice(len(x_real), size=m, replace=m > len(x_real))
    x = x_real[pick].copy()
    mean, std = model.x_mean[:zones].numpy(), model.x_std[:zones].numpy()
    x[..., :zones] = rng.standard_normal((m, x.shape[1], zones)) * std + mean
    size = (m, model.spec.horizon, zones)
    y = rng.choice([-TARGET_AMPLITUDE, TARGET_AMPLITUDE], size=size) * model.y_std.numpy() + model.y_mean.numpy()
    if model.spec.log_counts:
        x[..., :zones], y = np.expm1(x[..., :zones]), np.expm1(y)
    return x.astype(np.float32), y.astype(np.float32)


def canary_losses(model: Forecaster, x: np.ndarray, y: np.ndarray, loss_name: str) -> np.ndarray:
    """Each canary's training loss (scaled scale), as the optimiser saw it."""
    loss = sample_loss(loss_name)
    model.eval()
    with torch.no_grad():
        xt, yt = torch.as_tensor(x), torch.as_tensor(y)
        return loss(model.forward_scaled(xt), model.scale_targets(yt)).numpy().astype(np.float64)


def correct_guesses(scores: np.ndarray, included: np.ndarray, k: int) -> int:
    """Correct guesses of "in" for the ``k`` highest scores and "out" for the ``k`` lowest."""
    if not 0 < 2 * k <= len(scores):
        raise ValueError(f"k must be in [1, m/2], got {k} for {len(scores)} canaries")
    order = np.argsort(scores, kind="stable")
    return int(included[order[-k:]].sum() + (~included[order[:k]]).sum())


def audit_params(root: Path, model: str, epsilon: float | None, overrides: dict[str, Any] | None) -> Params:
    """params.yaml's DP-SGD configuration of ``model`` (gp, log scaling), at ``epsilon`` if given."""
    over = deep_merge({"train": {"model": model}}, MODE_OVERRIDES["gp"])
    if epsilon is not None:
        over = deep_merge(over, {"privacy": {"epsilon": epsilon}})
    return load_params(root / "params.yaml", profile=MODE_PROFILES["gp"], **deep_merge(over, overrides or {}))


def run_audit(
    root: Path, model: str = "bigru", canaries: int = 1000, seed: int = 0, epsilon: float | None = None,
    overrides: dict[str, Any] | None = None, progress: bool = False, *, trainer: Trainer | None = None,
) -> dict[str, Any]:
    """Build the canaries, train once with DP-SGD, guess, bound; return the result.

    The run reads private windows, so it is planned and charged to the privacy ledger like
    any DP-SGD training. ``trainer`` is FOR TESTS ONLY: it replaces ``fit_private`` (e.g. by
    clipped SGD without noise, which ``private_optimizer`` rightly refuses) to check that
    the audit catches a "private" run that is not. No pipeline stage and no ``dpforecast``
    command passes it; ``benchmarks/audit_noise_off.py`` does, to show what the audit says of
    such a run. That run is labelled ``private: false`` and not charged (it has no finite
    epsilon): it is a non-private training, like the pipeline's non-private models.
    """
    start = time.perf_counter()
    params = audit_params(root, model, epsilon, overrides)
    work = Paths(root / "artifacts" / "study" / f"audit-{model}", tracking_root=root)
    prepare_workspace(root, params, work)
    table = pl.read_parquet(work.feature_table)
    zones = list(pl.read_parquet(work.targets).columns)
    x_real, y_real = window_arrays(table, pl.read_parquet(work.windows), "train", params.features.window,
                                   params.features.horizon, zones)
    net, loop = build_model(params, model, x_real, y_real, len(zones), seed)
    batch = loop.batch_size
    untrained = copy.deepcopy(net)

    rng = np.random.default_rng(seed)
    x_can, y_can = make_canaries(x_real, net, canaries, rng)
    included = rng.random(canaries) < 0.5
    x_train = np.concatenate([x_real, x_can[included]])
    y_train = np.concatenate([y_real, y_can[included]])

    device = select_device(params.train.device)
    data_md5 = hashlib.sha256(f"{file_md5(work.feature_table)}:audit:{canaries}:{seed}".encode()).hexdigest()[:32]
    plan = plan_privacy(params=params, arch=model, seed=seed, n_train=len(x_train), batch_size=batch,
                        data_md5=data_md5, release_metadata=work.release_metadata, device_type=device.type)
    if trainer is None:
        from dpforecast.project import lineage

        charge(plan, params, model, lineage(Paths(root), params).get("data.dvc_md5", ""))
        result, spend = fit_private(net, (x_train, y_train), loop, plan.noise_multiplier, plan.max_grad_norm,
                                    device, plan.stream(), progress=progress, **private_options(params))
    else:
        result, spend = trainer(net, (x_train, y_train), loop, plan.noise_multiplier, plan.max_grad_norm, device,
                                plan.stream())
    net.cpu()

    scores = (canary_losses(untrained, x_can, y_can, loop.loss) - canary_losses(net, x_can, y_can, loop.loss))
    delta = params.privacy.delta
    claimed = accounting.dp_sgd_epsilon(plan.noise_multiplier, spend.sample_rate, spend.steps, delta, "rdp")

    def bound(fraction: float) -> dict[str, Any]:
        k = max(1, int(fraction * canaries))
        v = correct_guesses(scores, included, k)
        return {"k": k, "r": 2 * k, "v": v,
                "epsilon_lower_bound": epsilon_lower_bound(canaries, 2 * k, v, delta, BETA)}

    headline = bound(HEADLINE_FRACTION)
    return {
        "model": model, "dataset": params.dataset, "private": trainer is None,
        "trainer": "fit_private" if trainer is None else getattr(trainer, "__name__", repr(trainer)),
        "m": canaries, "included": int(included.sum()), "n_real_windows": len(x_real),
        **headline, "beta": BETA, "confidence": 1 - BETA,
        "claimed_epsilon": claimed, "claimed_unit": CLAIMED_UNIT, "unit_note": UNIT_NOTE, "delta": delta,
        "accountant": "rdp", "target_epsilon": params.privacy.epsilon,
        "unit_epsilon": plan.report.epsilon, "unit": plan.report.unit, "unit_accountant": plan.report.accountant,
        "noise_multiplier": spend.noise_multiplier, "planned_noise_multiplier": plan.noise_multiplier,
        "max_grad_norm": spend.max_grad_norm, "sample_rate": spend.sample_rate, "steps": spend.steps,
        "seed": seed, "score": "canary loss before training minus after (scaled scale)",
        "other_k": [bound(f) for f in OTHER_FRACTIONS],
        "contradicted": headline["epsilon_lower_bound"] > claimed,
        "train_seconds": round(result.seconds, 2), "seconds": round(time.perf_counter() - start, 2),
    }


def summary(result: dict[str, Any]) -> str:
    """One line: the bound beside the claim."""
    verdict = "CONTRADICTS the claim" if result["contradicted"] else "consistent with the claim"
    private = "" if result["private"] else " [NOT a private run: test seam]"
    return (f"privacy audit of {result['model']}: epsilon >= {result['epsilon_lower_bound']:.3f} at "
            f"{result['confidence']:.0%} ({result['v']}/{result['r']} correct guesses, {result['m']} canaries) vs "
            f"claimed {result['claimed_epsilon']:.3f} per window at delta {result['delta']:g}: {verdict}{private}")


def report_markdown(result: dict[str, Any]) -> str:
    """The human-readable report: what was claimed, what the audit shows, and what it means."""
    lower, claimed = result["epsilon_lower_bound"], result["claimed_epsilon"]
    if result["contradicted"]:
        meaning = (f"**THE ACCOUNTANT'S CLAIM IS CONTRADICTED.** The audit shows epsilon >= {lower:.3f} with "
                   f"{result['confidence']:.0%} confidence, above the claimed {claimed:.3f}: this run leaks more "
                   "than its privacy report says. Do not release models of this configuration; look for a bug in "
                   "the noise, the clipping, the sampling or the accounting.")
    else:
        meaning = (f"The lower bound {lower:.3f} does not exceed the claim {claimed:.3f}: the run is not shown "
                   "to be less private than claimed. This is not a proof that it is as private as claimed; "
                   "a one-run black-box audit of DP-SGD is usually far below the claim.")
    rows = "\n".join(f"| {b['k']} | {b['r']} | {b['v']} | {b['epsilon_lower_bound']:.3f} |"
                     for b in [result, *result["other_k"]])
    return f"""# Privacy audit: {result['model']} on {result['dataset']}

{meaning}

- Claimed epsilon: **{claimed:.4g}** per {result['claimed_unit']}, delta {result['delta']:g}
  ({result['accountant']} accountant; noise multiplier {result['planned_noise_multiplier']:.4g}, sample rate
  {result['sample_rate']:.4g}, {result['steps']} steps). Note: {result['unit_note']}. The same run's
  epsilon per {result['unit']}: {result['unit_epsilon']:.4g} ({result['unit_accountant']}).
- Audit lower bound at {result['confidence']:.0%} confidence: **{lower:.4g}** ({result['v']} correct of
  {result['r']} guesses, k = {result['k']} per side fixed in advance).
- Run: {"private (fit_private, charged to the ledger)" if result['private'] else "NOT PRIVATE: test seam " + result['trainer']};
  seed {result['seed']}; {result['seconds']:.0f} s.

## What was done

{result['m']} canaries, each included in the training set independently with probability 1/2
({result['included']} included, beside {result['n_real_windows']} real windows). A canary is a window whose
counts are random and whose target is implausible (20 or 3.3 million people per zone, random sign): only a
model that memorised it predicts it. The model was trained once; each canary's score is its
{result['score']}. The auditor guessed "in" for the k highest scores, "out" for the k lowest, and abstained
on the rest. If the run were epsilon-DP per window, at least this many correct guesses would have
probability at most {result['beta']:g} for any epsilon below the bound (Steinke, Nasr and Jagielski 2023,
Theorem 3.1, with its delta term).

| k | guesses | correct | epsilon lower bound |
| --- | --- | --- | --- |
{rows}

Only the first row is the headline; the others are for reading and must not be picked after the fact.
"""


def audit(root: Path, model: str = "bigru", canaries: int = 1000, seed: int = 0,
          epsilon: float | None = None) -> dict[str, Any]:
    """``dpforecast audit``: run it, write ``metrics/audit.json`` and ``reports/privacy_audit.md``,
    and log one MLflow run ``privacy-audit``."""
    import mlflow

    from dpforecast.tracking.mlflow_tracking import configure, start_run

    result = run_audit(root, model, canaries, seed, epsilon, progress=True)
    write_json(root / "metrics" / "audit.json", result)
    write_text(root / "reports" / "privacy_audit.md", report_markdown(result))
    configure(Paths(root), audit_params(root, model, epsilon, None).tracking.experiment)
    with start_run("privacy-audit"):
        mlflow.log_metrics({"audit_epsilon_lower_bound": result["epsilon_lower_bound"],
                            "claimed_epsilon": result["claimed_epsilon"]})
        mlflow.log_dict(result, "audit.json")
    return result
