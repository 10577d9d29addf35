"""The frontier command trains real IP and DP-SGD models and reports their epsilons."""

from __future__ import annotations

import json

from project_roots import TINY, make_root

from dpforecast.config import deep_merge
from dpforecast.frontier import frontier, table


def test_frontier_has_a_point_per_mode_and_epsilon(tmp_path):
    root = make_root(tmp_path, deep_merge(TINY, {"train": {"epochs": 1}}))
    rows = frontier(root, "gru", (0.5, 4.0))
    assert [(r["mode"], r["epsilon"]) for r in rows] == [("ip", 0.5), ("ip", 4.0), ("gp", 0.5), ("gp", 4.0)]
    assert all(r["rmse"] > 0 for r in rows)
    gp = [r for r in rows if r["mode"] == "gp"]
    assert all("window" in r["guarantee"] for r in gp)
    assert json.loads((root / "metrics" / "frontier.json").read_text()) == rows
    assert (root / "plots" / "frontier.png").stat().st_size > 5000
    assert "| gp | 4 |" in table(rows)


def test_variants_put_ip_and_gp_beside_the_non_private_model(tmp_path):
    from dpforecast.frontier import variants

    root = make_root(tmp_path, deep_merge(TINY, {"train": {"epochs": 1}}))
    (root / "metrics").mkdir()
    (root / "metrics" / "per_zone.json").write_text(json.dumps(
        {"gru": {"rmse": {"mean": 1.0}, "mae": {"mean": 2.0}, "privacy": "not private"}}))
    rows = variants(root, "gru", epsilon=2.0)
    assert [r["mode"] for r in rows] == ["none", "ip", "gp"]
    assert "| none | - | 1.0 | 2.0 | not private |" in table(rows)
    assert all(r["rmse"] > 0 for r in rows[1:]) and "δ = 1e-7" in rows[2]["guarantee"]
    # Both private variants are registered under their own names, each its first champion.
    assert [r["decision"]["promote"] for r in rows[1:]] == [True, True]


def test_privacy_setting_keys_round_trip_and_bad_keys_are_refused():
    import pytest

    from dpforecast.config import ConfigError
    from dpforecast.variants import SETTINGS, PrivacySetting

    assert [PrivacySetting.parse(k).key for k in SETTINGS] == list(SETTINGS)
    assert PrivacySetting.parse("gp-eps0.1").overrides() == {
        "privacy": {"mode": "gp", "epsilon": 0.1}, "features": {"scaling": "log"}}
    for bad in ("gp", "ip-eps0", "dp-eps1", "ip-eps-1", "none-eps1"):
        with pytest.raises(ConfigError, match="privacy setting"):
            PrivacySetting.parse(bad)
