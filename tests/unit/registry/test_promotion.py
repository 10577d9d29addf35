"""The promotion rule on numbers and guarantees (no MLflow)."""

from __future__ import annotations

import json

from dpforecast.registry.promotion import Decision, Guarantee, Scored, decide

UNIT = "one training window"
NONE = Guarantee(False)


def gp(eps: float, delta: float = 1e-7, unit: str = UNIT) -> Guarantee:
    return Guarantee(True, "gp", unit, eps, delta)


def test_first_model_becomes_champion():
    d = decide(Scored("1", 1300.0, NONE), None, "rmse", 0.01)
    assert d.promote and d.reason == "no champion yet"


def test_better_by_more_than_the_margin_is_promoted_else_kept():
    champion = Scored("1", 1000.0, NONE)
    assert decide(Scored("2", 985.0, NONE), champion, "rmse", 0.01).promote
    kept = decide(Scored("3", 995.0, NONE), champion, "rmse", 0.01)
    assert not kept.promote and "does not beat" in kept.reason and "990.00" in kept.reason
    assert not decide(Scored("4", 1000.0, NONE), champion, "rmse", 0.0).promote


def test_private_champion_meets_only_same_or_stricter_guarantees():
    champion = Scored("1", 2000.0, gp(1.0))
    looser = decide(Scored("2", 1500.0, gp(10.0)), champion, "rmse", 0.01)
    assert not looser.promote and "looser" in looser.reason
    assert not decide(Scored("3", 1500.0, gp(1.0, delta=1e-5)), champion, "rmse", 0.01).promote
    assert not decide(Scored("4", 1000.0, NONE), champion, "rmse", 0.01).promote
    other_unit = decide(Scored("5", 1500.0, gp(0.5, unit="one person")), champion, "rmse", 0.01)
    assert not other_unit.promote and "not comparable" in other_unit.reason
    assert decide(Scored("6", 1500.0, gp(1.0)), champion, "rmse", 0.01).promote
    stricter = decide(Scored("7", 1500.0, gp(0.3)), champion, "rmse", 0.01)
    assert stricter.promote and "same or stricter" in stricter.reason


def test_a_private_challenger_may_replace_a_non_private_champion_on_merit():
    champion = Scored("1", 1000.0, NONE)
    assert decide(Scored("2", 900.0, gp(1.0)), champion, "rmse", 0.01).promote
    assert not decide(Scored("3", 1100.0, gp(1.0)), champion, "rmse", 0.01).promote


def test_the_champion_is_not_its_own_challenger():
    same = Scored("3", 900.0, NONE)
    assert not decide(same, same, "rmse", 0.0).promote


def test_a_challenger_that_cannot_be_scored_is_decided_not_promotable():
    why = "models:/m/2: cannot forecast every test window and lead (window 6, 1 lead(s) over the recent series)"
    unscored = Scored("2", None, NONE, why)
    first = decide(unscored, None, "rmse", 0.01)
    assert not first.promote and first.reason == f"not promotable: it cannot be scored on the current test windows: {why}"
    against = decide(unscored, Scored("1", 1000.0, NONE), "rmse", 0.01)
    assert not against.promote and why in against.reason
    # The decision is logged as JSON and read back when a killed register is completed.
    assert Decision.from_json(json.loads(json.dumps(against.to_json()))) == against


def test_a_champion_that_cannot_be_scored_gives_way_to_one_that_can_unless_its_guarantee_is_looser():
    broken = Scored("1", None, gp(1.0), "models:/m/1: forecasts 48 lead(s) but the test windows have 1")
    replaced = decide(Scored("2", 1500.0, gp(1.0)), broken, "rmse", 0.01)
    assert replaced.promote and "the champion (version 1) cannot be scored" in replaced.reason
    looser = decide(Scored("3", 1500.0, gp(10.0)), broken, "rmse", 0.01)
    assert not looser.promote and "looser" in looser.reason
