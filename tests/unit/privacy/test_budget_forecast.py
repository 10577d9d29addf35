"""dpforecast.privacy.budget_forecast: what the next retraining would charge, checked without writing.

- DP-SGD: one charge per architecture, the very mechanisms ``plan_privacy`` would charge,
  sized by the last feature summary (or windows file); without either, no estimate.
- Input perturbation: a release with the parameters' terms continues for free; otherwise a
  new release, charged ``release_mechanisms``.
- The planned charges are composed *together* with the ledger's: four charges each within
  the budget alone are refused when their sum is not; the refusal is one line naming the
  unit, the spend, the charge and the budget; nothing is written.
"""

from __future__ import annotations

import polars as pl
import pytest
from conftest import PARAMS_YAML

from dpforecast.config import ARCHITECTURES, load_params
from dpforecast.privacy.budget import open_ledger, release_mechanisms
from dpforecast.privacy.budget_forecast import (
    PlannedCharge,
    check_planned,
    forecast,
    planned_charges,
    training_size,
)
from dpforecast.privacy.charges import GaussianRelease
from dpforecast.privacy.continual_release import ReleaseInfo, release_terms
from dpforecast.privacy.ledger import BudgetExceededError
from dpforecast.runtime.io import write_json
from dpforecast.runtime.paths import Paths

N_TRAIN = 2000
# Noise 20 on 2,000 windows, one epoch: epsilon about 1 per event for four charges, a second to compose.
GP = {"mode": "gp", "gp": {"noise_multiplier": 20.0}}


def params_of(privacy: dict, epochs: int = 1, **overrides):
    return load_params(PARAMS_YAML, privacy=privacy, train={"epochs": epochs},
                       features={"scaling": "none"}, **overrides)


def with_features(root, n_train: int = N_TRAIN) -> Paths:
    paths = Paths(root)
    paths.feature_summary.parent.mkdir(parents=True, exist_ok=True)
    write_json(paths.feature_summary, {"windows": {"train": n_train, "validation": 10, "test": 10}})
    return paths


def test_non_private_plans_nothing(tmp_path):
    result = forecast(Paths(tmp_path), params_of({"mode": "none"}))
    assert result.estimated and not result.private and not result.refused and result.charges == ()
    assert "charges nothing" in result.summary()


def test_dp_sgd_without_features_is_not_estimated(tmp_path):
    result = forecast(Paths(tmp_path), params_of(GP))
    assert not result.estimated and not result.refused
    assert "summary.json" in result.note and "not estimated" in result.summary()


def test_training_size_from_summary_or_windows(tmp_path):
    paths = Paths(tmp_path)
    assert training_size(paths) is None
    paths.windows.parent.mkdir(parents=True)
    pl.DataFrame({"split": ["train"] * 7 + ["test"] * 2}).write_parquet(paths.windows)
    assert training_size(paths) == 7
    write_json(paths.feature_summary, {"windows": {"train": 11}})
    assert training_size(paths) == 11


def test_dp_sgd_charges_are_those_plan_privacy_makes(tmp_path):
    """The estimate and the training agree: same sampling rate, steps and noise (searched here)."""
    from dpforecast.training.private_plan import plan_privacy

    paths = with_features(tmp_path)
    params = params_of({"mode": "gp", "gp": {"accountant": "rdp"}})  # the RDP search: a second, not ten
    charges, note = planned_charges(paths, params, ["gru", "lstm"])
    assert note is None and [c.label for c in charges] == ["DP-SGD training of gru", "DP-SGD training of lstm"]
    plan = plan_privacy(params, "gru", 0, N_TRAIN, params.hyper("gru")[1], "md5", paths.release_metadata)
    assert charges[0].mechanisms == plan.mechanisms
    default, _ = planned_charges(paths, params)  # train.model: all
    assert len(default) == len(params.models()) == len(ARCHITECTURES)


def test_input_perturbation_new_release_then_free(tmp_path):
    paths = Paths(tmp_path)
    params = params_of({"mode": "ip"})
    terms = release_terms(params)
    (charge,), note = planned_charges(paths, params)
    assert note is None and charge.mechanisms == release_mechanisms(params, terms.scale())
    assert "new discrete_gaussian continual release" in charge.label

    paths.release_dir.mkdir(parents=True)
    paths.release_series.write_bytes(b"")
    info = ReleaseInfo(release_id="abc", terms=terms, scale=terms.scale(), unit_epsilons={}, randomness="operating system")
    write_json(paths.release_metadata, info.to_json())
    charges, note = planned_charges(paths, params)
    assert charges == () and "release abc" in note and "charges nothing" in note
    other = params_of({"mode": "ip", "epsilon": 2.0})
    (charge,), _ = planned_charges(paths, other)
    assert "release abc has other terms" in charge.label


def test_refusal_over_a_tiny_budget_names_unit_spend_charge_budget(tmp_path):
    paths = with_features(tmp_path)
    params = params_of({**GP, "budget": {"event": 0.01}})
    result = forecast(paths, params, ARCHITECTURES)
    assert result.refused and len(result.charges) == 4
    assert result.refusal.startswith("privacy budget exceeded on unit 'event' of data set 'montreuil': spent epsilon 0 ")
    assert "the 4 planned charges (DP-SGD training of lstm;" in result.refusal and "> budget 0.01" in result.refusal
    assert "\n" not in result.refusal and result.summary() == result.refusal
    assert open_ledger(params).charges() == []  # nothing written

    generous = params_of({**GP, "budget": {"event": 1000.0, "day": 1000.0}})
    ok = forecast(paths, generous, ARCHITECTURES)
    assert not ok.refused and ok.summary().startswith("within budget: DP-SGD training of lstm")


def test_planned_charges_are_composed_together_with_the_spend(tmp_path):
    """Each charge fits alone (``PrivacyLedger.check`` lets it through); all four do not."""
    params = params_of({"mode": "ip", "budget": {"event": 1.0, "day": None}})
    ledger = open_ledger(params)
    mechanisms = {u: GaussianRelease(1.0, 0.12) for u in ledger.units}  # mu 0.12 on every unit
    ledger.charge("earlier", mechanisms, "ip", "an earlier release", "v0")
    planned = [PlannedCharge(f"release {i}", mechanisms) for i in range(4)]
    for i, charge in enumerate(planned):
        ledger.check(f"new{i}", charge.mechanisms)
    with pytest.raises(BudgetExceededError) as refused:
        check_planned(ledger, planned)
    message = str(refused.value)
    assert "unit 'event'" in message and "over 1 charges" in message and "the 4 planned charges" in message
    assert "> budget 1 " in message and ledger.location in message
    check_planned(ledger, planned[:1])
    check_planned(ledger, [])
    assert [c.key for c in ledger.charges()] == ["earlier"]


def test_vacuous_planned_unit_refused_only_when_budgeted(tmp_path):
    """A unit a DP-SGD charge cannot bound (person: every window) is refused only if budgeted."""
    paths = with_features(tmp_path, 3000)  # more windows than are accounted (MAX_ACCOUNTED_WINDOWS)
    params = params_of({**GP, "budget": {"event": None, "day": None, "person": 100.0}})
    (charge,), _ = planned_charges(paths, params, ["gru"])
    if "person" not in charge.mechanisms:
        pytest.skip("the spec declares no protected period")
    result = forecast(paths, params, ["gru"])
    assert result.refused and "unit 'person'" in result.refusal and "vacuous" in result.refusal
    unbudgeted = params_of({**GP, "budget": {"event": None, "day": None, "person": None}})
    assert not forecast(paths, unbudgeted, ["gru"]).refused
