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

from dpforecast.privacy import accounting, unit_accounting

GP_MECHANISM = "dp-sgd (Opacus, Poisson sampling)"
ACCOUNTANT_LABELS = {
    "rdp": "RDP",
    "prv": "PRV",
    "tf_privacy_2020": "TF Privacy 2020 (old RDP conversion, orders <= 512)",
    "opacus_default_orders": "Opacus RDP, default orders <= 63",
}


def gp_unit(window: int = 6) -> str:
    """The unit of DP-SGD's guarantee: one training record."""
    return f"one training window ({window} input intervals and the target interval)"


GP_UNIT = gp_unit(6)

#: The data-level units of :func:`gp_report`'s ``unit_epsilons`` (the day's text is built there).
EVENT_UNIT = "one person's presence in one zone during one interval (every count of that interval the person is in)"
#: Past this, a unit's epsilon protects nothing: it is stated as such, without the PLD (which
#: costs seconds to minutes at low noise).
MEANINGLESS_EPSILON = 100.0
UNIT_SENSITIVITY = {
    "event": "2C per window it touches (replace one count)",
    "day": "2C per window it touches (replace the unit's counts)",
}


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
    sensitivity: float | None = None
    n: int | None = None  # records: training windows (GP), counts released (IP)
    naive_person_bound: float | None = None
    naive_person_units: int | None = None  # how many units the person bound assumes
    naive_person_delta: float | None = None
    # GP: epsilons of data-level units (event, day), each a dict (see :func:`gp_report`)
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
                f"for {GP_MECHANISM} over {self.steps:,} steps."
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
            out.append(
                f"Each released count is (ε = {_fmt_eps(self.epsilon)}, {delta})-differentially private "
                f"per {self.unit}, by the {self.mechanism} mechanism (noise scale {self.sigma:.4g}, "
                f"sensitivity {self.sensitivity:g})."
                if self.sigma is not None and self.sensitivity is not None
                else f"Each released count is (ε = {_fmt_eps(self.epsilon)}, {delta})-differentially "
                f"private per {self.unit}, by the {self.mechanism} mechanism."
            )
        if self.naive_person_bound is not None and self.naive_person_units is not None:
            k = self.naive_person_units
            pd = self.naive_person_delta
            if self.mode == "gp":
                tail = (
                    "δ ≥ 1: no guarantee at the person level (group privacy over one data set)"
                    if pd is not None and pd >= 1.0
                    else f"δ = {_fmt_delta(pd)} (group privacy: k·e^((k-1)ε)·δ)"
                )
                out.append(
                    f"A person present in all {k:,} training windows: ε ≤ {_fmt_eps(self.naive_person_bound, 4)} "
                    f"by group privacy, with {tail}."
                )
            else:
                out.append(
                    f"A person counted in {k:,} of the released counts: ε ≤ {_fmt_eps(self.naive_person_bound, 4)}, "
                    f"δ ≤ {_fmt_delta(pd)} by basic composition (one unit per count)."
                )
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
        if self.naive_person_bound is not None:
            rows.append(
                (
                    "naive person bound",
                    f"{_fmt_eps(self.naive_person_bound, 4)} over {self.naive_person_units:,} "
                    f"{'training windows' if self.mode == 'gp' else 'counts'} "
                    f"(δ {'≥ 1, vacuous' if (self.naive_person_delta or 0) >= 1 else _fmt_delta(self.naive_person_delta)})",
                )
            )
        for entry in self.unit_epsilons:
            rows.append((f"ε per {entry['description']}",
                         f"{_unit_eps_text(entry)}, {entry['windows_per_unit']} windows, {entry['sensitivity']}"))
        lines += [f"| {k} | {v} |" for k, v in rows]
        if self.notes:
            lines += ["", "Notes:", ""] + [f"- {n}" for n in self.notes]
        return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------- builders


