"""The guarantees a privacy report states, computed: DP-SGD's epsilons on the declared unit and
the units beside it, input perturbation's, and what either means for a whole person.

Every DP-SGD epsilon comes from :class:`~dpforecast.privacy.dp_sgd_accountant.DPSGDAccountant`
(the study's comparisons, TF Privacy 2020's and Opacus's defaults, from their own
reproductions in :mod:`~dpforecast.privacy.accounting`); :class:`~dpforecast.privacy.report.PrivacyReport`
only holds and prints them.
"""

from __future__ import annotations

import math
from typing import Any

from dpforecast.config import Accountant
from dpforecast.privacy.accounting import (
    AccountingError,
    default_prv_eps_error,
    opacus_default_orders_epsilon,
    tf_privacy_2020_epsilon,
)
from dpforecast.privacy.dp_sgd_accountant import DPSGDAccountant
from dpforecast.privacy.report import GP_MECHANISM, MEANINGLESS_EPSILON, PrivacyReport, format_delta, format_epsilon
from dpforecast.privacy.unit import PrivacyUnit


def _unit_entry(unit: PrivacyUnit, noise_multiplier: float, sample_rate: float, steps: int, delta: float,
                window: int, horizon: int, bound_so_far: float) -> dict[str, Any]:
    """One unit's epsilon (PLD, and the RDP upper bound), or none past :data:`MEANINGLESS_EPSILON`."""
    k = unit.windows(window, horizon)
    s = unit.sensitivity_per_window
    entry: dict[str, Any] = {"unit": unit.name, "description": unit.describe("gp"), "intervals": unit.intervals,
                             "windows_per_unit": k, "epsilon": None, "epsilon_rdp_upper": None, "delta": delta,
                             "sensitivity": f"{s:g}C per window it touches ({unit.neighbouring})"}
    if bound_so_far > MEANINGLESS_EPSILON:
        return entry  # a larger unit than one already past it: no number worth the time
    run = (noise_multiplier, sample_rate, steps, delta)
    entry["epsilon_rdp_upper"] = rdp = DPSGDAccountant("rdp", k, s).epsilon(*run)
    if rdp <= MEANINGLESS_EPSILON:
        entry["epsilon"] = DPSGDAccountant("pld", k, s).epsilon(*run)
    return entry


def _person_level(unit: PrivacyUnit, mode: str, epsilon: float, delta: float, **gp: Any) -> tuple[dict, str]:
    """Person-level protection: composed from the data set's declared bound on a person's
    intervals, or stated as not protected (never a bound with delta >= 1)."""
    m = unit.person_intervals()
    if m is None:
        why = ("person level: the guarantee above is per unit; what it means for a whole person is the person "
               "unit's epsilon (the spec's protected period, in the ledger and the unit table), which may be "
               "large or vacuous; the spec declares no bound on how many intervals one person is counted in "
               "(privacy.intervals_per_person) from which to compose another")
        return {"protected": False, "reason": why}, why
    units = math.ceil(m / unit.intervals)
    if mode == "gp":
        k = min(gp["n"], m * (gp["window"] + gp["horizon"]))
        eps = DPSGDAccountant("rdp", k, unit.sensitivity_per_window).epsilon(
            gp["noise_multiplier"], gp["sample_rate"], gp["steps"], delta)
        text = (f"person level (at most {m:,} intervals per person, the spec's bound): ε ≤ {format_epsilon(eps)} "
                f"(δ = {format_delta(delta)}, RDP upper bound over the {k:,} windows they touch)")
        return {"protected": True, "intervals_per_person": m, "windows": k, "epsilon": eps, "delta": delta}, text
    eps, d = units * epsilon, min(1.0, units * delta)
    if d >= 1.0:
        why = f"person level: {units:,} units compose to δ ≥ 1, which protects nothing; not protected"
        return {"protected": False, "reason": why}, why
    text = (f"person level (at most {m:,} intervals per person, the spec's bound): ε ≤ {format_epsilon(eps)}, "
            f"δ ≤ {format_delta(d)} (basic composition over {units:,} units)")
    return {"protected": True, "intervals_per_person": m, "epsilon": eps, "delta": d}, text


