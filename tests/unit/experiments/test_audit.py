"""The privacy audit: what its bound can show (the bound itself: privacy/test_audit_bound.py),
its canaries' scoring, and that the real DP-SGD path stays
within its claims while the same path with the noise off is caught far above them."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from dpforecast.experiments.audit import (
    BETA,
    Canaries,
    ScoreLaw,
    correct_guesses,
    reach_k,
    report_markdown,
    run_audit,
    summary,
    tight_k,
)
from dpforecast.privacy import unit_accounting
from dpforecast.privacy.audit_bound import epsilon_lower_bound
from dpforecast.privacy.randomness import SecretStream

from audit_seams import NoiselessStream
from project_roots import make_root

# A BiGRU-8 on 3 days of public synthetic counts (138 windows, q 0.46, 8 steps): each training
# takes about a second; canaries cost a uniform per canary window per step, so m can be large.
SMALL = {"architectures": {"bigru": {"units": 8}}, "train": {"epochs": 4, "batch_size": 64}}
DAYS = 3
CANARIES = 20_000


# ---------------------------------------------------------------------------------- the bound


def test_the_most_a_number_of_guesses_can_show_grows_like_the_log_of_the_guesses():
    # All r guesses right: epsilon = log(p / (1 - p)), p = beta^(1/r), about log(r / log(1/beta)).
    for r in (1_000, 10_000, 100_000):
        assert epsilon_lower_bound(r, r, r, 0.0, BETA / 2) == pytest.approx(math.log(r / math.log(2 / BETA)), abs=0.01)
    # So a claim of 8 needs about 9,000 guesses all right to be exceeded at all.
    assert epsilon_lower_bound(20_000, 8_000, 8_000, 1e-7, BETA / 2) < 8 < epsilon_lower_bound(
        20_000, 19_000, 19_000, 1e-7, BETA / 2)


# ---------------------------------------------------------------------------------- scoring


def test_guesses_take_the_top_and_bottom_scores():
    scores = np.array([0.9, 0.1, 0.8, 0.2, 0.5])
    included = np.array([True, False, False, False, True])
    assert correct_guesses(scores, included, 2) == 3  # in: 0 (yes), 2 (no); out: 1, 3 (both yes)
    with pytest.raises(ValueError):
        correct_guesses(scores, included, 3)


class _Optimiser:
    """What ``Canaries.observe`` reads of ``NoisyClippedSum``."""

    expected_batch_size = 4
    accumulated_iterations = 1


def test_window_canaries_are_the_included_ones_and_score_c_per_pick():
    included = np.array([True, False, True, True])
    hook = Canaries("window", included, 1, max_grad_norm=2.0)
    assert hook.windows == 3 and list(hook.owner) == [0, 2, 3]  # an out canary is no window of the data set
    hook.inject(torch.tensor([0, 2]))  # windows 0 and 2: canaries 0 and 3
    assert hook.block.grad.tolist() == [2.0, 0.0, 0.0, 2.0]  # clipped sum: C on each picked canary's coordinate
    hook.block.grad = hook.block.grad / 4  # NoisyClippedSum's division by the expected batch size (no noise)
    hook.observe(_Optimiser())
    hook.inject(torch.tensor([0]))
    hook.block.grad = hook.block.grad / 4
    hook.observe(_Optimiser())
    assert hook.scores.tolist() == [2.0, 0.0, 0.0, 1.0] and hook.steps == 2 and hook.picks == 3  # units of C


def test_event_canaries_are_k_windows_of_plus_or_minus_c():
    included = np.array([True, False])
    hook = Canaries("event", included, 3, max_grad_norm=1.0)
    assert hook.windows == 6 and list(hook.owner) == [0, 0, 0, 1, 1, 1]
    hook.inject(torch.tensor([0, 1, 3, 4, 5]))  # two windows of the in event, three of the out one
    assert hook.block.grad.tolist() == [2.0, -3.0]
    hook.block.grad = hook.block.grad / 4
    hook.observe(_Optimiser())
    assert hook.scores.tolist() == [2.0, -3.0]
    with pytest.raises(ValueError):
        Canaries("person", included, 3, 1.0)


def test_the_score_law_matches_simulated_scores_and_the_claims_gaussian_mu():
    sigma, q, steps, k = 20.0, 0.3, 40, 7
    law = ScoreLaw.of("event", sigma, q, steps, k)
    rng = np.random.default_rng(0)
    picks = rng.binomial(k * steps, q, 20_000)
    noise = rng.normal(0, sigma * math.sqrt(steps), 20_000)
    assert np.mean(picks + noise) == pytest.approx(law.mean_in, abs=0.05 * law.sd_in)
    assert np.std(picks + noise) == pytest.approx(law.sd_in, rel=0.03)
    # The expected correct guesses are between chance and all, and more separation means more.
    m, kk = 10_000, 500
    weak, strong = ScoreLaw.of("event", 200.0, q, steps, k), law
    assert kk < weak.expected_correct(m, kk) < strong.expected_correct(m, kk) < 2 * kk
    assert 1 <= tight_k(law, m, 1e-7, BETA / 2) <= m // 2


def test_the_reach_rule_leaves_a_margin_for_the_split():
    for m in (200, 20_000, 200_000):
        k = reach_k(m)
        assert m / 2 - 2 * math.sqrt(m) < k < m / 2 - math.sqrt(m)


# ---------------------------------------------------------------------------------- the audit


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    return make_root(tmp_path_factory.mktemp("audit"))


@pytest.fixture(scope="module")
def noisy(root):
    return run_audit(root, "bigru", (8.0,), CANARIES, seed=0, overrides=SMALL, days=DAYS)


@pytest.fixture(scope="module")
def noise_off(root):
    return run_audit(root, "bigru", (1.0, 8.0), CANARIES, seed=0, overrides=SMALL, days=DAYS, streams=NoiselessStream)


@pytest.mark.real_data
def test_the_real_run_stays_within_its_claims_at_eight_per_event(noisy, root):
    assert noisy.private and not noisy.charged and not noisy.contradicted
    (claim,) = noisy.claims
    q, steps, delta = noisy.sample_rate, noisy.steps, noisy.delta
    assert 0 < q < 1 and steps == 8 and noisy.windows_per_event == 7
    # The claims are the PLD epsilons of this run's sigma, q and T: the event's meets the target.
    event, window = claim.event, claim.window
    assert event.claim == pytest.approx(unit_accounting.unit_epsilon(claim.noise_multiplier, q, steps, delta, 7, 2.0))
    assert 7.9 < event.claim <= 8.0 * (1 + 1e-3)
    assert window.claim == pytest.approx(unit_accounting.unit_epsilon(claim.noise_multiplier, q, steps, delta, 1, 1.0))
    assert window.claim < event.claim / 5
    for kind in (window, event):
        assert kind.epsilon_lower_bound <= kind.claim and not kind.contradicted
        assert kind.steps_observed == steps and kind.canaries == CANARIES
        assert 0.4 * CANARIES < kind.included < 0.6 * CANARIES
    assert event.canary_windows == 7 * CANARIES and window.canary_windows == window.included
    # The audit has power: event canaries see a good part of the claim, and could see above it.
    assert event.epsilon_lower_bound > 1.0
    assert event.max_epsilon > event.claim
    # The scores separate as the configured mechanism says (Gaussian-DP mu of the claim).
    assert event.observed_separation == pytest.approx(event.expected_separation, abs=0.15)
    assert "No claim is contradicted" in report_markdown(noisy) and "Not charged" in report_markdown(noisy)
    assert not (root / "privacy_ledger.json").exists()


@pytest.mark.real_data
def test_the_max_epsilon_is_all_guesses_correct(noisy):
    for kind in (noisy.claims[0].window, noisy.claims[0].event):
        tight, reach = kind.guesses
        assert (tight.rule, reach.rule) == ("tight", "reach") and tight.beta == reach.beta == BETA / 2
        assert reach.k == reach_k(CANARIES) and tight.k <= reach.k
        for g in kind.guesses:
            assert g.r == 2 * g.k and g.v <= g.r
            assert g.max_epsilon == pytest.approx(epsilon_lower_bound(CANARIES, g.r, g.r, noisy.delta, BETA / 2))
            assert g.epsilon_lower_bound <= g.max_epsilon
        assert kind.max_epsilon == max(g.max_epsilon for g in kind.guesses) == reach.max_epsilon
        assert kind.epsilon_lower_bound == max(g.epsilon_lower_bound for g in kind.guesses)


@pytest.mark.real_data
def test_the_noise_off_seam_is_caught_far_above_the_claims(noise_off):
    assert not noise_off.private and noise_off.contradicted and "NoiselessStream" in noise_off.noise
    low, high = noise_off.claims
    # The sigmas are the claims' (the seam changes nothing but the normals).
    assert low.noise_multiplier > high.noise_multiplier > 1
    for claim in (low, high):
        window, event = claim.window, claim.event
        assert window.epsilon_lower_bound > 5 * window.claim and window.contradicted
        # Without noise the event canaries separate perfectly: every guess right, the maximum.
        assert event.guesses[1].v == event.guesses[1].r
        assert event.epsilon_lower_bound == pytest.approx(event.max_epsilon)
    assert low.event.epsilon_lower_bound > 5 * low.event.claim
    # At 8 per event 20,000 canaries can show at most 8.6: above the claim, not far above it.
    assert high.event.epsilon_lower_bound > high.event.claim and high.event.contradicted
    text = report_markdown(noise_off)
    assert "CONTRADICTED" in text and "NOT A PRIVATE RUN" in text and "NOT a private run" in summary(noise_off)


@pytest.mark.real_data
def test_the_result_is_json(noisy):
    out = json.loads(json.dumps(noisy.to_json()))
    assert out["claims"][0]["event"]["kind"] == "event" and out["contradicted"] is False
    assert out["charged"] is False and len(out["claims"][0]["window"]["guesses"]) == 2


def test_a_noiseless_stream_draws_the_same_batches():
    seed = b"s" * 32
    assert np.array_equal(SecretStream(seed).uniform(10), NoiselessStream(seed).uniform(10))
    assert not NoiselessStream(seed).normal(5).any()