def gp_report(
    *,
    noise_multiplier: float,
    sample_rate: float,
    steps: int,
    delta: float,
    max_grad_norm: float,
    n: int,
    epochs: float | None = None,
    accountant: str = "rdp",
    compare: tuple[str, ...] = ("rdp", "prv"),
    study_comparison: bool = False,
    person_units: int | None = None,
    window: int = 6,
    horizon: int = 1,
    intervals_per_day: int | None = None,
    prv_eps_error: float | None = None,
    notes: list[str] | None = None,
) -> PrivacyReport:
    """The report of one DP-SGD training (computes the epsilons).

    ``accountant`` gives the reported epsilon (its failure raises); the others in
    ``compare`` are added to ``epsilons`` (a failure becomes a note). ``study_comparison``
    adds ``tf_privacy_2020`` and ``opacus_default_orders``, the figures the study and
    Opacus's defaults would print. ``person_units`` (default ``n``): windows a person may
    appear in, for the naive person bound (group privacy; its delta is stated).

    The headline epsilon is per training window, the study's unit, which protects no real
    thing. ``unit_epsilons`` adds the data-level units, accounted by
    :mod:`~dpforecast.privacy.unit_accounting`: the event (one interval of one person,
    ``window + horizon`` windows) and, with ``intervals_per_day``, the day (that many
    consecutive intervals). Each entry: ``unit``, ``description``, ``intervals``,
    ``windows_per_unit``, ``epsilon`` (PLD), ``epsilon_rdp_upper``, ``delta``, ``sensitivity``.
    R1 (the commune) contains R2-R6, so an event is two counts; both are in the same windows
    and a window's clipped gradient moves by at most 2C whatever changes in it, so neither
    the window count nor the sensitivity changes.
    """
    if accountant not in accounting.ACCOUNTANTS:
        raise ValueError(f"privacy.gp.accountant: must be one of {accounting.ACCOUNTANTS}, got {accountant!r}")
    report_notes = list(notes or [])

    def compute(name: str) -> float:
        if name == "prv":
            return accounting.prv_epsilon(noise_multiplier, sample_rate, steps, delta, eps_error=prv_eps_error)
        return accounting.dp_sgd_epsilon(noise_multiplier, sample_rate, steps, delta, name)

    epsilons: dict[str, float] = {accountant: compute(accountant)}
    for name in compare:
        if name in epsilons:
            continue
        try:
            epsilons[name] = compute(name)
        except accounting.AccountingError as exc:
            report_notes.append(f"{name} accountant not available: {exc}")
    if study_comparison:
        epsilons["tf_privacy_2020"] = accounting.tf_privacy_2020_epsilon(noise_multiplier, sample_rate, steps, delta)
        epsilons["opacus_default_orders"] = accounting.opacus_default_orders_epsilon(
            noise_multiplier, sample_rate, steps, delta
        )
        report_notes.append(
            "tf_privacy_2020 and opacus_default_orders are shown to compare with the study and with "
            "Opacus's defaults: both are stuck at the floor of their largest RDP order, not set by the noise"
        )
    epsilon = epsilons[accountant]
    if "prv" in epsilons:
        err = prv_eps_error if prv_eps_error is not None else accounting.default_prv_eps_error(
            epsilons.get("rdp", epsilon)
        )
        report_notes.append(f"PRV epsilon is an upper bound: estimate + eps_error ({err:.3g})")
    unit_epsilons: list[dict[str, Any]] = []
    if noise_multiplier > 0 and sample_rate > 0 and steps >= 1:
        units_to_report = [("event", EVENT_UNIT, 1)]
        if intervals_per_day is not None:
            w = int(intervals_per_day)
            units_to_report.append(("day", f"any {w} consecutive intervals of one person", w))
        bound_so_far = 0.0
        for name, description, intervals in units_to_report:
            k = unit_accounting.windows_per_unit(window, horizon, intervals)
            entry: dict[str, Any] = {"unit": name, "description": description, "intervals": intervals,
                                     "windows_per_unit": k, "epsilon": None, "epsilon_rdp_upper": None,
                                     "delta": delta, "sensitivity": UNIT_SENSITIVITY[name]}
            unit_epsilons.append(entry)
            if bound_so_far > MEANINGLESS_EPSILON:
                continue  # a larger unit than one already past it: no number worth the time
            entry["epsilon_rdp_upper"] = bound_so_far = unit_accounting.unit_epsilon_rdp(
                noise_multiplier, sample_rate, steps, delta, k)
            if bound_so_far <= MEANINGLESS_EPSILON:
                entry["epsilon"] = unit_accounting.unit_epsilon(
                    noise_multiplier, sample_rate, steps, delta, k,
                    value_discretization_interval=unit_accounting.default_discretization(bound_so_far, steps))
        levels = "; ".join(f"per {e['description']} ({e['windows_per_unit']} windows) {_unit_eps_text(e)}"
                           for e in unit_epsilons)
        report_notes.append(
            f"the per-window ε ({_fmt_eps(epsilon)}) is the study's unit, not a data-level guarantee: one count "
            f"is in several overlapping training windows. Data level: {levels}"
        )
    units = n if person_units is None else int(person_units)
    report_notes += [
        "DP-SGD protects the training windows only; choices made on validation data (early stopping, "
        "model selection) and hyper-parameter tuning are not accounted",
        "the accounting assumes Poisson sampling of windows, as Opacus's DPDataLoader does",
    ]
    return PrivacyReport(
        mode="gp",
        mechanism=GP_MECHANISM,
        unit=gp_unit(window),
        epsilon=epsilon,
        delta=delta,
        accountant=accountant,
        epsilons=epsilons,
        sample_rate=sample_rate,
        steps=int(steps),
        epochs=epochs,
        noise_multiplier=noise_multiplier,
        max_grad_norm=max_grad_norm,
        n=n,
        naive_person_bound=accounting.naive_person_bound(epsilon, units),
        naive_person_units=units,
        naive_person_delta=accounting.group_privacy_delta(epsilon, delta, units),
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
    unit: str,
    n: int,
    person_units: int | None = None,
    notes: list[str] | None = None,
) -> PrivacyReport:
    """The report of one input-perturbation release (every count has its own noise).

    ``n``: counts released. ``person_units``: counts one person may be in (e.g. the number
    of intervals of the series, one zone each), for the basic-composition person bound.
    """
    d = 0.0 if mechanism == "laplace" else delta
    report_notes = list(notes or [])
    if mechanism == "laplace":
        report_notes.append("Laplace mechanism: sigma is the scale b (the noise's standard deviation is √2·b)")
    bound = pdelta = None
    if person_units is not None:
        bound = accounting.naive_person_bound(epsilon, person_units)
        pdelta = min(1.0, person_units * d)
    return PrivacyReport(
        mode="ip",
        mechanism=mechanism,
        unit=unit,
        epsilon=epsilon,
        delta=d,
        sigma=sigma,
        sensitivity=sensitivity,
        n=n,
        naive_person_bound=bound,
        naive_person_units=person_units,
        naive_person_delta=pdelta,
        notes=report_notes,
    )
