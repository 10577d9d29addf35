"""dpforecast.experiments.variants: a privacy setting named by its key, trained in memory, optionally registered."""

from __future__ import annotations

import mlflow
import pytest

from dpforecast.config import load_params
from dpforecast.errors import ConfigError
from dpforecast.experiments.variants import MODE_OVERRIDES, SETTINGS, PrivacySetting, train_variant
from dpforecast.privacy.budget import open_ledger
from dpforecast.registry.publish import registered_name
from dpforecast.runtime.io import read_json

from synthetic_project import make_synthetic_root

SHORT = {"split": {"test_days": 2, "validation_days": 2}}


def test_privacy_setting_keys_round_trip_and_bad_keys_are_refused():
    assert [PrivacySetting.parse(k).key for k in SETTINGS] == list(SETTINGS)
    assert PrivacySetting.parse("gp-eps0.1").overrides() == {
        "privacy": {"mode": "gp", "epsilon": 0.1}, "features": {"scaling": "log"}}
    for bad in ("gp", "ip-eps0", "dp-eps1", "ip-eps-1", "none-eps1"):
        with pytest.raises(ConfigError, match="privacy setting"):
            PrivacySetting.parse(bad)


def test_a_key_reads_as_its_mode_and_epsilon_and_prints_back_shortest():
    assert PrivacySetting.parse("none") == PrivacySetting("none", None)
    assert PrivacySetting.parse("ip-eps.5") == PrivacySetting("ip", 0.5)
    assert PrivacySetting.parse("ip-eps.5").key == "ip-eps0.5" and PrivacySetting("gp", 10.0).key == "gp-eps10"
    assert PrivacySetting.parse("none").overrides() == {"privacy": {"mode": "none"}}
    assert PrivacySetting.parse("ip-eps2").overrides() == {"privacy": {"mode": "ip", "epsilon": 2.0}}
    assert MODE_OVERRIDES["ip"] == {"privacy": {"mode": "ip"}}  # the table is not changed by a setting's epsilon
    with pytest.raises(ConfigError, match=r"^privacy setting: 'IP-eps1' is not 'none' or '<ip\|gp>-eps<epsilon > 0>' "
                                          r"\(e\.g\. 'gp-eps1'\)$"):
        PrivacySetting.parse("IP-eps1")


def test_an_ip_variant_is_trained_charged_and_registered_under_its_own_name(tmp_path, file_store):
    root = make_synthetic_root(tmp_path / "p", SHORT, zones=2, days=6)
    row = train_variant(root, "gru", PrivacySetting.parse("ip-eps1"), register=True)
    assert (row["model"], row["mode"], row["epsilon"], row["seed"]) == ("gru", "ip", 1.0, 0)
    assert row["guarantee"].startswith("ε = 1 (δ = 1e-7, discrete_gaussian) per one event")
    assert row["report"]["mode"] == "ip" and row["report"]["epsilon"] == 1.0
    folder = root / "artifacts" / "study" / "variant-ip-eps1-gru" / "models" / "gru-seed0"
    assert row["model_dir"] == str(folder) and read_json(folder / "metrics.json")["rmse"]["mean"] == row["rmse"]
    params = load_params(root / "params.yaml", privacy={"mode": "ip", "epsilon": 1.0})
    assert [c.mode for c in open_ledger(params).charges()] == ["ip"]
    assert row["decision"]["promote"] and row["decision"]["reason"] == "no champion yet"
    name = registered_name(params.model_prefix(), "gru", "ip")
    assert name.endswith("town-gru-ip")
    version = mlflow.MlflowClient().get_model_version_by_alias(name, "champion")
    assert version.tags["variant"] == "ip-eps1" and version.tags["study"] == "default"
    assert mlflow.get_run(row["mlflow_run_id"]).data.params["privacy.mode"] == "ip"


def test_a_dp_sgd_variant_trains_under_the_dp_sgd_profile_unless_another_is_named(tmp_path):
    root = make_synthetic_root(tmp_path / "p", SHORT, zones=2, days=6)  # no profiles/ folder
    with pytest.raises(ConfigError, match=r"profile: no profile file .*profiles/dp-sgd\.yaml"):
        train_variant(root, "gru", PrivacySetting.parse("gp-eps1"))
    with pytest.raises(ConfigError, match=r"profile: no profile file .*profiles/paper\.yaml"):
        train_variant(root, "gru", PrivacySetting.parse("gp-eps1"), profile="paper")
    assert not (root / "artifacts").exists()