def gp_report(
    *,
    noise_multiplier: float,
    sample_rate: float,
    steps: int,
    delta: float,
    max_grad_norm: float,
    n: int,
    unit: PrivacyUnit,
    window: int,
    horizon: int,
    epochs: float | None = None,
    accountant: Accountant = "pld",
    context: tuple[PrivacyUnit, ...] = (),
    study_comparison: bool = False,
    notes: list[str] | None = None,
) -> PrivacyReport:
    """The report of one DP-SGD training on ``unit``, its epsilons computed here.

    A data-level unit (event, day, w-event) touches ``unit.windows(window, horizon)``
    overlapping windows, 2C each (replace): its ``epsilons`` are the ``pld`` and ``rdp``
    accountants'; ``accountant`` picks the headline. The study's ``window`` unit, one window
    added or removed, also gets ``prv`` (and, with ``study_comparison``, the figures of TF
    Privacy 2020 and Opacus's default orders). ``context`` adds other units' epsilons
    (``unit_epsilons``) for comparison. Every input an independent check needs is recorded:
    sigma, C, q and the sampling scheme, steps, windows per unit, the neighbouring relation,
    delta and the accountant.
    """
    report_notes = list(notes or [])
    headline = DPSGDAccountant.on(accountant, unit, window, horizon)  # refuses prv on a data-level unit
    k, s = headline.windows, headline.sensitivity_per_window
    run = (noise_multiplier, sample_rate, steps, delta)
    epsilons: dict[str, float] = {"rdp": DPSGDAccountant("rdp", k, s).epsilon(*run)}
    if unit.data_level:
        if epsilons["rdp"] <= MEANINGLESS_EPSILON:  # past it, a PLD at low noise costs minutes and protects nothing
            epsilons["pld"] = DPSGDAccountant("pld", k, s).epsilon(*run)
    else:
        epsilons["pld"] = DPSGDAccountant("pld", k, s).epsilon(*run)
        try:
            epsilons["prv"] = DPSGDAccountant("prv", k, s).epsilon(*run)
            report_notes.append("PRV epsilon is an upper bound: estimate + eps_error "
                                f"({default_prv_eps_error(epsilons['rdp']):.3g})")
        except AccountingError as exc:
            if accountant == "prv":
                raise
            report_notes.append(f"prv accountant not available: {exc}")
        if study_comparison:
            epsilons["tf_privacy_2020"] = tf_privacy_2020_epsilon(*run)
            epsilons["opacus_default_orders"] = opacus_default_orders_epsilon(*run)
            report_notes.append(
                "tf_privacy_2020 and opacus_default_orders are shown to compare with the study and with "
                "Opacus's defaults: both are stuck at the floor of their largest RDP order, not set by the noise")
        report_notes.append("this is the study's unit, one training window, not a data-level guarantee: one "
                            f"count is in {window + horizon} overlapping windows (the event's ε is in unit_epsilons)")
    epsilon = epsilons.get(accountant, epsilons["rdp"])
    if accountant not in epsilons:
        report_notes.append(f"ε is the RDP upper bound: past {MEANINGLESS_EPSILON:g} the PLD is not computed")
    unit_epsilons: list[dict[str, Any]] = []
    bound_so_far = 0.0
    for other in context:
        if other.name == unit.name and other.intervals == unit.intervals:
            continue
        entry = _unit_entry(other, noise_multiplier, sample_rate, steps, delta, window, horizon, bound_so_far)
        unit_epsilons.append(entry)
        if other.data_level:
            bound_so_far = max(bound_so_far, entry["epsilon_rdp_upper"] or math.inf)
    person, person_text = _person_level(unit, "gp", epsilon, delta, n=n, window=window, horizon=horizon,
                                        noise_multiplier=noise_multiplier, sample_rate=sample_rate, steps=steps)
    report_notes += [
        person_text,
        "no statistic of the private training windows leaves the run: no training loss, no validation "
        "score, no early stopping or model selection on them; the last iterate (or its average) is kept",
        "sampling: Poisson, each training window joins each step independently with probability q, as the "
        "accountants assume",
    ]
    return PrivacyReport(
        mode="gp",
        mechanism=GP_MECHANISM,
        unit=unit.describe("gp"),
        unit_name=unit.name,
        epsilon=epsilon,
        delta=delta,
        accountant=accountant,
        epsilons=epsilons,
        sample_rate=sample_rate,
        sampling="poisson",
        steps=int(steps),
        epochs=epochs,
        noise_multiplier=noise_multiplier,
        max_grad_norm=max_grad_norm,
        n=n,
        windows_per_unit=k,
        sensitivity_per_window=s * max_grad_norm,
        neighbouring=unit.neighbouring,
        counts_per_unit=unit.counts,
        person_level=person,
        unit_epsilons=unit_epsilons,
        notes=report_notes,
    )


def ip_report(
    *,
    mechanism: str,
    epsilon: float,
    delta: float,
    sensitivity: float,
    sigma: float,
    unit: PrivacyUnit,
    n: int,
    unit_epsilons: dict[str, float] | None = None,
    notes: list[str] | None = None,
) -> PrivacyReport:
    """The report of one input-perturbation release: independent integer noise on every
    count, calibrated to the norm (``sensitivity``) of everything one ``unit`` changes.
    ``n``: counts released; ``unit_epsilons``: the release's epsilon on each unit the ledger
    tracks (event, day, week, person), at the same delta."""
    laplace = mechanism.endswith("laplace")
    d = 0.0 if laplace else delta
    report_notes = list(notes or [])
    if laplace:
        report_notes.append("discrete Laplace mechanism: sigma is its scale b, P(x) ∝ exp(-|x|/b)")
    person, person_text = _person_level(unit, "ip", epsilon, d)
    report_notes.append(person_text)
    return PrivacyReport(
        mode="ip",
        mechanism=mechanism,
        unit=unit.describe("ip"),
        unit_name=unit.name,
        counts_per_unit=unit.counts,
        epsilon=epsilon,
        delta=d,
        sigma=sigma,
        sensitivity=sensitivity,
        n=n,
        person_level=person,
        unit_epsilons=[{"unit": u, "description": f"one {u}", "epsilon": e, "delta": d}
                       for u, e in (unit_epsilons or {}).items()],
        notes=report_notes,
    )
