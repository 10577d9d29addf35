"""What a training run's privacy is, decided before it touches data.

``plan_privacy`` checks the parameters, finds the DP-SGD noise multiplier (or takes the
configured one), computes the guarantee with the accountants, derives the run's secret
randomness, and refuses a run the privacy ledger cannot pay for. The returned report is
what the model ships with.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from dpforecast.config import Params
from dpforecast.lineage import code_digest
from dpforecast.privacy.budget import (
    MAX_ACCOUNTED_WINDOWS,
    dp_sgd_schedule,
    open_ledger,
    training_mechanisms,
)
from dpforecast.privacy.charges import Mechanism
from dpforecast.privacy.checks import PrivacyConfigError, check_privacy
from dpforecast.privacy.continual_release import ReleaseInfo, release_terms
from dpforecast.privacy.guarantees import gp_report, ip_report
from dpforecast.privacy.randomness import PrivacyKey, SecretStream, load_key
from dpforecast.privacy.report import PrivacyReport
from dpforecast.privacy.unit import PrivacyUnit
from dpforecast.runtime.io import read_json
from dpforecast.training.private_defaults import provenance_note


@dataclass(frozen=True)
class PrivacyPlan:
    report: PrivacyReport
    noise_multiplier: float | None = None
    max_grad_norm: float | None = None
    ledger_key: str | None = None
    mechanisms: dict[str, Mechanism] | None = None  # the training's loss on every tracked unit
    context: dict[str, Any] | None = None  # what the secret stream is derived from (never published)
    key: PrivacyKey | None = None

    def stream(self) -> SecretStream:
        """The run's secret randomness (batches and noise): the owner's key and the run's
        context, or the OS."""
        if self.context is None:
            raise ValueError("a non-private plan has no secret stream")
        return SecretStream.for_context(self.key, self.context)


def training_digest(x_train: np.ndarray, y_train: np.ndarray) -> str:
    """SHA-256 of the training windows themselves (inputs and targets): what a DP-SGD run reads.
    A file's hash would miss a change of split or protocol that keeps the same table. It goes
    into the secret context only, never into anything published."""
    digest = hashlib.sha256()
    for array in (x_train, y_train):
        array = np.ascontiguousarray(array)
        digest.update(f"{array.dtype}{array.shape}".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def _gp_context(params: Params, arch: str, seed: int, data_md5: str, sigma: float, device_type: str) -> dict[str, Any]:
    """Everything that makes two DP-SGD runs different computations: data, configuration,
    seed, device kind, code, epsilon and unit. Runs that differ in any of them never share a
    draw; the same run repeated with the owner's key draws the same batches and noise (and is
    charged once). Which other architectures the same command trains does not matter."""
    train = {k: v for k, v in asdict(params.train).items() if k not in ("model", "device")}
    return {"purpose": "dp-sgd", "dataset": params.data_set.name, "data": data_md5, "arch": arch, "seed": seed,
            "sigma": sigma, "train": train, "device": device_type, "hyper": params.hyper(arch),
            "features": asdict(params.features), "gp": asdict(params.privacy.gp), "epsilon": params.privacy.epsilon,
            "delta": params.privacy.delta, "unit": [params.privacy.unit, params.privacy.w], "code": code_digest()}


def _ledger_key(key: PrivacyKey | None, context: dict[str, Any]) -> str:
    """Public and unlinkable to the context without the key: a keyed digest (a repeat with the
    key is the same run, charged once), or a random nonce (without a key every run is fresh
    randomness, charged again)."""
    if key is None:
        return "gp:" + secrets.token_hex(8)
    text = json.dumps(context, sort_keys=True, default=str).encode()
    return "gp:" + hmac.new(key.material, b"ledger-key\0" + text, hashlib.sha256).hexdigest()[:16]


def context_units(params: Params) -> tuple[PrivacyUnit, ...]:
    """The units every DP-SGD report states beside the declared one: the study's window, the
    event and the day."""
    return tuple(replace(params, privacy=replace(params.privacy, unit=name, w=None)).privacy_unit()
                 for name in ("window", "event", "day"))


def plan_privacy(
    params: Params, arch: str, seed: int, n_train: int, batch_size: int, data_md5: str,
    release_metadata: Path | None, device_type: str = "cpu",
) -> PrivacyPlan:
    """The run's guarantee, its secret randomness and its charge, before any data is read:
    a bad key or a budget the ledger cannot pay is refused here. ``release_metadata`` is
    the release an ``ip`` run trained on (None where the caller states it itself)."""
    privacy = params.privacy
    if privacy.mode == "none":
        return PrivacyPlan(PrivacyReport.non_private())
    if privacy.mode == "ip":
        if release_metadata is None:
            raise PrivacyConfigError("privacy.mode ip: a model trained on a release states that release's guarantee")
        return PrivacyPlan(_ip_report(params, release_metadata))  # charged by the release; training is post-processing
    check_privacy(privacy, n_train_windows=n_train)
    if params.features.scaling == "standard":
        raise PrivacyConfigError(
            "features.scaling: 'standard' fits means and deviations on the private training windows, "
            "which DP-SGD's guarantee does not cover; use 'log' (fixed, data-independent) or 'none' for privacy.mode gp"
        )
    unit = params.privacy_unit()
    window, horizon = params.features.window, params.features.horizon
    touched = unit.windows(window, horizon) if unit.data_level else 1
    if touched > MAX_ACCOUNTED_WINDOWS:
        raise PrivacyConfigError(
            f"privacy.unit: DP-SGD cannot protect one {unit.name} here: it touches {touched:,} training windows "
            f"(every window of the series), and DP-SGD bounds a unit only by 2C per window it touches, so no "
            f"noise that still trains meets epsilon {privacy.epsilon:g}; use event, day or week with DP-SGD, or "
            f"input perturbation (privacy.mode ip) for a person")
    key = load_key()
    gp = privacy.gp
    sample_rate, steps, sigma = dp_sgd_schedule(params, batch_size, n_train)
    report = gp_report(noise_multiplier=sigma, sample_rate=sample_rate, steps=steps, delta=privacy.delta,
                       max_grad_norm=gp.max_grad_norm, n=n_train, epochs=params.train.epochs,
                       accountant=gp.accountant, unit=unit, window=window, horizon=horizon,
                       context=context_units(params), study_comparison=unit.name == "window",
                       notes=[provenance_note(params, arch)])
    context = _gp_context(params, arch, seed, data_md5, sigma, device_type)
    ledger_key = _ledger_key(key, context)
    mechanisms = training_mechanisms(params, sigma, sample_rate, steps, n_train)
    open_ledger(params).check(ledger_key, mechanisms)
    return PrivacyPlan(report, sigma, gp.max_grad_norm, ledger_key, mechanisms, context, key)


def _ip_report(params: Params, release_metadata: Path) -> PrivacyReport:
    """The guarantee of the release the model trained on, refused if it is not the release
    the parameters ask for."""
    raw = read_json(release_metadata)
    info = ReleaseInfo.from_json(raw) if raw.get("mode") == "ip" and raw.get("format") else None
    terms = release_terms(params)
    if info is None or info.terms != terms:
        found = "no release" if info is None else (f"{info.terms.mechanism}, epsilon {info.terms.epsilon:g} per "
                                                     f"{info.terms.unit}")
        raise PrivacyConfigError(
            f"privacy: the release at {release_metadata} ({found}) is not the one the parameters ask for "
            f"({terms.mechanism}, epsilon {terms.epsilon:g} per {terms.unit}); rerun the release stage")
    return release_report(params, info)


CONTINUAL = "continual release: each interval was noised once, when it arrived; retraining on it is free"


def release_report(params: Params, info: ReleaseInfo, how: str = CONTINUAL) -> PrivacyReport:
    """The guarantee of a release (and of everything trained on it alone): its terms on the
    unit; ``how`` says how it was released (continually, or once in memory)."""
    terms = info.terms
    unit = params.privacy_unit()
    norm = "L1" if terms.mechanism == "discrete_laplace" else "L2"
    return ip_report(
        mechanism=terms.mechanism, epsilon=terms.epsilon, delta=terms.delta, sensitivity=terms.sensitivity,
        sigma=info.scale, unit=unit, n=info.n_counts, unit_epsilons=info.unit_epsilons,
        notes=[(f"{unit.reason.rstrip('.')} ({params.dataset}'s spec): " if unit.data_level else "")
               + f"one unit changes {unit.counts} count(s), so the noise is calibrated to their {norm} norm, "
               f"{terms.sensitivity:.4g}",
               how])


def charge(plan: PrivacyPlan, params: Params, arch: str, data_version: str) -> None:
    """Record a DP-SGD training in the ledger before it reads its first window (the plan
    checked the budget); a repeat of a keyed run costs nothing more."""
    if plan.ledger_key is None or plan.mechanisms is None:
        return
    open_ledger(params).charge(plan.ledger_key, plan.mechanisms, "gp", f"DP-SGD training of {arch}", data_version)
