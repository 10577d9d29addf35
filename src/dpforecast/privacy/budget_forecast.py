"""What the next private retraining would charge the data set's ledger, checked without writing.

Dagster's sensors, schedules and the ledger's asset check ask this before launching (or
after building the features of) a retraining; nothing here imports Dagster, reads counts or
writes to the ledger.

What a retraining charges (the rules of :mod:`dpforecast.stages.release` and
:mod:`dpforecast.training.private_plan`):

* ``privacy.mode: none``: nothing.
* ``ip``: nothing while the release in ``artifacts/release/`` has the terms the parameters ask
  for (a delivery extends it for free); otherwise a new release, charged
  :func:`~dpforecast.privacy.budget.release_mechanisms` at its scale. Training on the
  release is post-processing.
* ``gp``: one DP-SGD charge per trained architecture, every run
  (:func:`~dpforecast.privacy.budget.training_mechanisms`), sized by the number of training
  windows: read from the last feature summary (or windows file); without either, nothing is
  estimated and the forecast says so (the training still checks the ledger itself).

:func:`check_planned` composes every charge already on each budgeted unit with *all* the
planned ones (PLD at the budget's delta, as the ledger does) and raises
:class:`~dpforecast.privacy.ledger.BudgetExceededError` with a one-line message naming the
unit, the spend, the planned charge and the budget. :meth:`PrivacyLedger.check
<dpforecast.privacy.ledger.PrivacyLedger.check>` checks one charge; a retraining of four
architectures is four charges, and checking each alone against the current spend would let
their sum through.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from dpforecast.config import Params
from dpforecast.privacy.budget import (
    dp_sgd_schedule,
    open_ledger,
    release_mechanisms,
    training_mechanisms,
)
from dpforecast.privacy.charges import Mechanism
from dpforecast.privacy.ledger import BudgetExceededError, PrivacyLedger
from dpforecast.runtime.io import read_json
from dpforecast.runtime.paths import Paths

__all__ = ["BudgetForecast", "PlannedCharge", "check_planned", "forecast", "planned_charges", "training_size"]


@dataclass(frozen=True)
class PlannedCharge:
    """One charge the retraining would make: what it is, and its mechanism on every tracked unit."""

    label: str
    mechanisms: dict[str, Mechanism]


@dataclass(frozen=True)
class BudgetForecast:
    """The retraining's planned charges and the ledger's answer.

    ``estimated``: the charges are known (a non-private or free retraining is estimated, with
    no charge); ``note`` says why they are not, or why they are free; ``refusal``: the ledger's
    one-line refusal, or None when every budgeted unit has room."""

    mode: str
    charges: tuple[PlannedCharge, ...] = ()
    estimated: bool = True
    note: str | None = None
    refusal: str | None = None

    @property
    def private(self) -> bool:
        return self.mode != "none"

    @property
    def refused(self) -> bool:
        return self.refusal is not None

    def summary(self) -> str:
        """One line: what was planned and how the ledger answered."""
        if self.refusal:
            return self.refusal
        if not self.estimated:
            return f"not estimated: {self.note}"
        if not self.charges:
            return self.note or "nothing to charge"
        return f"within budget: {'; '.join(c.label for c in self.charges)}"


def training_size(paths: Paths) -> int | None:
    """The training windows of the last features build: its summary's ``windows.train``, else
    the ``train`` rows of its windows file; None when neither exists (or holds none)."""
    if paths.feature_summary.is_file():
        n = read_json(paths.feature_summary).get("windows", {}).get("train")
        if isinstance(n, int) and n > 0:
            return n
    if paths.windows.is_file():
        import polars as pl

        n = pl.scan_parquet(paths.windows).filter(pl.col("split") == "train").select(pl.len()).collect().item()
        return int(n) or None
    return None


def _dp_sgd_charge(params: Params, arch: str, n_train: int) -> PlannedCharge:
    """The charge :func:`~dpforecast.training.private_plan.plan_privacy` makes for ``arch`` on
    ``n_train`` windows (its sampling rate, steps and noise multiplier)."""
    _, batch, _ = params.hyper(arch)
    sample_rate, steps, sigma = dp_sgd_schedule(params, batch, n_train)
    return PlannedCharge(f"DP-SGD training of {arch}",
                         training_mechanisms(params, sigma, sample_rate, steps, n_train))


def planned_charges(paths: Paths, params: Params,
                    architectures: Sequence[str] | None = None) -> tuple[tuple[PlannedCharge, ...], str | None]:
    """``(charges, note)``: what retraining with ``params`` in ``paths`` would charge, training
    ``architectures`` (default: those ``train.model`` selects). ``charges`` is None when it
    cannot be estimated, with ``note`` saying why; ``note`` also says why a retraining is free."""
    mode = params.privacy.mode
    if mode == "none":
        return (), "privacy.mode none: a non-private retraining charges nothing"
    if mode == "ip":
        from dpforecast.privacy.continual_release import current_release, release_terms

        terms = release_terms(params)
        info = current_release(paths)
        if info is not None and info.terms == terms:
            return (), (f"the {terms.mechanism} release {info.release_id} at epsilon {terms.epsilon:g} per "
                        f"{terms.unit} continues: a delivery charges nothing")
        label = (f"a new {terms.mechanism} continual release at epsilon {terms.epsilon:g} per {terms.unit}"
                 + ("" if info is None else f" (release {info.release_id} has other terms)"))
        return (PlannedCharge(label, release_mechanisms(params, terms.scale())),), None
    n_train = training_size(paths)
    if n_train is None:
        return None, (f"no feature summary ({paths.feature_summary}) or windows file ({paths.windows}) yet: "
                      f"the DP-SGD charge is not estimated (each training checks the ledger itself)")
    archs = list(architectures) if architectures is not None else params.models()
    return tuple(_dp_sgd_charge(params, arch, n_train) for arch in archs), None


def _labels(charges: Sequence[PlannedCharge]) -> str:
    if len(charges) == 1:
        return f"the planned charge ({charges[0].label})"
    return f"the {len(charges)} planned charges ({'; '.join(c.label for c in charges)})"


def check_planned(ledger: PrivacyLedger, charges: Sequence[PlannedCharge]) -> None:
    """Raise :class:`BudgetExceededError` if the ledger's charges and *all* of ``charges``,
    composed per budgeted unit, exceed its budget; reads only. The message is one line: the
    unit, the spend so far, the planned charges' own composed epsilon, the total and the budget."""
    if not charges:
        return
    message = ledger.refusal(ledger.charges(), [c.mechanisms for c in charges], _labels(charges))
    if message:
        raise BudgetExceededError(message)


def forecast(paths: Paths, params: Params, architectures: Sequence[str] | None = None,
             ledger: PrivacyLedger | None = None) -> BudgetForecast:
    """The retraining's planned charges checked against the data set's ledger (opened from
    ``params`` unless given), without writing to it."""
    mode = params.privacy.mode
    charges, note = planned_charges(paths, params, architectures)
    if charges is None:
        return BudgetForecast(mode, estimated=False, note=note)
    if not charges:
        return BudgetForecast(mode, note=note)
    try:
        check_planned(ledger or open_ledger(params), charges)
    except BudgetExceededError as exc:
        return BudgetForecast(mode, charges, note=note, refusal=str(exc))
    return BudgetForecast(mode, charges, note=note)

