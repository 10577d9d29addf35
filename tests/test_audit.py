"""The one-run canary audit: its bound, and that it catches a "private" run without noise
while a noisy run stays within its claim."""

from __future__ import annotations

import math

import numpy as np
import pytest
from audit_seams import fit_clipped_without_noise
from project_roots import make_root

from dpforecast.config import load_params
from dpforecast.privacy.audit import correct_guesses, report_markdown, run_audit, summary
from dpforecast.privacy.audit_bound import epsilon_lower_bound, p_value
from dpforecast.privacy.budget import open_ledger

# One week of Montreuil's history, a BiGRU-32, 60 epochs: each audit trains in seconds.
SMALL = {"train": {"epochs": 60}, "architectures": {"bigru": {"units": 32}}, "split": {"history_days": 7}}
CANARIES = 200


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


def test_guesses_take_the_top_and_bottom_scores():
    scores = np.array([0.9, 0.1, 0.8, 0.2, 0.5])
    included = np.array([True, False, False, False, True])
    assert correct_guesses(scores, included, 2) == 3  # in: 0 (yes), 2 (no); out: 1, 3 (both yes)
    with pytest.raises(ValueError):
        correct_guesses(scores, included, 3)


def test_the_audit_catches_a_private_run_that_adds_no_noise(tmp_path):
    root = make_root(tmp_path, SMALL)
    result = run_audit(root, "bigru", CANARIES, seed=0, epsilon=1.0, trainer=fit_clipped_without_noise)
    assert not result["private"] and result["noise_multiplier"] == 0.0
    # The claim is the noisy configuration's (per window, at most the target of its privacy
    # unit): what a run that forgot its noise would report.
    assert 0 < result["claimed_epsilon"] <= 1.0 * (1 + 1e-3)
    assert result["epsilon_lower_bound"] > result["claimed_epsilon"] and result["contradicted"]
    assert "CONTRADICTED" in report_markdown(result) and "NOT a private run" in summary(result)
    assert open_ledger(load_params(root / "params.yaml")).charges() == []  # no epsilon to charge


def test_a_noisy_run_stays_within_its_claim_and_is_charged(tmp_path):
    # epsilon 2 per event is about 19 per day, above the default day budget (16): lift it
    # (tracked, not limited) so that the audit runs and its charge can be seen.
    root = make_root(tmp_path, {**SMALL, "privacy": {"budget": {"day": None}}})
    result = run_audit(root, "bigru", CANARIES, seed=0, epsilon=2.0)
    assert result["private"] and result["noise_multiplier"] > 0
    assert 0 < result["claimed_epsilon"] <= 2.0 * (1 + 1e-3)
    assert result["epsilon_lower_bound"] <= result["claimed_epsilon"] and not result["contradicted"]
    assert result["k"] == CANARIES // 10 and result["r"] == 2 * result["k"]
    assert "not shown to be less private than claimed" in report_markdown(result)
    charges = open_ledger(load_params(root / "params.yaml")).charges()
    assert [c.mode for c in charges] == ["gp"]
