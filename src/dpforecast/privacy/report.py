"""What a run guarantees, in one record: JSON for machines, Markdown and one line for people.

Every guarantee sentence states its unit (what one protected record is) and its delta.
The JSON is strict (no ``Infinity``/``NaN``): a non-private run has ``"private": false``
and ``"epsilon": null``; infinite values anywhere become ``null``.

A report holds numbers, it computes none: :mod:`~dpforecast.privacy.guarantees` builds
them from the accountants (``gp_report``, ``ip_report``); :meth:`PrivacyReport.non_private`
needs no accountant.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from typing import Any

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
        return (f"ε = {format_epsilon(entry['epsilon'])} (δ = {format_delta(entry['delta'])}, PLD; "
                f"RDP upper bound {format_epsilon(entry['epsilon_rdp_upper'])})")
    bound = entry["epsilon_rdp_upper"]
    shown = f"RDP upper bound {format_epsilon(bound)}" if bound is not None else "a smaller unit's bound already is"
    return f"ε above {MEANINGLESS_EPSILON:g} ({shown}): no meaningful protection, PLD not computed"


def format_epsilon(value: float | None, digits: int = 3) -> str:
    """An epsilon as every guarantee prints it: ``digits`` significant digits, or "not private"."""
    if value is None or not math.isfinite(value):
        return "not private"
    return f"{value:.{digits}g}"


def format_delta(value: float | None) -> str:
    """A delta as every guarantee prints it: 1e-7, not 1e-07."""
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
        return f"ε = {format_epsilon(self.epsilon)} (δ = {format_delta(self.delta)}, {self._label()}) per {self.unit}"

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
                f"The trained model is (ε = {format_epsilon(self.epsilon)}, δ = {format_delta(self.delta)})-"
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
                    f"ε = {format_epsilon(eps)} at δ = {format_delta(self.delta)} per {self.unit}."
                )
        else:
            delta = "δ = 0 (pure ε-DP)" if not self.delta else f"δ = {format_delta(self.delta)}"
            touched = (f", the norm of the {self.counts_per_unit} counts one unit changes"
                       if self.counts_per_unit and self.counts_per_unit > 1 else "")
            out.append(
                f"The released series is (ε = {format_epsilon(self.epsilon)}, {delta})-differentially private "
                f"per {self.unit}, by the {self.mechanism} mechanism (noise scale {self.sigma:.4g}, "
                f"sensitivity {self.sensitivity:.4g}{touched})."
                if self.sigma is not None and self.sensitivity is not None
                else f"The released series is (ε = {format_epsilon(self.epsilon)}, {delta})-differentially "
                f"private per {self.unit}, by the {self.mechanism} mechanism."
            )
        if self.unit_name == "window":
            out.append("This is the reference study's unit, not a data-level guarantee: it protects no real "
                       "person or event.")
        person = self.person_level
        if person.get("protected"):
            out.append(f"Per person (at most {person['intervals_per_person']:,} intervals, the data set's bound): "
                       f"ε ≤ {format_epsilon(person['epsilon'])}, δ ≤ {format_delta(person['delta'])}.")
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
        rows.append(("ε", format_epsilon(self.epsilon, 4)))
        if self.delta is not None:
            rows.append(("δ", format_delta(self.delta)))
        if self.accountant is not None:
            rows.append(("accountant", self._label()))
        for name, eps in self.epsilons.items():
            rows.append((f"ε, {ACCOUNTANT_LABELS.get(name, name)}", format_epsilon(eps, 4)))
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
            rows.append(("person level", f"ε ≤ {format_epsilon(self.person_level['epsilon'])}"
                         if self.person_level.get("protected") else "not protected"))
        for entry in self.unit_epsilons:
            if "windows_per_unit" in entry:  # DP-SGD: the unit's windows and their change
                rows.append((f"ε per {entry['description']}",
                             f"{_unit_eps_text(entry)}, {entry['windows_per_unit']} windows, {entry['sensitivity']}"))
            else:
                rows.append((f"ε per {entry['unit']} (ledger unit)",
                             f"{format_epsilon(entry['epsilon'], 4)} (δ = {format_delta(entry['delta'])})"))
        lines += [f"| {k} | {v} |" for k, v in rows]
        if self.notes:
            lines += ["", "Notes:", ""] + [f"- {n}" for n in self.notes]
        return "\n".join(lines) + "\n"
