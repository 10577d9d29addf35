"""What a run guarantees, in one record: JSON for machines, Markdown and one line for people.

Every guarantee sentence states its unit (what one protected record is) and its delta.
The JSON is strict (no ``Infinity``/``NaN``): a non-private run has ``"private": false``
and ``"epsilon": null``; infinite values anywhere become ``null``.

Build reports with :func:`gp_report` (DP-SGD, computes the epsilons) or :func:`ip_report`
(input perturbation), or :meth:`PrivacyReport.non_private`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from typing import Any

from dpforecast.config import Accountant
from dpforecast.privacy.accounting import (
    AccountingError,
    default_prv_eps_error,
    opacus_default_orders_epsilon,
    tf_privacy_2020_epsilon,
)
from dpforecast.privacy.dp_sgd_accountant import DPSGDAccountant
from dpforecast.privacy.unit import PrivacyUnit

GP_MECHANISM = "dp-sgd (Opacus, Poisson sampling)"
ACCOUNTANT_LABELS = {
    "pld": "PLD (dp_accounting)",
    "rdp": "RDP",
    "prv": "PRV",
    "tf_privacy_2020": "TF Privacy 2020 (old RDP conversion, orders <= 512)",
    "opacus_default_orders": "Opacus RDP, default orders <= 63",
}


#: Past this, a unit's epsilon protects nothing: it is stated as such, without the PLD (which
#: costs seconds to minutes at low noise).
MEANINGLESS_EPSILON = 100.0
def _unit_eps_text(entry: dict[str, Any]) -> str:
    """One data-level unit's epsilon, or why there is no number worth printing."""
    if entry["epsilon"] is not None:
        return (f"ε = {_fmt_eps(entry['epsilon'])} (δ = {_fmt_delta(entry['delta'])}, PLD; "
                f"RDP upper bound {_fmt_eps(entry['epsilon_rdp_upper'])})")
    bound = entry["epsilon_rdp_upper"]
    shown = f"RDP upper bound {_fmt_eps(bound)}" if bound is not None else "a smaller unit's bound already is"
    return f"ε above {MEANINGLESS_EPSILON:g} ({shown}): no meaningful protection, PLD not computed"


def _fmt_eps(value: float | None, digits: int = 3) -> str:
    if value is None or not math.isfinite(value):
        return "not private"
    return f"{value:.{digits}g}"


def _fmt_delta(value: float | None) -> str:
    if value is None:
        return "n/a"
    text = f"{value:.3g}"
    if "e" in text:
        mantissa, exponent = text.split("e")
        text = f"{mantissa}e{int(exponent)}"
    return text


