"""The frontier command trains real IP and DP-SGD models and reports their epsilons."""

from __future__ import annotations

import json

import pytest

from dpforecast.config import deep_merge
from dpforecast.experiments.frontier import frontier, frontier_table, table

from project_roots import TINY, make_root

# An epsilon of 2 or 4 per event is more than the default day budget (16) once composed
# over a day's 48 events: these runs are tracked, not limited.
UNLIMITED = {"privacy": {"budget": {"event": None, "day": None}}}


@pytest.mark.slow
def test_frontier_puts_both_mechanisms_on_one_unit_with_seeds_and_baselines(tmp_path):
    root = make_root(tmp_path, deep_merge(TINY, {"train": {"epochs": 1}, **UNLIMITED}))
    result = frontier(root, "gru", (4.0,), seeds=(0, 1), units=("event",))
    runs = result["runs"]
    assert [(r["unit"], r["mode"], r["seed"]) for r in runs] == [
        ("event", "ip", 0), ("event", "ip", 1), ("event", "gp", 0), ("event", "gp", 1)]
    # Both mechanisms state the same unit, so a reader compares like with like.
    assert len({r["unit_description"] for r in runs}) == 1 and runs[0]["unit_description"].startswith("one event")
    assert all(r["rmse"] > 0 and r["delta"] == 1e-7 for r in runs)
    ip, gp = result["points"]
    assert ip["mode"] == "ip" and gp["mode"] == "gp" and ip["seeds"] == [0, 1]
    assert ip["rmse_min"] <= ip["rmse_mean"] <= ip["rmse_max"]
    assert result["baselines"]["persistence"] == pytest.approx(1503.56, abs=0.1)
    assert result["baselines"]["seasonal_day"] > result["baselines"]["persistence"]
    assert json.loads((root / "metrics" / "frontier.json").read_text()) == {"datasets": {"montreuil": result}}
    (row,) = json.loads((root / "plots" / "frontier_montreuil_event.json").read_text())
    assert row["epsilon"] == 4.0 and row["ip"] == ip["rmse_mean"] and row["persistence"] > 0
    assert (root / "plots" / "frontier_montreuil.png").stat().st_size > 5000
    text = frontier_table(result)
    assert text.startswith("montreuil, unit: one event") and "| gp | 4 |" in text and "persistence 1503.6" in text

    # A narrower run adds its points; DP-SGD on a person is vacuous, stated and not trained.
    more = frontier(root, "gru", (4.0,), seeds=(0,), units=("person",), modes=("gp",))
    assert {(r["unit"], r["mode"]) for r in more["runs"]} == {("event", "ip"), ("event", "gp"), ("person", "gp")}
    (vacuous,) = [p for p in more["points"] if p["unit"] == "person"]
    assert vacuous["rmse_mean"] is None and "touches" in vacuous["vacuous"]
    assert "gp on this unit: vacuous" in frontier_table(more)


@pytest.mark.real_data
def test_variants_put_ip_and_gp_beside_the_non_private_model(tmp_path):
    from dpforecast.experiments.frontier import variants

    root = make_root(tmp_path, deep_merge(TINY, {"train": {"epochs": 1}, **UNLIMITED}))
    (root / "metrics").mkdir()
    (root / "metrics" / "per_zone.json").write_text(json.dumps({"gru": {"rmse": {"mean": 1.0}, "mae": {"mean": 2.0}}}))
    (root / "metrics" / "privacy.json").write_text(json.dumps({"dataset": "montreuil", "horizon": 1, "gru": "not private"}))
    rows = variants(root, "gru", epsilon=2.0)
    assert [r["mode"] for r in rows] == ["none", "ip", "gp"]
    text = table(rows)
    assert text.startswith("Privacy unit: one event") and "| none | - | - | 1.0 | 2.0 | not private |" in text
    assert all(r["rmse"] > 0 for r in rows[1:]) and "δ = 1e-7" in rows[2]["guarantee"]
    # Both private variants are registered under their own names, each its first champion.
    assert [r["decision"]["promote"] for r in rows[1:]] == [True, True]

