"""The promotion rule on numbers and guarantees (no MLflow)."""

from __future__ import annotations

from dpforecast.registry.promotion import Guarantee, Scored, decide

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
