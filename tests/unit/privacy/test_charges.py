"""Mechanism records and their composition on one privacy unit."""

from __future__ import annotations

import json
import math

import pytest

from dpforecast.privacy.charges import (
    GaussianRelease,
    LaplaceRelease,
    SubsampledGaussian,
    Vacuous,
    compose,
    composed_epsilon,
    epsilon_of,
    gaussian_epsilon,
    mechanism_from_json,
)
from dpforecast.privacy.unit_accounting import unit_epsilon

DELTA = 1e-7
# Small enough to account in a fraction of a second.
DPSGD = SubsampledGaussian(noise_multiplier=2.0, sample_rate=0.02, steps=150, windows=3)


def test_two_gaussians_compose_exactly_into_one():
    a, b = GaussianRelease(4.0, 2.0), GaussianRelease(2.0, 1.5)
    spend = compose([a, b], DELTA)
    combined = GaussianRelease(1.0, math.hypot(a.mu, b.mu))
    assert spend.epsilon == pytest.approx(epsilon_of(combined, DELTA), abs=1e-3)
    assert spend.epsilon >= epsilon_of(combined, DELTA)  # pessimistic: never below the exact value
    assert spend.epsilon < spend.epsilon_basic
    assert spend.epsilon_basic == pytest.approx(epsilon_of(a, DELTA / 2) + epsilon_of(b, DELTA / 2))
    assert (spend.n, spend.delta, spend.vacuous_reason) == (2, DELTA, None)


def test_gaussian_epsilon_solves_the_exact_curve():
    from scipy.stats import norm

    mu = 0.7
    eps = gaussian_epsilon(mu, DELTA)
    assert norm.cdf(mu / 2 - eps / mu) - math.exp(eps) * norm.cdf(-mu / 2 - eps / mu) == pytest.approx(DELTA, rel=1e-6)
    assert gaussian_epsilon(0.0, DELTA) == 0.0


def test_laplace_is_pure_dp():
    laplace = LaplaceRelease(scale=4.0, l1_sensitivity=2.0, discrete=True)
    assert epsilon_of(laplace, DELTA) == 0.5
    spend = compose([laplace, laplace], DELTA)
    assert spend.epsilon_basic == pytest.approx(1.0)
    # Two pure 0.5s: their sum, plus the grid's pessimistic rounding (under 1 %).
    assert 1.0 <= spend.epsilon <= 1.01
    assert spend.epsilon_rdp <= 1.0 + 1e-3


def test_one_dp_sgd_record_is_unit_epsilon():
    spend = compose([DPSGD], DELTA)
    expected = unit_epsilon(DPSGD.noise_multiplier, DPSGD.sample_rate, DPSGD.steps, DELTA, DPSGD.windows)
    assert spend.epsilon == pytest.approx(expected, rel=0.01)
    assert epsilon_of(DPSGD, DELTA) == pytest.approx(expected, rel=0.01)


@pytest.mark.parametrize(
    "records",
    [
        [GaussianRelease(3.0, 1.0)],
        [GaussianRelease(30.0, 1.0)],  # small mu: best RDP order far above 256
        [LaplaceRelease(1.0, 1.0, False)],
        [DPSGD],
        [DPSGD, DPSGD, GaussianRelease(3.0, 1.0), LaplaceRelease(5.0, 1.0, True)],
    ],
    ids=["gaussian", "small-mu", "laplace", "dp-sgd", "mixed"],
)
def test_pld_below_rdp_within_a_factor(records):
    spend = compose(records, DELTA)
    assert 0 < spend.epsilon <= spend.epsilon_rdp * (1 + 1e-3)
    assert spend.epsilon_rdp <= 2.0 * spend.epsilon
    assert spend.epsilon <= spend.epsilon_basic * (1 + 1e-2)


def test_mixed_composition_is_below_the_basic_sum_and_above_each_part():
    records = [DPSGD, GaussianRelease(3.0, 1.0), LaplaceRelease(5.0, 1.0, True)]
    spend = compose(records, DELTA)
    assert spend.epsilon < spend.epsilon_basic
    assert all(spend.epsilon >= epsilon_of(r, DELTA) for r in records)
    assert composed_epsilon(records, DELTA) == spend.epsilon


def test_vacuous_propagates():
    reason = "DP-SGD: every window holds this person"
    spend = compose([GaussianRelease(3.0, 1.0), Vacuous(reason)], DELTA)
    assert spend.epsilon == spend.epsilon_rdp == spend.epsilon_basic == math.inf
    assert spend.vacuous_reason == reason and spend.n == 2
    assert epsilon_of(Vacuous(reason), DELTA) == math.inf
    assert composed_epsilon([DPSGD, Vacuous(reason)], DELTA) == math.inf


def test_empty_is_zero():
    spend = compose([], DELTA)
    assert (spend.epsilon, spend.epsilon_rdp, spend.epsilon_basic, spend.n) == (0.0, 0.0, 0.0, 0)


@pytest.mark.parametrize(
    "record",
    [GaussianRelease(2.5, 1.0), LaplaceRelease(3.0, 2.0, False), DPSGD,
     SubsampledGaussian(1.1, 0.5, 7, 1, sensitivity_per_window=1.0), Vacuous("no clipping")],
)
def test_json_round_trip(record):
    data = json.loads(json.dumps(record.to_json()))
    assert data["kind"] in ("gaussian", "laplace", "subsampled_gaussian", "vacuous")
    assert mechanism_from_json(data) == record


def test_bad_records_are_refused():
    with pytest.raises(ValueError, match="unknown mechanism kind"):
        mechanism_from_json({"kind": "exponential"})
    with pytest.raises(ValueError, match="needs fields"):
        mechanism_from_json({"kind": "gaussian", "sigma": 1.0})
    with pytest.raises(ValueError, match="sigma"):
        GaussianRelease(0.0, 1.0)
    with pytest.raises(ValueError, match="steps"):
        SubsampledGaussian(1.0, 0.1, 0, 1)
    with pytest.raises(ValueError, match="delta"):
        compose([DPSGD], 0.0)


def test_a_dp_sgd_record_whose_pld_dp_accounting_cannot_build_falls_back_to_its_rdp_bound():
    """A week-unit DP-SGD record (342 windows a person touches, sigma 24.3): dp_accounting's
    mixture PLD raises "a must be greater than b"; the ledger's report must still answer, with
    the RDP bound (an upper bound from its own accountant), not a traceback."""
    from dpforecast.privacy.charges import SubsampledGaussian, compose
    from dpforecast.privacy.unit_accounting import unit_pld

    week = SubsampledGaussian(noise_multiplier=24.320343017578125, sample_rate=0.1847041847041847, steps=50,
                              windows=342, sensitivity_per_window=2.0)
    with pytest.raises(ValueError, match="a must be greater than b"):  # dp_accounting's own failure
        unit_pld(week.noise_multiplier, week.sample_rate, week.windows, week.sensitivity_per_window, 1e-3)
    spent = compose([week, week], 1e-6)
    assert math.isfinite(spent.epsilon) and spent.epsilon == spent.epsilon_rdp
