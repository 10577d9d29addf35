"""dpforecast.training.private_defaults: every DP-SGD report says whether its hyper-parameters are the defaults
chosen on another data set, and so whether choosing them cost this one privacy."""

from __future__ import annotations

import shutil

from dpforecast.config import load_params
from dpforecast.training.private_defaults import CHOSEN_ON, PROFILE, chosen, defaults_for, provenance_note

from project_roots import REPO
from synthetic_project import make_synthetic_root

ROOT = REPO


def test_reports_say_where_the_dp_sgd_defaults_were_chosen():
    tuned = load_params(ROOT / "params.yaml", profile=PROFILE)
    assert tuned.privacy.mode == "gp" and tuned.features.scaling == "log" and tuned.residual()
    note = provenance_note(tuned, "bigru")
    assert f"chosen on {CHOSEN_ON}" in note and "never on montreuil's data" in note
    changed = load_params(ROOT / "params.yaml", profile=PROFILE, train={"learning_rate": 0.01})
    note = provenance_note(changed, "bigru")
    assert "learning_rate 0.01 (default" in note and "does not account" in note
    # An edit of params.yaml shows as a change, not as part of the defaults.
    bigger = load_params(ROOT / "params.yaml", profile=PROFILE, architectures={"bigru": {"units": 128}})
    assert "units 128 (default 64)" in provenance_note(bigger, "bigru")
    own = load_params(ROOT / "params.yaml", profile=PROFILE, dataset=CHOSEN_ON)
    assert "NOT accounted" in provenance_note(own, "bigru")


def test_the_fixed_hyper_parameters_are_read_from_the_run():
    params = load_params(ROOT / "params.yaml", profile=PROFILE, architectures={"gru": {"units": 32}})
    fixed = chosen(params, "gru")
    assert fixed["units"] == 32 and fixed["residual"] is True and fixed["optimizer"] == params.privacy.gp.optimizer
    assert set(fixed) == {"units", "batch_size", "learning_rate", "epochs", "max_grad_norm", "optimizer", "ema",
                          "residual"}


def test_without_the_profile_beside_the_spec_the_provenance_is_unknown(tmp_path):
    root = make_synthetic_root(tmp_path / "p", {"privacy": {"mode": "gp"}, "features": {"scaling": "log"}}, days=2)
    params = load_params(root / "params.yaml")
    assert defaults_for(params) is None
    assert provenance_note(params, "gru").startswith("no dp-sgd profile beside town's spec: where the hyper-parameters")
    (root / "profiles").mkdir()
    shutil.copyfile(REPO / "profiles" / f"{PROFILE}.yaml", root / "profiles" / f"{PROFILE}.yaml")
    defaults = defaults_for(params)
    assert defaults is not None and defaults.profile == PROFILE and defaults.dataset == "town"
    assert "differ from dpforecast's DP-SGD defaults" in provenance_note(params, "gru")
    tuned = load_params(root / "params.yaml", profile=PROFILE)
    assert "cost town no privacy" in provenance_note(tuned, "gru") and CHOSEN_ON != "town"
