"""dpforecast.privacy.audit_bound: the epsilon lower bound of one training run's canary guesses
(Steinke, Nasr and Jagielski 2023, Theorem 3.1)."""

from __future__ import annotations

import math

import pytest
from scipy import stats

from dpforecast.privacy.audit_bound import epsilon_lower_bound, p_value


def test_all_guesses_correct_gives_the_closed_form_without_delta():
    # P[Binomial(r, p) >= r] = p^r = beta  =>  p = beta^(1/r), epsilon = log(p / (1 - p)).
    for r in (10, 40, 200):
        p = 0.05 ** (1 / r)
        assert epsilon_lower_bound(r, r, r, 0.0, 0.05) == pytest.approx(math.log(p / (1 - p)), rel=1e-8)


def test_one_guess_wrong_solves_the_binomial_tail_by_hand():
    # v = r - 1: p^r + r p^(r-1) (1 - p) = beta; check the bound's epsilon satisfies it.
    r, beta = 30, 0.05
    eps = epsilon_lower_bound(r, r, r - 1, 0.0, beta)
    p = 1 / (1 + math.exp(-eps))
    assert p**r + r * p ** (r - 1) * (1 - p) == pytest.approx(beta, rel=1e-7)


def test_chance_level_guessing_shows_nothing():
    assert epsilon_lower_bound(1000, 200, 100) == 0.0
    assert epsilon_lower_bound(1000, 200, 60) == 0.0
    assert epsilon_lower_bound(1000, 200, 0) == 0.0


def test_the_bound_grows_with_correct_guesses_and_delta_only_lowers_it():
    bounds = [epsilon_lower_bound(1000, 200, v, 1e-7) for v in range(100, 201)]
    assert all(b2 >= b1 for b1, b2 in zip(bounds, bounds[1:]))
    assert bounds[-1] > bounds[50] > 0
    assert epsilon_lower_bound(1000, 200, 180, 1e-3) < epsilon_lower_bound(1000, 200, 180, 0.0)
    # The delta term is the theorem's: the p-value at the bound is beta.
    eps = epsilon_lower_bound(1000, 200, 180, 1e-3)
    assert p_value(1000, 200, 180, eps, 1e-3) == pytest.approx(0.05, rel=1e-6)


def test_bad_counts_are_refused():
    with pytest.raises(ValueError):
        epsilon_lower_bound(10, 20, 5)
    with pytest.raises(ValueError):
        epsilon_lower_bound(100, 20, 21)


def test_without_delta_the_p_value_is_randomised_responses_binomial_tail():
    q = 1 / (1 + math.exp(-1.5))
    assert p_value(500, 100, 70, 1.5) == pytest.approx(stats.binom.sf(69, 100, q), rel=1e-12)
    assert p_value(500, 100, 0, 1.5, 1e-3) == 1.0  # no correct guess: nothing rejected, delta or not
    # The delta term adds 2 m delta times the largest tail slope: it may take the bound past 1.
    assert p_value(10**6, 100, 70, 1.5, 1e-3) > 1.0


def test_out_of_range_delta_and_beta_are_refused_by_name():
    with pytest.raises(ValueError, match=r"delta must be in \[0, 1\), got 1.0"):
        epsilon_lower_bound(100, 50, 40, delta=1.0)
    with pytest.raises(ValueError, match=r"beta must be in \(0, 1\), got 0.0"):
        epsilon_lower_bound(100, 50, 40, beta=0.0)
    with pytest.raises(ValueError, match="need 0 <= correct <= guesses <= canaries, got v=-1, r=50, m=100"):
        p_value(100, 50, -1, 1.0)
