"""The data set's privacy budget in Dagster: its ledger as an asset check, and the estimate the
sensor and the schedule make before requesting a private retraining.

- ``privacy_budget_has_room``, on ``features`` (one per data set's graph): each tracked
  unit's spend (PLD epsilon, RDP bound, basic sum), budget and remaining as metadata, one
  entry per unit beside the ledger's location. It passes while every budgeted unit has room
  for the charges the next retraining would make (:mod:`dpforecast.privacy.budget_forecast`,
  sized by the features just built), and fails with severity WARN otherwise, naming the
  unit, spend, charge and budget. Not blocking: each model asset checks the ledger itself
  before it trains, and refuses what the budget cannot pay.
- :func:`retraining_request`: the sensor's and the schedule's decision. Within budget (or
  non-private, or not estimable yet): the whole job. Over budget: the run keeps the
  assets that charge nothing (deliveries accepted, ingested and validated, and in ``gp``
  mode the features) and leaves out the charging assets and everything after them, with
  the refusal in the run's tags and the tick's log; with nothing non-private to run, a
  :class:`dagster.SkipReason` whose text is the refusal.

Dagster trains the four architectures whatever ``train.model`` selects (``training.py``), so
a ``gp`` estimate counts a DP-SGD charge for each of the four. Nothing here writes to the ledger.
"""

import math

import dagster as dg

from dagster_project.defs.resources import ProjectResource
from dagster_project.defs.scope import PROJECT, Scope
from dpforecast.config import ARCHITECTURES, Params
from dpforecast.privacy.budget_forecast import BudgetForecast, forecast
from dpforecast.runtime.paths import Paths

CHECK_NAME = "privacy_budget_has_room"
#: Tags of a retraining request: what the ledger said, and why the private part was left out.
BUDGET_TAG = "dpforecast/privacy_budget"
SKIPPED_TAG = "dpforecast/private_retraining"
REFUSAL_TAG = "dpforecast/privacy_refusal"

# What each mode's retraining charges (and leaves out when refused): the asset that charges
# the ledger and every asset after it. What comes before charges nothing.
_FREE = {"gp": ("incoming_data", "raw_mobility", "validated_series", "released_series", "features"),
         "ip": ("incoming_data", "raw_mobility", "validated_series")}


def budget_check_key(scope: Scope) -> dg.AssetCheckKey:
    return dg.AssetCheckKey(scope.key("features"), CHECK_NAME)


def non_private_part(scope: Scope, mode: str) -> tuple[list[dg.AssetKey], list[dg.AssetCheckKey]]:
    """The assets and checks of the data set's job that charge nothing in ``mode`` (``gp`` or ``ip``)."""
    assets = [scope.key(name) for name in _FREE[mode]]
    checks = [dg.AssetCheckKey(scope.key("raw_mobility"), "raw_mobility_is_valid")]
    if scope.key("features") in assets:
        checks.append(budget_check_key(scope))
    return assets, checks


def estimate(paths: Paths, params: Params) -> BudgetForecast:
    """:func:`~dpforecast.privacy.budget_forecast.forecast` for the four model assets. A ledger
    or configuration that cannot be read, or an accountant that fails, makes no estimate (the
    note says why): the run's own checks refuse what they must, and deliveries still flow."""
    try:
        return forecast(paths, params, ARCHITECTURES)
    except Exception as exc:  # noqa: BLE001 - an estimate never stops the sensor; the note shows why
        return BudgetForecast(params.privacy.mode, estimated=False,
                              note=f"{type(exc).__name__}: {' '.join(str(exc).split())}")


def retraining_request(scope: Scope, paths: Paths, params: Params, log, *, run_key: str | None,
                       tags: dict[str, str], deliveries: bool) -> dg.RunRequest | dg.SkipReason:
    """The run a sensor or schedule requests for a retraining with ``params``, checked against
    the ledger without writing; ``deliveries``: files wait in ``files.incoming`` (a run of the
    non-private part is then worth launching when the private part is refused)."""
    planned = estimate(paths, params)
    if not planned.refused:
        log.info(f"privacy budget of {params.data_set.name}: {planned.summary()}")
        return dg.RunRequest(run_key=run_key, tags={**tags, BUDGET_TAG: planned.summary()})
    refusal = planned.refusal
    if not deliveries:
        log.warning(f"private retraining skipped: {refusal}")
        return dg.SkipReason(refusal)
    assets, checks = non_private_part(scope, planned.mode)
    log.warning(f"private retraining skipped, running {', '.join(a.to_user_string() for a in assets)} only: {refusal}")
    return dg.RunRequest(run_key=run_key, asset_selection=assets, asset_check_keys=checks,
                         tags={**tags, SKIPPED_TAG: "skipped: over budget", REFUSAL_TAG: refusal})


def _eps(value: float) -> float | str:
    return "vacuous" if math.isinf(value) else round(float(value), 6)


def unit_metadata(report) -> dict[str, dg.MetadataValue]:
    """One entry per tracked unit (spend by PLD, RDP bound, basic sum, delta, budget, remaining,
    charges, and why a vacuous unit is) and the ledger's location."""
    meta = {"ledger": dg.MetadataValue.text(report.location)}
    for u in report.units:
        s = u.spend
        entry = {"epsilon_pld": _eps(s.epsilon), "epsilon_rdp": _eps(s.epsilon_rdp),
                 "epsilon_basic": _eps(s.epsilon_basic), "delta": s.delta, "budget": u.budget,
                 "remaining": None if u.remaining is None else _eps(u.remaining), "charges": s.n}
        if s.vacuous_reason:
            entry["vacuous_reason"] = s.vacuous_reason
        meta[f"unit_{u.unit}"] = dg.MetadataValue.json(entry)
    return meta


def budget_check(scope: Scope) -> dg.AssetChecksDefinition:
    @dg.asset_check(asset=scope.key("features"), name=CHECK_NAME, blocking=False)
    def privacy_budget_has_room(context: dg.AssetCheckExecutionContext, project: ProjectResource) -> dg.AssetCheckResult:
        """Every budgeted unit of the data set's privacy ledger has room for the charges the next
        retraining would make (DP-SGD: one per model asset; input perturbation: a new release
        only). Spend, budget and remaining per unit as metadata; WARN, not blocking, when not."""
        from dpforecast.privacy.budget import open_ledger

        paths, params = project.load(scope.dataset)
        ledger = open_ledger(params)
        planned = estimate(paths, params)
        context.log.info(f"privacy budget of {params.data_set.name}: {planned.summary()}")
        return dg.AssetCheckResult(
            passed=not planned.refused,
            severity=dg.AssetCheckSeverity.WARN,
            description=planned.summary(),
            metadata={
                **unit_metadata(ledger.report()),
                "mode": dg.MetadataValue.text(params.privacy.mode),
                "next_retraining": dg.MetadataValue.text(planned.summary()),
                "planned_charges": dg.MetadataValue.int(len(planned.charges)),
                "estimated": dg.MetadataValue.bool(planned.estimated),
            },
        )

    return privacy_budget_has_room


defs = dg.Definitions(asset_checks=[budget_check(PROJECT)])
