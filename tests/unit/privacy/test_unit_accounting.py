"""Data-level (event, day) epsilons of DP-SGD: unit_accounting and its place in the report."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy import stats

from dpforecast.privacy import accounting
from dpforecast.privacy.dp_sgd_accountant import DPSGDAccountant
from dpforecast.privacy.unit_accounting import (
    unit_epsilon,
    unit_epsilon_rdp,
    unit_pld,
    unit_rdp,
    windows_per_unit,
)

# The main job's DP-SGD run (issue 9).
MAIN = dict(noise_multiplier=4.87, sample_rate=0.0231, steps=1720, delta=1e-7)


def test_windows_per_unit():
    assert windows_per_unit(6, 1) == 7  # one event
    assert windows_per_unit(6, 1, 48) == 54  # one day of 30-minute intervals
    assert windows_per_unit(1, 1) == 2
    assert windows_per_unit(6, 3, 2) == 10
    with pytest.raises(ValueError):
        windows_per_unit(0, 1)
    with pytest.raises(ValueError):
        windows_per_unit(6, 1, 0)


@pytest.mark.parametrize(
    "bad",
    [
        dict(noise_multiplier=0.0),
        dict(noise_multiplier=-1.0),
        dict(sample_rate=0.0),
        dict(sample_rate=1.5),
        dict(steps=0),
        dict(delta=0.0),
        dict(delta=1.0),
        dict(windows=0),
    ],
)
def test_bad_inputs_raise(bad):
    args = dict(MAIN, windows=7) | bad
    with pytest.raises(ValueError):
        unit_epsilon(**args)
    with pytest.raises(ValueError):
        unit_epsilon_rdp(**args)


def test_one_window_rdp_is_the_sampled_gaussian():
    orders = [2, 3, 10, 50]
    for sigma, q in ((1.0, 0.01), (2.0, 0.3), (4.87, 0.0231)):
        np.testing.assert_allclose(
            unit_rdp(sigma, q, 1, 1.0, orders), accounting.sampled_gaussian_rdp(sigma, q, 1, orders), rtol=1e-8
        )


@pytest.mark.parametrize(
    "sigma, q, steps, delta",
    [(35.0, 5 / 3120, 62_400, 1e-7), (1.0, 0.01, 1000, 1e-5)],
)
def test_one_window_sensitivity_one_is_the_per_window_epsilon(sigma, q, steps, delta):
    pld = unit_epsilon(sigma, q, steps, delta, windows=1, sensitivity_per_window=1.0)
    rdp = DPSGDAccountant("rdp").epsilon(sigma, q, steps, delta)
    err = accounting.default_prv_eps_error(rdp)
    prv = accounting.prv_epsilon(sigma, q, steps, delta, eps_error=err)
    # PRV returns estimate + err, and the true epsilon is within err of the estimate.
    assert prv - 2 * err - 0.005 * pld <= pld <= prv + 0.005 * pld
    assert pld <= rdp
    assert unit_epsilon_rdp(sigma, q, steps, delta, 1, 1.0) == pytest.approx(rdp, rel=0.2)


def test_main_job_event_epsilon():
    eps = unit_epsilon(**MAIN, windows=windows_per_unit(6, 1))
    assert 15.0 <= eps <= 25.0
    assert eps == pytest.approx(19.056, rel=0.01)  # PLD at discretisation 1e-4: 19.0558
    assert eps <= unit_epsilon_rdp(**MAIN, windows=7)


@pytest.mark.parametrize(
    "sigma, q, steps, delta, windows",
    [
        (4.87, 0.0231, 1720, 1e-7, 7),
        (4.87, 0.0231, 1720, 1e-5, 3),
        (1.0, 0.3, 5, 1e-3, 2),
        (35.0, 5 / 3120, 62_400, 1e-7, 7),
        (2.0, 1.0, 10, 1e-6, 2),
    ],
)
def test_pld_below_rdp_upper_bound(sigma, q, steps, delta, windows):
    assert unit_epsilon(sigma, q, steps, delta, windows) <= unit_epsilon_rdp(sigma, q, steps, delta, windows)


def test_more_windows_more_epsilon():
    eps = [unit_epsilon(**MAIN, windows=k) for k in (1, 2, 7, 14)]
    assert all(a < b for a, b in zip(eps, eps[1:]))


def test_one_window_dominates_the_tight_replace_one_pair():
    from dp_accounting.pld import privacy_loss_distribution as pldm

    for sigma, q, steps, delta in ((1.0, 0.3, 10, 1e-5), (4.87, 0.0231, 1720, 1e-7)):
        tight = pldm.from_gaussian_mechanism(
            sigma, sensitivity=1.0, sampling_prob=q, value_discretization_interval=1e-3,
            neighboring_relation=pldm.NeighborRel.REPLACE_ONE,
        ).self_compose(steps).get_epsilon_for_delta(delta)
        assert unit_epsilon(sigma, q, steps, delta, 1) >= tight


# ---------------------------------------------------------------- brute force

SIGMA, Q, K, S = 1.0, 0.3, 2, 2.0
H = 0.02
X = np.arange(-10.0, K * S + 10.0, H)


def _densities() -> tuple[np.ndarray, np.ndarray]:
    """N(0, 1) and the mixture sum_j Binom(2, 0.3)(j) N(2 j, 1) on the grid."""
    gauss = stats.norm.pdf(X, scale=SIGMA)
    weights = stats.binom.pmf(np.arange(K + 1), K, Q)
    mixture = sum(w * stats.norm.pdf(X, loc=S * j, scale=SIGMA) for j, w in enumerate(weights))
    return gauss, mixture


def _hockey_stick(p: np.ndarray, q: np.ndarray, eps: float, steps: int) -> float:
    """int max(0, P - e^eps Q) over the grid (1 step) or its square (2 steps: product densities)."""
    if steps == 1:
        return float(np.maximum(0.0, p - math.exp(eps) * q).sum() * H)
    return float(np.maximum(0.0, np.outer(p, p) - math.exp(eps) * np.outer(q, q)).sum() * H * H)


def test_pld_matches_brute_force_hockey_stick():
    """The PLD's delta(eps), each direction and their max, against direct integration.

    Tolerance 2e-4 absolute: the grid's error is about 1e-5 (h = 0.02 against 0.01), the
    PLD's pessimistic rounding at discretisation 1e-2 adds about 1e-5 here. The ADD
    direction's loss is at most -ln Binom(2, 0.3)(0) = 0.71 per step: its delta is 0 above.
    """
    gauss, mixture = _densities()
    one = unit_pld(SIGMA, Q, K, S, 1e-2)
    plds = {1: one, 2: one.self_compose(2)}
    for steps, eps in [(1, 0.3), (1, 0.5), (1, 1.0), (1, 2.0), (2, 0.5), (2, 1.0), (2, 2.5)]:
        add = _hockey_stick(gauss, mixture, eps, steps)  # N(0) against the mixture
        remove = _hockey_stick(mixture, gauss, eps, steps)  # the mixture against N(0)
        pld = plds[steps]
        # dp_accounting keeps the directions apart (private attributes, no public accessor).
        assert pld._pmf_add.get_delta_for_epsilon(eps) == pytest.approx(add, abs=2e-4)
        assert pld._pmf_remove.get_delta_for_epsilon(eps) == pytest.approx(remove, abs=2e-4)
        assert pld.get_delta_for_epsilon(eps) == pytest.approx(max(add, remove), abs=2e-4)
        # and unit_epsilon inverts it: epsilon at the brute-force delta is eps
        delta = max(add, remove)
        assert unit_epsilon(SIGMA, Q, steps, delta, K, S, value_discretization_interval=1e-2) == pytest.approx(
            eps, abs=5e-3
        )


# ---------------------------------------------------------------- report


def _units(*names: str):
    from pathlib import Path

    from dpforecast.config import load_params

    root = Path(__file__).resolve().parents[3]
    return tuple(load_params(root / "params.yaml", privacy={"unit": n}).privacy_unit() for n in names)


def test_gp_report_states_event_and_day_epsilons():
    from dpforecast.privacy.report import MEANINGLESS_EPSILON, PrivacyReport, gp_report

    window_unit, event_unit, day_unit = _units("window", "event", "day")
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
    from dpforecast.privacy.report import gp_report

    (event_unit,) = _units("event")
    r = gp_report(**MAIN, max_grad_norm=1.0, n=3000, unit=event_unit, window=6, horizon=1)
    assert r.accountant == "pld" and r.unit_name == "event" and r.windows_per_unit == 7
    assert r.epsilon == r.epsilons["pld"] == pytest.approx(19.056, rel=0.01)
    assert r.epsilons["pld"] <= r.epsilons["rdp"]
    assert r.sensitivity_per_window == 2.0 and r.neighbouring.startswith("replace one unit")
    assert r.summary().startswith("ε = 19.") and r.summary().endswith(f"per {event_unit.describe('gp')}")
