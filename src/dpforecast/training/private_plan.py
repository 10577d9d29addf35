"""What a training run's privacy is, decided before it touches data.

``plan_privacy`` checks the parameters, finds the DP-SGD noise multiplier (or takes the
configured one), computes the guarantee with the accountants, and refuses a run the
privacy ledger cannot pay for. The returned report is what the model ships with.
"""

from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from dpforecast.config import Params
from dpforecast.io import read_json
from dpforecast.privacy import accounting, unit_accounting
from dpforecast.privacy.checks import PrivacyConfigError, check_privacy
from dpforecast.privacy.ledger import PrivacyLedger
from dpforecast.privacy.report import PrivacyReport, gp_report, ip_report
from dpforecast.privacy.unit import PrivacyUnit
from dpforecast.tracking.lineage import code_digest
from dpforecast.training.private_defaults import provenance_note


@dataclass(frozen=True)
class PrivacyPlan:
    report: PrivacyReport
    noise_multiplier: float | None = None
    max_grad_norm: float | None = None
    ledger_key: str | None = None
    ledger_unit: str | None = None  # the ledger's line (PrivacyUnit.ledger_unit)


def _gp_key(params: Params, arch: str, seed: int, data_md5: str, sigma: float, device_type: str) -> str:
    """Equal only for a run that repeats the same computation: same data, configuration,
    seed, device kind (CPU and CUDA draw different noise from one seed) and code. Which other
    architectures the same command trains (``train.model``) does not change it."""
    train = {k: v for k, v in asdict(params.train).items() if k not in ("model", "device")}
    spec = {"data": data_md5, "arch": arch, "seed": seed, "sigma": sigma, "train": train, "device": device_type,
            "hyper": params.hyper(arch), "features": asdict(params.features), "gp": asdict(params.privacy.gp),
            "unit": [params.privacy.unit, params.privacy.w], "code": code_digest()}
    return "gp:" + hashlib.sha256(json.dumps(spec, sort_keys=True, default=str).encode()).hexdigest()[:16]


@functools.lru_cache(maxsize=64)
def noise_for(epsilon: float, delta: float, sample_rate: float, steps: int, unit: PrivacyUnit, window: int,
              horizon: int, accountant: str) -> float:
    """The smallest noise multiplier meeting ``epsilon`` on ``unit`` by ``accountant`` (cached:
    the search takes seconds, and seeds of one setting share it)."""
    if unit.data_level:
        return unit_accounting.noise_multiplier_for_unit(
            epsilon, delta, sample_rate, steps, unit.windows(window, horizon), unit.sensitivity_per_window, accountant)
    if accountant == "pld":
        return unit_accounting.noise_multiplier_for_unit(epsilon, delta, sample_rate, steps, 1, 1.0, "pld")
    return accounting.noise_multiplier_for(epsilon, delta, sample_rate, steps, accountant)


def context_units(params: Params) -> tuple[PrivacyUnit, ...]:
    """The units every DP-SGD report states beside the declared one: the study's window, the
    event and the day."""
    return tuple(replace(params, privacy=replace(params.privacy, unit=name, w=None)).privacy_unit()
                 for name in ("window", "event", "day"))


def plan_privacy(
    params: Params, arch: str, seed: int, n_train: int, batch_size: int, data_md5: str,
    ledger_path: Path, release_metadata: Path, device_type: str = "cpu",
) -> PrivacyPlan:
    privacy = params.privacy
    if privacy.mode == "none":
        return PrivacyPlan(PrivacyReport.non_private())
    if privacy.mode == "ip":
        meta = read_json(release_metadata)
        if meta.get("epsilon") != privacy.epsilon or meta.get("mechanism") != privacy.ip.mechanism:
            raise PrivacyConfigError(
                f"privacy: the release at {release_metadata} ({meta.get('mechanism')}, epsilon {meta.get('epsilon')}) "
                f"does not match the parameters ({privacy.ip.mechanism}, epsilon {privacy.epsilon}); rerun the release stage"
            )
        unit = params.privacy_unit()
        if meta.get("unit") != unit.describe("ip"):
            raise PrivacyConfigError(
                f"privacy.unit: the release at {release_metadata} protects {meta.get('unit')!r}, the parameters "
                f"ask for {unit.describe('ip')!r}; rerun the release stage")
        report = ip_report(
            mechanism=meta["mechanism"], epsilon=meta["epsilon"], delta=meta["delta"],
            sensitivity=meta["sensitivity"], sigma=meta["noise_std"], unit=unit, n=int(meta["n_counts"]),
            notes=[(f"{unit.reason.rstrip('.')} ({params.dataset}'s spec): " if unit.data_level else "")
                   + f"one unit changes {unit.counts} count(s), so the noise is calibrated to their "
                   f"{'L1' if meta['mechanism'] == 'laplace' else 'L2'} norm, {meta['sensitivity']:.4g}"],
        )
        return PrivacyPlan(report)  # charged by the release stage; training is post-processing
    check_privacy(privacy, n_train_windows=n_train)
    if params.features.scaling == "standard":
        raise PrivacyConfigError(
            "features.scaling: 'standard' fits means and deviations on the private training windows, "
            "which DP-SGD's guarantee does not cover; use 'log' (fixed, data-independent) or 'none' for privacy.mode gp"
        )
    sample_rate = min(1.0, batch_size / n_train)
    steps = max(1, round(1 / sample_rate)) * params.train.epochs
    gp = privacy.gp
    unit = params.privacy_unit()
    window, horizon = params.features.window, params.features.horizon
    sigma = gp.noise_multiplier or noise_for(privacy.epsilon, privacy.delta, sample_rate, steps, unit, window,
                                             horizon, gp.accountant)
    report = gp_report(noise_multiplier=sigma, sample_rate=sample_rate, steps=steps, delta=privacy.delta,
                       max_grad_norm=gp.max_grad_norm, n=n_train, epochs=params.train.epochs,
                       accountant=gp.accountant, unit=unit, window=window, horizon=horizon,
                       context=context_units(params), study_comparison=unit.name == "window",
                       notes=[provenance_note(params, arch)])
    ledger = PrivacyLedger(ledger_path, privacy.budget_epsilon)
    key = _gp_key(params, arch, seed, data_md5, sigma, device_type)
    ledger_unit = unit.ledger_unit(params.dataset, "gp")
    ledger.check(report.epsilon, ledger_unit, key=key)
    return PrivacyPlan(report, sigma, gp.max_grad_norm, key, ledger_unit)


def charge(plan: PrivacyPlan, params: Params, ledger_path: Path, arch: str, data_version: str) -> None:
    """Record a DP-SGD training in the ledger before it reads its first window (the plan
    checked the budget); an identical run charged before costs nothing."""
    if plan.ledger_key is None:
        return
    PrivacyLedger(ledger_path, params.privacy.budget_epsilon).charge(
        plan.ledger_key, plan.report.epsilon, plan.report.delta, plan.ledger_unit, "gp",
        f"DP-SGD training of {arch}", data_version)
