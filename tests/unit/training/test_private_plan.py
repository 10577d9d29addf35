"""dpforecast.training.private_plan: a training's privacy decided before it reads data: non-private, the
release it trained on, or DP-SGD's guarantee, randomness and charge (refused when the ledger cannot pay)."""

from __future__ import annotations

import re

import pytest
import torch

from dpforecast.privacy import randomness
from dpforecast.privacy.budget import open_ledger
from dpforecast.privacy.checks import PrivacyConfigError
from dpforecast.privacy.continual_release import ReleaseInfo, release_terms
from dpforecast.runtime.io import write_json
from dpforecast.training.private_plan import (
    CONTINUAL,
    charge,
    context_units,
    plan_privacy,
    release_report,
    training_digest,
)

from synthetic_project import synthetic_params

# DP-SGD on one event: noise 5, 10 steps at q = 0.1 (epsilon about 5 per event); days and weeks not limited.
GP = {"privacy": {"mode": "gp", "epsilon": 1.0, "delta": 1e-5, "gp": {"noise_multiplier": 5.0},
                  "budget": {"day": None}}, "features": {"scaling": "log"}, "train": {"epochs": 1}}


@pytest.fixture(autouse=True)
def _no_key(monkeypatch):
    for name in (randomness.KEY_ENV, randomness.KEY_FILE_ENV):
        monkeypatch.delenv(name, raising=False)


def test_dp_sgd_context_names_the_training_windows_themselves() -> None:
    """Another split of the same table (same size) is other data: another context, never the same draws."""

    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(40, 6, 10, generator=g).numpy(), torch.randn(40, 6, generator=g).numpy()
    assert training_digest(x[:30], y[:30]) == training_digest(x[:30].copy(), y[:30].copy())
    assert training_digest(x[:30], y[:30]) != training_digest(x[10:], y[10:])
    assert training_digest(x[:30], y[:30]) != training_digest(x[:30], y[:30] + 1)


def test_a_non_private_run_has_no_guarantee_no_randomness_and_no_charge(tmp_path):
    params = synthetic_params()
    plan = plan_privacy(params, "gru", 0, 300, 30, "md5", None)
    assert not plan.report.private and plan.ledger_key is None and plan.mechanisms is None
    with pytest.raises(ValueError, match="a non-private plan has no secret stream"):
        plan.stream()
    charge(plan, params, "gru", "v1")
    assert open_ledger(params).charges() == []


def test_a_model_trained_on_a_release_states_that_release_or_is_refused(tmp_path):
    params = synthetic_params(privacy={"mode": "ip", "epsilon": 2.0})
    with pytest.raises(PrivacyConfigError, match="a model trained on a release states that release's guarantee"):
        plan_privacy(params, "gru", 0, 300, 30, "md5", None)
    info = ReleaseInfo("r1", release_terms(params), 4.0, {"event": 2.0}, "operating system", n_counts=1500)
    write_json(tmp_path / "release.json", info.to_json())
    plan = plan_privacy(params, "gru", 0, 300, 30, "md5", tmp_path / "release.json")
    assert plan.report.to_json() == release_report(params, info).to_json() and plan.ledger_key is None
    assert (plan.report.mode, plan.report.epsilon, plan.report.sigma, plan.report.n) == ("ip", 2.0, 4.0, 1500)
    assert CONTINUAL in plan.report.notes
    other = synthetic_params(privacy={"mode": "ip", "epsilon": 0.5})
    with pytest.raises(PrivacyConfigError, match=re.escape(f"privacy: the release at {tmp_path / 'release.json'} "
                                                           "(discrete_gaussian, epsilon 2 per event) is not the one "
                                                           "the parameters ask for (discrete_gaussian, epsilon 0.5")):
        plan_privacy(other, "gru", 0, 300, 30, "md5", tmp_path / "release.json")
    write_json(tmp_path / "none.json", {"mode": "none"})
    with pytest.raises(PrivacyConfigError, match=r"\(no release\) is not the one"):
        plan_privacy(params, "gru", 0, 300, 30, "md5", tmp_path / "none.json")


def test_dp_sgd_refuses_fitted_scaling_and_a_unit_it_cannot_protect_before_any_accounting():
    with pytest.raises(PrivacyConfigError, match="features.scaling: 'standard' fits means and deviations"):
        plan_privacy(synthetic_params(privacy={"mode": "gp"}), "gru", 0, 300, 30, "md5", None)
    person = synthetic_params(200, privacy={"mode": "gp", "unit": "person"}, features={"scaling": "log"})
    with pytest.raises(PrivacyConfigError, match="cannot protect one person here: it touches 4,806 training windows"):
        plan_privacy(person, "gru", 0, 300, 30, "md5", None)
    with pytest.raises(PrivacyConfigError, match="delta"):
        plan_privacy(synthetic_params(**GP), "gru", 0, 10**6, 30, "md5", None)  # delta 1e-5 not below 1/n


def test_every_dp_sgd_report_also_states_the_window_the_event_and_the_day():
    units = context_units(synthetic_params(**GP))
    assert [u.name for u in units] == ["window", "event", "day"] and units[2].intervals == 24


@pytest.mark.slow  # 15-20 s: three plans, each accounting every unit by the PLD accountant
def test_a_dp_sgd_plan_is_charged_and_a_keyed_run_repeated_only_once(tmp_path, monkeypatch):
    unlimited = {**GP, "privacy": {**GP["privacy"], "budget": {"event": None, "day": None}}}
    params = synthetic_params(**unlimited)
    plan = plan_privacy(params, "gru", 0, 300, 30, "md5", None)
    assert plan.noise_multiplier == 5.0 and plan.report.mode == "gp" and plan.report.epsilon < 8.0
    assert re.fullmatch(r"gp:[0-9a-f]{16}", plan.ledger_key) and set(plan.mechanisms) == {"event", "day", "week"}
    assert plan.context["data"] == "md5" and "md5" not in str(plan.report.to_json())  # the context is never published
    charge(plan, params, "gru", "v1")
    [recorded] = open_ledger(params).charges()
    assert recorded.key == plan.ledger_key and recorded.mechanisms == plan.mechanisms
    key_file = tmp_path / "privacy.key"
    randomness.create_key_file(key_file)
    monkeypatch.setenv(randomness.KEY_FILE_ENV, str(key_file))
    keyed = [plan_privacy(params, "gru", 0, 300, 30, "md5", None) for _ in range(2)]
    assert keyed[0].ledger_key == keyed[1].ledger_key
    for p in keyed:
        charge(p, params, "gru", "v1")
    assert len(open_ledger(params).charges()) == 2  # the keyed run repeated is charged once
