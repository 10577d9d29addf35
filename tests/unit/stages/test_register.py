"""dpforecast.stages.register: one registry decision per trained architecture, written to metrics/promotion.json
(the registry itself is stood in for here; it is tested in tests/integration/test_registry.py)."""

from __future__ import annotations

import json

from dpforecast.config import load_params
from dpforecast.registry.promotion import Decision, Guarantee, Scored
from dpforecast.runtime.paths import Paths
from dpforecast.stages import register as register_stage
from dpforecast.stages.register import decisions_table, register

from synthetic_project import make_synthetic_root

NONE = Guarantee(False)


def _decisions(arch: str) -> Decision:
    if arch == "gru":
        return Decision(True, "rmse 10 < 12 - 1%", "rmse", Scored("3", 10.0, NONE), Scored("2", 12.0, NONE))
    return Decision(True, "no champion yet", "rmse", Scored("1", 20.0, NONE), None)


def test_each_selected_architecture_is_published_and_its_decision_recorded(tmp_path, monkeypatch):
    root = make_synthetic_root(tmp_path / "p", {"train": {"model": "all"}}, days=2)
    paths, params = Paths(root), load_params(root / "params.yaml")
    calls = []
    monkeypatch.setattr(register_stage, "publish",
                        lambda p, prm, arch, lineage: calls.append((arch, lineage)) or _decisions(arch))
    baselines = {"persistence": 30.0, "autoets": 25.0}  # scored on the feature files (tests/unit/stages/test_evaluate.py)
    monkeypatch.setattr(register_stage, "baseline_scores", lambda p, prm: baselines)
    out = register(paths, params, {"git_commit": "abc"})
    assert calls == [(a, {"git_commit": "abc"}) for a in ("lstm", "gru", "bilstm", "bigru")]
    assert out["gru"] == {"registered_model": "town-gru", "version": 3, "promoted": True, "rmse": 10.0,
                          "champion_rmse": 12.0, "reason": "rmse 10 < 12 - 1%", "baselines_rmse": baselines}
    assert out["lstm"]["champion_rmse"] is None and out["lstm"]["version"] == 1
    assert json.loads(paths.promotion_metrics.read_text()) == out
    private = load_params(root / "params.yaml", train={"model": "gru"}, privacy={"mode": "ip"})
    assert list(register(paths, private)) == ["gru"] and calls[-1] == ("gru", None)
    assert json.loads(paths.promotion_metrics.read_text())["gru"]["registered_model"] == "town-gru-ip"


def test_the_table_says_champion_or_challenger():
    decisions = {"gru": {"registered_model": "mobility-gru-ip", "version": 3, "promoted": True, "reason": "better"},
                 "lstm": {"registered_model": "mobility-lstm-ip", "version": 2, "promoted": False, "reason": "worse"}}
    assert decisions_table(decisions).splitlines() == [
        "| model | version | decision | reason |", "| --- | --- | --- | --- |",
        "| mobility-gru-ip | 3 | champion | better |", "| mobility-lstm-ip | 2 | challenger | worse |"]