def _finite_or_none(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


@dataclass
class PrivacyReport:
    """The privacy guarantee of one release (an IP series) or one trained model (GP)."""

    mode: str  # "none" | "ip" | "gp"
    mechanism: str | None = None
    unit: str | None = None
    epsilon: float = math.inf
    delta: float | None = None
    accountant: str | None = None  # the one that gave ``epsilon`` (GP)
    epsilons: dict[str, float] = field(default_factory=dict)  # accountant -> epsilon, same delta
    sample_rate: float | None = None
    steps: int | None = None
    epochs: float | None = None
    noise_multiplier: float | None = None
    max_grad_norm: float | None = None
    sigma: float | None = None  # IP: the noise's scale (Gaussian sigma, Laplace b)
    sensitivity: float | None = None  # IP: the unit's L2 (Gaussian) or L1 (Laplace) norm
    n: int | None = None  # records: training windows (GP), counts released (IP)
    unit_name: str | None = None  # event, day, w-event or window (dpforecast.privacy.unit)
    counts_per_unit: int | None = None  # counts one unit changes
    sampling: str | None = None  # GP: how windows join a step
    windows_per_unit: int | None = None  # GP: training windows one unit touches
    sensitivity_per_window: float | None = None  # GP: clipped-gradient change per touched window
    neighbouring: str | None = None
    # Person level: composed from the data set's declared bound, or why it is not protected.
    person_level: dict[str, Any] = field(default_factory=dict)
    # GP: epsilons of other units (window, event, day) for comparison, each a dict
    unit_epsilons: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    # ------------------------------------------------------------------ basics

    @property
    def private(self) -> bool:
        return self.mode != "none" and self.epsilon is not None and math.isfinite(self.epsilon)

    @classmethod
    def non_private(cls, notes: list[str] | None = None) -> PrivacyReport:
        return cls(
            mode="none",
            mechanism="none",
            epsilon=math.inf,
            notes=list(notes or ["privacy.mode = none: trained on the raw data, no differential privacy guarantee"]),
        )

    def _label(self) -> str:
        if self.mode == "gp":
            return ACCOUNTANT_LABELS.get(self.accountant or "", self.accountant or "?")
        return self.mechanism or "?"

    def summary(self) -> str:
        """One line, e.g. ``ε = 0.0491 (δ = 1e-7, RDP) per one training window (...)``."""
        if not self.private:
            return "not private (no differential privacy guarantee)"
        return f"ε = {_fmt_eps(self.epsilon)} (δ = {_fmt_delta(self.delta)}, {self._label()}) per {self.unit}"

    # ------------------------------------------------------------------ JSON

    def to_json(self) -> dict[str, Any]:
        """A strict-JSON dict (``json.dumps(..., allow_nan=False)`` accepts it)."""
        out: dict[str, Any] = {"private": self.private}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "epsilons":
                value = {k: _finite_or_none(float(v)) for k, v in value.items()}
            elif f.name == "notes":
                value = list(value)
            elif f.name == "unit_epsilons":
                value = [{k: _finite_or_none(v) for k, v in entry.items()} for entry in value]
            else:
                value = _finite_or_none(value)
            out[f.name] = value
        out["summary"] = self.summary()
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PrivacyReport:
        known = {f.name for f in fields(cls)}
        kwargs = {k: v for k, v in data.items() if k in known}
        if kwargs.get("epsilon") is None:
            if data.get("private"):
                raise ValueError("privacy report: 'private' is true but 'epsilon' is null")
            kwargs["epsilon"] = math.inf
        kwargs["epsilons"] = {
            k: (math.inf if v is None else float(v)) for k, v in (kwargs.get("epsilons") or {}).items()
        }
        kwargs["notes"] = list(kwargs.get("notes") or [])
        kwargs["unit_epsilons"] = [dict(entry) for entry in kwargs.get("unit_epsilons") or []]
        return cls(**kwargs)

    # ------------------------------------------------------------------ Markdown

    def guarantee_sentences(self) -> list[str]:
        """The guarantees, each with its unit and delta."""
        if not self.private:
            return ["Not private: no differential privacy guarantee (privacy.mode = none)."]
        out = []
        if self.mode == "gp":
            out.append(
                f"The trained model is (ε = {_fmt_eps(self.epsilon)}, δ = {_fmt_delta(self.delta)})-"
                f"differentially private per {self.unit}, by the {self._label()} accountant, "
                f"for {GP_MECHANISM} over {self.steps:,} steps"
                + (f" ({self.windows_per_unit} training windows per unit, {self.neighbouring})."
                   if self.windows_per_unit is not None else ".")
            )
            for name, eps in self.epsilons.items():
                if name == self.accountant:
                    continue
                out.append(
                    f"For comparison ({ACCOUNTANT_LABELS.get(name, name)}): "
                    f"ε = {_fmt_eps(eps)} at δ = {_fmt_delta(self.delta)} per {self.unit}."
                )
        else:
            delta = "δ = 0 (pure ε-DP)" if not self.delta else f"δ = {_fmt_delta(self.delta)}"
            touched = (f", the norm of the {self.counts_per_unit} counts one unit changes"
                       if self.counts_per_unit and self.counts_per_unit > 1 else "")
            out.append(
                f"The released series is (ε = {_fmt_eps(self.epsilon)}, {delta})-differentially private "
                f"per {self.unit}, by the {self.mechanism} mechanism (noise scale {self.sigma:.4g}, "
                f"sensitivity {self.sensitivity:.4g}{touched})."
                if self.sigma is not None and self.sensitivity is not None
                else f"The released series is (ε = {_fmt_eps(self.epsilon)}, {delta})-differentially "
                f"private per {self.unit}, by the {self.mechanism} mechanism."
            )
        if self.unit_name == "window":
            out.append("This is the reference study's unit, not a data-level guarantee: it protects no real "
                       "person or event.")
        person = self.person_level
        if person.get("protected"):
            out.append(f"Per person (at most {person['intervals_per_person']:,} intervals, the data set's bound): "
                       f"ε ≤ {_fmt_eps(person['epsilon'])}, δ ≤ {_fmt_delta(person['delta'])}.")
        elif person:
            out.append(f"Person level: not protected. {person['reason'][0].upper()}{person['reason'][1:]}.")
        return out

    def to_markdown(self) -> str:
        lines = ["## Privacy guarantee", "", f"**{self.summary()}**", ""]
        lines += [f"- {s}" for s in self.guarantee_sentences()]
        lines += ["", "| parameter | value |", "| --- | --- |"]
        rows: list[tuple[str, str]] = [("mode", self.mode)]
        if self.mechanism is not None:
            rows.append(("mechanism", self.mechanism))
        if self.unit is not None:
            rows.append(("unit (one protected record)", self.unit))
        rows.append(("ε", _fmt_eps(self.epsilon, 4)))
        if self.delta is not None:
            rows.append(("δ", _fmt_delta(self.delta)))
        if self.accountant is not None:
            rows.append(("accountant", self._label()))
        for name, eps in self.epsilons.items():
            rows.append((f"ε, {ACCOUNTANT_LABELS.get(name, name)}", _fmt_eps(eps, 4)))
        for name, fmt in (
            ("sample_rate", "{:.6g}"),
            ("steps", "{:,}"),
            ("epochs", "{:g}"),
            ("noise_multiplier", "{:g}"),
            ("max_grad_norm", "{:g}"),
            ("sigma", "{:.6g}"),
            ("sensitivity", "{:g}"),
            ("n", "{:,}"),
        ):
            value = getattr(self, name)
            if value is not None:
                rows.append((name, fmt.format(value)))
        for name in ("unit_name", "counts_per_unit", "sampling", "windows_per_unit", "sensitivity_per_window",
                     "neighbouring"):
            value = getattr(self, name)
            if value is not None:
                rows.append((name, f"{value:g}" if isinstance(value, float) else f"{value}"))
        if self.person_level:
            rows.append(("person level", f"ε ≤ {_fmt_eps(self.person_level['epsilon'])}"
                         if self.person_level.get("protected") else "not protected"))
        for entry in self.unit_epsilons:
            if "windows_per_unit" in entry:  # DP-SGD: the unit's windows and their change
                rows.append((f"ε per {entry['description']}",
                             f"{_unit_eps_text(entry)}, {entry['windows_per_unit']} windows, {entry['sensitivity']}"))
            else:
                rows.append((f"ε per {entry['unit']} (ledger unit)",
                             f"{_fmt_eps(entry['epsilon'], 4)} (δ = {_fmt_delta(entry['delta'])})"))
        lines += [f"| {k} | {v} |" for k, v in rows]
        if self.notes:
            lines += ["", "Notes:", ""] + [f"- {n}" for n in self.notes]
        return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------- builders


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
        text = (f"person level (at most {m:,} intervals per person, the spec's bound): ε ≤ {_fmt_eps(eps)} "
                f"(δ = {_fmt_delta(delta)}, RDP upper bound over the {k:,} windows they touch)")
        return {"protected": True, "intervals_per_person": m, "windows": k, "epsilon": eps, "delta": delta}, text
    eps, d = units * epsilon, min(1.0, units * delta)
    if d >= 1.0:
        why = f"person level: {units:,} units compose to δ ≥ 1, which protects nothing; not protected"
        return {"protected": False, "reason": why}, why
    text = (f"person level (at most {m:,} intervals per person, the spec's bound): ε ≤ {_fmt_eps(eps)}, "
            f"δ ≤ {_fmt_delta(d)} (basic composition over {units:,} units)")
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
    """The report of one DP-SGD training on ``unit`` (computes the epsilons).

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
