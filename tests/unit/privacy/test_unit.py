"""The privacy unit: declared once, sized by the data set, the same words for both mechanisms,
and every DP-SGD epsilon on it recomputable from the report's own inputs."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import yaml
from scipy import stats

from dpforecast.config import load_params
from dpforecast.data.spec import spec_from_dict
from dpforecast.errors import ConfigError
from dpforecast.privacy import unit_accounting
from dpforecast.privacy.budget import (
    open_ledger,
    release_mechanisms,
    training_mechanisms,
)
from dpforecast.privacy.charges import epsilon_of
from dpforecast.privacy.guarantees import gp_report
from dpforecast.privacy.report import PrivacyReport
from dpforecast.privacy.unit import UnitError, privacy_unit

ROOT = Path(__file__).resolve().parents[3]


def _params(**privacy):
    return load_params(ROOT / "params.yaml", privacy=privacy)


def test_montreuil_units_are_sized_by_its_hierarchy():
    event = _params(unit="event").privacy_unit()
    day = _params(unit="day").privacy_unit()
    four = _params(unit="w-event", w=4).privacy_unit()
    window = _params(unit="window").privacy_unit()
    # R1 contains R2-R6: one person's presence is two counts per interval, each changed by up
    # to 3 (the spec's per_count: counts extrapolated from one operator's subscribers).
    assert (event.counts, day.counts, four.counts, window.counts) == (2, 96, 8, 1)
    assert event.per_count == day.per_count == 3
    assert event.ip_sensitivity("discrete_gaussian") == pytest.approx(3 * math.sqrt(2))
    assert day.ip_sensitivity("discrete_gaussian") == pytest.approx(3 * math.sqrt(96))
    assert day.ip_sensitivity("discrete_laplace") == 3 * 96 and event.ip_sensitivity("discrete_laplace") == 3 * 2
    assert window.ip_sensitivity("discrete_laplace") == window.ip_sensitivity("discrete_gaussian") == 1
    assert (event.windows(6, 1), day.windows(6, 1), four.windows(6, 1), window.windows(6, 1)) == (7, 54, 10, 1)
    assert event.windows(12, 4) == 16, "the windows come from the params, never an assumed 6 and 1"
    assert event.describe("ip") == event.describe("gp") and day.describe("ip") == day.describe("gp")
    assert window.describe("ip") != window.describe("gp") and "not a data-level guarantee" in window.describe("ip")
    assert "one day of one person (w-event, w = 48)" in day.describe()


def test_declared_contributions_may_fall_on_one_count():
    auckland = load_params(ROOT / "params.yaml", dataset="auckland", privacy={"unit": "event"}).privacy_unit()
    # Ten crossings of counting lines in one hour may all be at one sensor: L2 bounded by L1 only.
    assert auckland.counts_per_interval == 10 and auckland.interval_minutes == 60
    assert auckland.ip_sensitivity("discrete_gaussian") == 10 and auckland.ip_sensitivity("discrete_laplace") == 10
    day = load_params(ROOT / "params.yaml", dataset="auckland", privacy={"unit": "day"}).privacy_unit()
    assert day.intervals == 24 and day.ip_sensitivity("discrete_gaussian") == pytest.approx(10 * math.sqrt(24))


def test_week_and_person_units_are_sized_by_the_spec():
    week = _params(unit="week").privacy_unit()
    person = _params(unit="person").privacy_unit()
    # Montreuil's protected period is its whole series, 72 days of 48 intervals.
    assert (week.intervals, person.intervals) == (7 * 48, 72 * 48)
    assert person.ip_sensitivity("discrete_gaussian") == pytest.approx(3 * math.sqrt(2) * math.sqrt(72 * 48))
    assert "the protected period of one person" in person.describe() and "one week" in week.describe()
    # Without a declared protected period there is no person unit, and the message says why.
    with pytest.raises(UnitError, match=r"^privacy\.unit:.*protected_period_days"):
        privacy_unit("person", None, 30, 48, 2, 2.0, math.sqrt(2))


@pytest.mark.parametrize(("privacy", "name"), [
    ({"unit": "persons"}, "privacy.unit"),
    ({"unit": "event", "w": 3}, "privacy.w"),
    ({"unit": "w-event"}, "privacy.w"),
    ({"unit": "w-event", "w": 0}, "privacy.w"),
    ({"unit": "event", "gp": {"accountant": "prv"}}, "privacy.gp.accountant"),
])
def test_a_unit_that_cannot_be_sized_is_refused_by_name(privacy, name):
    with pytest.raises(ConfigError) as info:
        _params(**privacy)
    assert str(info.value).startswith(f"{name}:")


def _recompute_with_dp_accounting(report: dict) -> float:
    """The epsilon of the report's recorded inputs, written here from dp_accounting alone:
    per step, N(0, sigma^2) against the Binomial(k, q) mixture of shifts j * s (s = the
    per-window sensitivity in units of C), both orders, composed over the steps."""
    from dp_accounting.pld import privacy_loss_distribution

    k, q = report["windows_per_unit"], report["sample_rate"]
    s = report["sensitivity_per_window"] / report["max_grad_norm"]
    j = list(range(k + 1))
    weights = [float(stats.binom.pmf(i, k, q)) for i in j]
    keep = [i for i in j if weights[i] > 0]
    total = sum(weights[i] for i in keep)
    pld = privacy_loss_distribution.from_mixture_gaussian_mechanism(
        report["noise_multiplier"], [s * i for i in keep], [weights[i] / total for i in keep],
        value_discretization_interval=1e-3)
    return pld.self_compose(report["steps"]).get_epsilon_for_delta(report["delta"])


@pytest.mark.parametrize(("unit", "sigma", "q", "steps"), [
    ("event", 62.9, 0.0231, 1720),   # the main job's DP-SGD at epsilon 1 per event
    ("event", 8.0, 0.0231, 1720),    # epsilon about 10 per event
    ("day", 484.5, 0.0231, 1720),    # epsilon about 1 per day
    ("w-event", 30.0, 0.09, 220),    # 4 consecutive intervals, larger batches
])
def test_a_unit_epsilon_agrees_with_a_recomputation_from_the_report(unit, sigma, q, steps):
    params = _params(unit=unit, w=4 if unit == "w-event" else None)
    report = gp_report(noise_multiplier=sigma, sample_rate=q, steps=steps, delta=1e-7, max_grad_norm=1.0, n=2770,
                       unit=params.privacy_unit(), window=6, horizon=1).to_json()
    data = json.loads(json.dumps(report, allow_nan=False))  # what privacy.json holds
    recomputed = _recompute_with_dp_accounting(data)
    # Within the discretisation errors of both (pessimistic rounding: both are upper bounds).
    assert data["epsilon"] == pytest.approx(recomputed, rel=0.02)
    assert data["epsilons"]["pld"] <= data["epsilons"]["rdp"] * 1.001
    assert PrivacyReport.from_json(data).summary().endswith(f"per {params.privacy_unit().describe()}")


def test_both_mechanisms_compose_on_one_unit_in_the_ledger():
    unit = _params(unit="event").privacy_unit()
    line = unit.ledger_unit("montreuil", "ip")
    assert line == unit.ledger_unit("montreuil", "gp") == "montreuil: event"
    assert _params(unit="day").privacy_unit().ledger_unit("montreuil", "gp") == "montreuil: day"
    assert _params(unit="w-event", w=4).privacy_unit().ledger_unit("montreuil", "gp") == "montreuil: w-event (w = 4)"
    params = _params(unit="event")
    ledger = open_ledger(params)
    release = release_mechanisms(params, 40.0)
    training = training_mechanisms(params, 62.9, 0.0231, 1720, 2770)
    assert set(release) == set(training) == {"event", "day", "week", "person"}, "every charge lands on every unit"
    ledger.charge("ip:1", release, "ip", "release", "v1")
    alone = ledger.spend("event").epsilon
    assert alone == pytest.approx(epsilon_of(release["event"], ledger.delta), rel=1e-3)
    ledger.charge("gp:1", training, "gp", "training", "v1")
    both = ledger.spend("event").epsilon
    # the two compose on the event: more than either alone, no more than their sum
    assert max(alone, epsilon_of(training["event"], ledger.delta)) < both
    assert both <= (alone + epsilon_of(training["event"], ledger.delta)) * 1.001
    # A run calibrated on the study's unit (one training window) is still charged on every
    # data-level unit: the ledger has no separate line for it any more.
    window = _params(unit="window")
    ledger.charge("gp:2", training_mechanisms(window, 62.9, 0.0231, 1720, 2770), "gp", "study unit", "v1")
    assert ledger.spend("event").epsilon > both
    assert len(ledger.charges()) == 3


def test_different_releases_never_share_a_noise_draw():
    """With the owner's key the noise is derived from the release's random id and the
    delivered intervals: two releases (other ids) draw different noise, even with equal
    terms; the same release and intervals reproduce it (the owner can audit)."""
    import polars as pl

    from dpforecast.privacy.continual_release import (
        ReleaseInfo,
        extend,
        new_release_id,
        release_terms,
    )
    from dpforecast.privacy.randomness import PrivacyKey

    key = PrivacyKey(bytes(32), "test")
    zones = ["a", "b"]
    series = pl.DataFrame({"timestamp": pl.datetime_range(pl.datetime(2020, 1, 1), pl.datetime(2020, 1, 2),
                                                          "30m", eager=True, time_zone="UTC"),
                           "a": 100, "b": 50}).with_columns(pl.col(z).cast(pl.Int64) for z in zones)
    params = _params(mode="ip", epsilon=1.0)
    terms = release_terms(params)
    infos = [ReleaseInfo(release_id=new_release_id(), terms=terms, scale=terms.scale(), unit_epsilons={},
                         randomness="owner key") for _ in range(2)]
    assert infos[0].release_id != infos[1].release_id
    a, _ = extend(series, zones, None, infos[0], key)
    b, _ = extend(series, zones, None, infos[1], key)
    again, _ = extend(series, zones, None, infos[0], key)
    assert not a.equals(b), "two releases from one draw, scaled differently, would reveal the counts"
    assert a.equals(again)
    other_terms = release_terms(_params(mode="ip", epsilon=0.1, unit="day"))
    assert other_terms != terms and other_terms.scale() > terms.scale()


def test_person_level_follows_from_a_spec_that_bounds_a_persons_intervals():
    raw = yaml.safe_load((ROOT / "datasets" / "montreuil.yaml").read_text())
    raw["privacy"]["intervals_per_person"] = 480  # e.g. a panel capped at ten days of presence
    spec = spec_from_dict(raw, "montreuil.yaml")
    assert spec.privacy.intervals_per_person == 480
    with pytest.raises(ConfigError, match="intervals_per_person"):
        spec_from_dict({**raw, "privacy": {**raw["privacy"], "intervals_per_person": 0}}, "montreuil.yaml")


@pytest.mark.slow  # 12-14 s: a day-ahead noise search over 96-window units
def test_a_day_ahead_dp_sgd_plan_accounts_every_window_an_event_touches(tmp_path):
    """Window and horizon come from the params: an event is one of 48 inputs or 48 targets
    of 96 overlapping windows, and the planned epsilon is recomputed independently."""
    from dpforecast.training.private_plan import plan_privacy

    params = load_params(ROOT / "params.yaml", profile="day-ahead",
                         privacy={"mode": "gp", "epsilon": 1.0}, features={"scaling": "log"})
    plan = plan_privacy(params, "gru", 0, 2594, 512, "md5", tmp_path / "none.json", "cpu")
    report = plan.report.to_json()
    assert report["windows_per_unit"] == 96 == unit_accounting.windows_per_unit(48, 48)
    assert report["epsilon"] == pytest.approx(_recompute_with_dp_accounting(report), rel=0.02)
    assert report["epsilon"] <= 1.0
