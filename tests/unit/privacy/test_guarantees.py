"""What a privacy report states, computed: DP-SGD's epsilons on the declared unit and the units
beside it (window, event, day), input perturbation's, and the person level."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dpforecast.config import load_params
from dpforecast.privacy.guarantees import gp_report, ip_report
from dpforecast.privacy.report import MEANINGLESS_EPSILON, PrivacyReport

Q = 5 / 3120
STEPS = 62_400
DELTA = 1e-7
MAIN = dict(noise_multiplier=4.87, sample_rate=0.0231, steps=1720, delta=1e-7)  # the main job's DP-SGD run (issue 9)


def _unit(name: str, **privacy):
    params = load_params(Path(__file__).resolve().parents[3] / "params.yaml", privacy={"unit": name, **privacy})
    return params.privacy_unit()


def test_gp_report_json_markdown_and_summary():
    unit = _unit("window")
    r = gp_report(
        noise_multiplier=35.0, sample_rate=Q, steps=STEPS, delta=DELTA, max_grad_norm=1.0, n=3114,
        epochs=100, accountant="rdp", unit=unit, window=6, horizon=1, study_comparison=True,
    )
    assert r.private and r.unit == unit.describe("gp") and r.accountant == "rdp"
    assert r.epsilon == pytest.approx(0.0491, abs=1e-4)
    assert r.epsilons["pld"] <= r.epsilons["rdp"]
    assert r.epsilons["tf_privacy_2020"] == pytest.approx(0.06507, abs=1e-4)
    assert r.epsilons["opacus_default_orders"] > 0.17
    assert r.summary() == f"ε = 0.0491 (δ = 1e-7, RDP) per {unit.describe('gp')}"
    assert r.windows_per_unit == 1 and r.sensitivity_per_window == 1.0 and r.sampling == "poisson"
    # No person bound with delta >= 1: Montreuil declares no bound on a person's intervals.
    assert r.person_level["protected"] is False
    data = json.loads(json.dumps(r.to_json(), allow_nan=False))
    assert data["private"] is True and data["epsilon"] == r.epsilon
    assert PrivacyReport.from_json(data) == r
    md = r.to_markdown()
    assert "not a data-level guarantee" in md
    for sentence in r.guarantee_sentences():
        assert sentence in md
    assert all("δ" in sentence for sentence in r.guarantee_sentences()[:2])


def test_ip_report_states_unit_and_delta():
    unit = _unit("event")
    r = ip_report(mechanism="discrete_gaussian", epsilon=0.065, delta=DELTA, sensitivity=2 ** 0.5, sigma=70.0,
                  unit=unit, n=6 * 3456, unit_epsilons={"event": 0.065, "day": 0.64, "week": 1.7, "person": 5.2})
    assert r.summary() == f"ε = 0.065 (δ = 1e-7, discrete_gaussian) per {unit.describe('ip')}"
    assert r.unit == unit.describe("gp"), "both mechanisms state one unit, so the ledger composes them"
    assert r.counts_per_unit == 2 and r.person_level["protected"] is False
    first, *_ = r.guarantee_sentences()
    assert "δ = 1e-7" in first and "the 2 counts one unit changes" in first
    # the release's epsilon on every unit the ledger tracks, at the release's delta
    assert [(e["unit"], e["epsilon"], e["delta"]) for e in r.unit_epsilons] == [
        ("event", 0.065, DELTA), ("day", 0.64, DELTA), ("week", 1.7, DELTA), ("person", 5.2, DELTA)]
    md = r.to_markdown()
    assert "ε per person (ledger unit)" in md and "ε per day (ledger unit)" in md
    assert ip_report(mechanism="discrete_gaussian", epsilon=0.065, delta=DELTA, sensitivity=2 ** 0.5, sigma=70.0,
                     unit=unit, n=6).unit_epsilons == []
    lap = ip_report(mechanism="discrete_laplace", epsilon=1.0, delta=DELTA, sensitivity=2.0, sigma=2.0, unit=unit, n=6,
                    unit_epsilons={"event": 1.0})
    assert lap.delta == 0.0 and "pure ε-DP" in lap.to_markdown()
    assert lap.unit_epsilons[0]["delta"] == 0.0
    assert any("discrete Laplace" in n for n in lap.notes)


def test_person_level_follows_from_a_declared_bound():
    from dpforecast.data.spec import PrivacyBound
    from dpforecast.privacy.unit import privacy_unit

    bound = PrivacyBound(2, "R1 above IRIS", {"r1": ("r2",)}, intervals_per_person=96)
    unit = privacy_unit("day", None, 30, 48, bound.counts_per_person, bound.l1_per_interval, bound.l2_per_interval,
                        bound.reason, bound.intervals_per_person)
    ip = ip_report(mechanism="discrete_gaussian", epsilon=1.0, delta=DELTA, sensitivity=96 ** 0.5, sigma=30.0,
                   unit=unit, n=100)
    assert ip.person_level == {"protected": True, "intervals_per_person": 96, "epsilon": 2.0, "delta": 2 * DELTA}
    gp = gp_report(noise_multiplier=60.0, sample_rate=0.02, steps=100, delta=DELTA, max_grad_norm=1.0, n=2770,
                   unit=unit, window=6, horizon=1)
    person = gp.person_level
    assert person["protected"] and person["windows"] == 96 * 7 and person["epsilon"] >= gp.epsilon


def test_gp_report_states_event_and_day_epsilons():
    window_unit, event_unit, day_unit = (_unit(n) for n in ("window", "event", "day"))
    r = gp_report(**MAIN, max_grad_norm=1.0, n=3000, unit=window_unit, window=6, horizon=1, accountant="rdp",
                  context=(window_unit, event_unit, day_unit))
    assert r.unit == window_unit.describe("gp") and r.summary().endswith(f"per {r.unit}")
    event, day = r.unit_epsilons
    assert event["unit"] == "event" and event["windows_per_unit"] == 7
    assert event["description"].startswith("one event: one person's presence during one 30-minute interval")
    assert event["epsilon"] == pytest.approx(19.056, rel=0.01) and event["epsilon"] <= event["epsilon_rdp_upper"]
    assert event["sensitivity"].startswith("2C per window it touches (replace")
    assert day["windows_per_unit"] == 54 and day["description"].startswith("one day of one person (w-event, w = 48)")
    # A day's RDP bound is past 100: stated as no meaningful protection, with no PLD figure.
    assert day["epsilon"] is None and event["epsilon_rdp_upper"] < day["epsilon_rdp_upper"]
    assert day["epsilon_rdp_upper"] > MEANINGLESS_EPSILON
    assert event["delta"] == day["delta"] == 1e-7
    data = json.loads(json.dumps(r.to_json(), allow_nan=False))
    assert PrivacyReport.from_json(data) == r
    md = r.to_markdown()
    assert "not a data-level guarantee" in md
    assert f"ε = {event['epsilon']:.3g}" in md
    assert "above 100 (RDP upper bound 383): no meaningful protection, PLD not computed" in md

    # Low noise: the event itself is past 100, so the day is not even bounded.
    loud = gp_report(**{**MAIN, "noise_multiplier": 0.8}, max_grad_norm=1.0, n=3000, unit=window_unit, window=6,
                     horizon=1, accountant="rdp", context=(event_unit, day_unit))
    assert [e["epsilon"] for e in loud.unit_epsilons] == [None, None]
    assert loud.unit_epsilons[0]["epsilon_rdp_upper"] > MEANINGLESS_EPSILON
    assert loud.unit_epsilons[1]["epsilon_rdp_upper"] is None
    # At the study's noise the day is meaningful, and a PLD figure is given.
    study = gp_report(noise_multiplier=35.0, sample_rate=5 / 3114, steps=62300, delta=1e-7, max_grad_norm=1.0,
                      n=3114, unit=window_unit, window=6, horizon=1, accountant="rdp", context=(event_unit, day_unit))
    assert 0 < study.unit_epsilons[0]["epsilon"] < study.unit_epsilons[1]["epsilon"] < 10


def test_event_unit_is_the_headline_and_both_accountants_are_shown():
    event_unit = _unit("event")
    r = gp_report(**MAIN, max_grad_norm=1.0, n=3000, unit=event_unit, window=6, horizon=1)
    assert r.accountant == "pld" and r.unit_name == "event" and r.windows_per_unit == 7
    assert r.epsilon == r.epsilons["pld"] == pytest.approx(19.056, rel=0.01)
    assert r.epsilons["pld"] <= r.epsilons["rdp"]
    assert r.sensitivity_per_window == 2.0 and r.neighbouring.startswith("replace one unit")
    assert r.summary().startswith("ε = 19.") and r.summary().endswith(f"per {event_unit.describe('gp')}")


def test_every_unit_is_stated_by_the_accountants_own_figures():
    """The window beside an event is the record's one-window accountant: the same figures the
    window unit's own report states (RDP's closed form, the mixture's PLD at one window)."""
    from dpforecast.privacy.dp_sgd_accountant import DPSGDAccountant

    window_unit, event_unit = _unit("window"), _unit("event")
    r = gp_report(**MAIN, max_grad_norm=1.0, n=3000, unit=event_unit, window=6, horizon=1, context=(window_unit,))
    run = tuple(MAIN.values())
    (window,) = r.unit_epsilons
    assert window["windows_per_unit"] == 1 and window["sensitivity"].startswith("1C per window")
    assert window["epsilon_rdp_upper"] == DPSGDAccountant("rdp").epsilon(*run)
    assert window["epsilon"] == DPSGDAccountant("pld").epsilon(*run)
    assert r.epsilons == {"rdp": DPSGDAccountant("rdp", 7, 2.0).epsilon(*run),
                          "pld": DPSGDAccountant("pld", 7, 2.0).epsilon(*run)}
    with pytest.raises(ValueError, match="one training window only"):
        gp_report(**MAIN, max_grad_norm=1.0, n=3000, unit=event_unit, window=6, horizon=1, accountant="prv")
