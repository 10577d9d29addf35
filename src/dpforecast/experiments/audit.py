"""An audit of DP-SGD with power: white-box canaries in the clipped sum (Steinke, Nasr and
Jagielski 2023, "Privacy Auditing with One (1) Training Run"), for the two claims a run
makes (per training window, and per event through the real window overlap), at several claim
sizes, each beside the largest epsilon its canaries could ever show.

What is trained
---------------
The project's DP-SGD code path, unchanged: :func:`~dpforecast.training.dp_sgd.fit_private`
with its engine, Poisson sampling and :class:`~dpforecast.training.dp_sgd.NoisyClippedSum`
noise from a :class:`~dpforecast.privacy.randomness.SecretStream`, the default DP-SGD model and
loop (params.yaml under the ``dp-sgd`` profile), on PUBLIC synthetic windows of the data set's
shape (:func:`public_windows`: :func:`dpforecast.data.synthetic.generate` with the data set's
zones, hierarchy, interval and clock, as many days as Montreuil's training history, so the
sample rate and the step count are the real run's). A mechanism's privacy does not depend on
the data it runs on, and an audit on public data reads no private window: it spends no
privacy budget and is NOT charged to the data set's ledger.

Canaries
--------
``fit_private`` takes an audit hook (:class:`~dpforecast.training.dp_sgd.AuditHook`,
:class:`Canaries` here): a block of ``m`` coordinates appended to the model's parameters in
the optimiser, which adds its noise to them with the model's (one draw per step) and steps
them; no real window's loss depends on them, so the real windows' clipped gradients are
exactly zero there (the accountant assumes the other windows' contributions known: this is
the strongest white-box auditor it must still cover). Canary ``i`` owns coordinate ``i``;
each canary window is a Dirac gradient of norm ``C`` on it, Poisson-sampled at every step with
the run's sample rate, after the real batch, from the same stream. The auditor sees every
step's noisy averaged gradient (Opacus's step hook, after the noise) and scores canary ``i``
by the sum over the steps of coordinate ``i`` (in units of ``C``).

``window`` canaries
    each one window, in the data set with probability 1/2 (add/remove one window of norm
    ``C``): the claim audited is the run's per-window PLD epsilon,
    ``unit_epsilon(sigma, q, T, delta, 1, 1.0)``.
``event`` canaries
    each ``k`` windows (``k`` = the windows one event touches, ``window + horizon``), all in
    the data set, all ``+C`` (in) or all ``-C`` (out) with probability 1/2 (replace adjacency:
    ``2C`` per window), each window sampled independently: the claim audited is the event's
    PLD epsilon, ``unit_epsilon(sigma, q, T, delta, k, 2.0)``; ``sigma`` is calibrated to each
    target claim per event by the planner's :func:`~dpforecast.privacy.budget.noise_for`.

Guesses and the bound
---------------------
Two guess counts are fixed before any draw, each tested at ``beta / 2`` (a union bound: the
audit's epsilon-hat is the larger of the two bounds and holds at ``1 - beta`` = 95 %):

``tight``
    the ``k`` whose expected bound is largest for the mechanism as configured (Gaussian
    approximation of the scores' laws from ``sigma``, ``q``, ``T``: public, no draw): the
    closest the audit can come to the claim if the run is as private as claimed;
``reach``
    nearly every canary guessed (:func:`reach_k`: ``k = (m - 3 sqrt(m)) / 2``): the largest
    epsilon-hat these canaries could ever show, so a leak far above the claim is seen.

The auditor guesses "in" for the ``k`` highest scores, "out" for the ``k`` lowest;
:func:`~dpforecast.privacy.audit_bound.epsilon_lower_bound` turns the correct guesses into
epsilon-hat. ``max_epsilon`` (all guesses correct) is the audit's power: no run, however
leaky, can show more with these ``m`` and ``k``.

Why q and T are the real run's and m is large: with the noise multipliers these claims need
(14 and more), one step is deep in the Gaussian regime, where the score's separation over its
spread equals the claim's Gaussian-DP mu to within 4 % whatever ``q`` and ``T`` (checked for
q 0.2-1, T 50-1,000): more steps or a larger ``q`` buy no power, only time. The power is in
``m``: one-run audits are bounded by ``log(r / log(1/beta))`` for ``r`` guesses, so ``m`` is as
large as a few minutes allow (canaries cost a uniform per canary window per step, not a
model evaluation).
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from scipy import optimize, stats

from dpforecast.config import Params, deep_merge, load_params
from dpforecast.data.synthetic import TIMESTAMP, generate
from dpforecast.experiments.variants import MODE_OVERRIDES, MODE_PROFILES
from dpforecast.features.calendar import CALENDAR_FEATURES, add_calendar_features
from dpforecast.privacy.audit_bound import epsilon_lower_bound
from dpforecast.privacy.budget import noise_for
from dpforecast.privacy.dp_sgd_accountant import DPSGDAccountant
from dpforecast.privacy.randomness import SecretStream
from dpforecast.runtime.io import write_json, write_text
from dpforecast.runtime.paths import Paths
from dpforecast.training.build import build_model, private_options
from dpforecast.training.device import select_device
from dpforecast.training.dp_sgd import NoisyClippedSum, fit_private

BETA = 0.05
KINDS = ("window", "event")
#: Target claims per event (``dpforecast audit --claims``).
DEFAULT_CLAIMS = (1.0, 4.0, 8.0)
#: Canaries per kind and claim (``--canaries``): the reach rule's largest epsilon-hat is 10.8.
DEFAULT_CANARIES = 200_000
#: Days of public synthetic counts: Montreuil's training history (72 days less 7 of test and
#: 7 of validation, about 2,780 windows), so q and T are the default run's.
DEFAULT_DAYS = 58
#: Guess counts per side the tight rule chooses among, as fractions of the canaries.
TIGHT_FRACTIONS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2)
CLAIMED_UNITS = {
    "window": "one training window added or removed (C)",
    "event": "one event replaced: the {k} windows it touches, 2C each",
}

#: ``seed -> stream`` of one training's draws (membership, batches, noise); FOR TESTS the
#: seam ``tests/audit_seams.py`` passes one whose normals are zero.
StreamFactory = Callable[[bytes], SecretStream]


# -------------------------------------------------------------------------------- the data


def audit_params(root: Path, model: str, overrides: dict[str, Any] | None = None) -> Params:
    """params.yaml's DP-SGD configuration of ``model`` (the ``dp-sgd`` profile, log scaling)."""
    over = deep_merge({"train": {"model": model}}, MODE_OVERRIDES["gp"])
    return load_params(root / "params.yaml", profile=MODE_PROFILES["gp"], **deep_merge(over, overrides or {}))


def public_windows(params: Params, days: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Training windows ``(n, window, zones + calendar)`` and targets ``(n, horizon, zones)`` in
    raw counts, from ``days`` days of public synthetic counts of the data set's shape (its
    number of zones, its hierarchy, its interval and time zone) with the project's calendar
    features: public data, no window of the data set is read."""
    spec = params.data_set
    zones = len(spec.zones)
    hierarchy = bool(spec.privacy.contains) and zones >= 2
    frame = generate(zones, days, spec.interval_minutes, timezone=spec.timezone, seed=seed, hierarchy=hierarchy)
    frame = add_calendar_features(frame, params.features.week_period_days)
    ids = [c for c in frame.columns if c not in (TIMESTAMP, *CALENDAR_FEATURES)]
    values = frame.select(*ids, *CALENDAR_FEATURES).to_numpy().astype(np.float32)
    window, horizon = params.features.window, params.features.horizon
    n = len(values) - window - horizon + 1
    if n < 1:
        raise ValueError(f"{days} days are too short for window {window} and horizon {horizon}")
    starts = np.arange(n)
    x = values[starts[:, None] + np.arange(window)[None, :]]
    y = values[starts[:, None] + window + np.arange(horizon)[None, :], :zones]
    return x, np.ascontiguousarray(y)


# -------------------------------------------------------------------------------- canaries


class Canaries:
    """``m`` canaries of one kind on a block of ``m`` coordinates: ``fit_private``'s audit hook.

    ``window``: the included canaries are one window each, ``+C`` on their coordinate (the
    others are not in the data set). ``event``: every canary is ``per_canary`` windows, all
    ``+C`` when it is in, all ``-C`` when it is out. ``scores[i]``: the sum over the steps of
    the noisy gradient's coordinate ``i``, in units of ``C`` (the clipped sum's scale).
    """

    def __init__(self, kind: str, included: np.ndarray, per_canary: int, max_grad_norm: float,
                 device: torch.device | str = "cpu") -> None:
        if kind not in KINDS:
            raise ValueError(f"canary kind must be one of {KINDS}, got {kind!r}")
        self.kind, self.included = kind, np.asarray(included, dtype=bool)
        self.m, self.max_grad_norm = len(self.included), float(max_grad_norm)
        if kind == "window":
            self.owner = np.flatnonzero(self.included)
            sign = np.ones(len(self.owner))
        else:
            self.owner = np.repeat(np.arange(self.m), per_canary)
            sign = np.where(self.included[self.owner], 1.0, -1.0)
        self.value = sign * self.max_grad_norm  # each canary window's clipped gradient on its coordinate
        self.windows = len(self.owner)
        self.block = torch.nn.Parameter(torch.zeros(self.m, device=device))
        self.scores = np.zeros(self.m)
        self.picks = 0  # canary windows sampled over the run
        self.steps = 0

    def inject(self, picked: torch.Tensor) -> None:
        idx = picked.cpu().numpy()
        self.picks += len(idx)
        grad = np.bincount(self.owner[idx], weights=self.value[idx], minlength=self.m)
        self.block.grad = torch.from_numpy(grad).to(self.block.device, self.block.dtype)

    def observe(self, optimiser: NoisyClippedSum) -> None:
        # p.grad = (clipped sum + noise) / (expected batch size x accumulated iterations): undo it.
        scale = optimiser.expected_batch_size * optimiser.accumulated_iterations / self.max_grad_norm
        self.scores += self.block.grad.detach().double().cpu().numpy() * scale
        self.steps += 1


def correct_guesses(scores: np.ndarray, included: np.ndarray, k: int) -> int:
    """Correct guesses of "in" for the ``k`` highest scores and "out" for the ``k`` lowest."""
    if not 0 < 2 * k <= len(scores):
        raise ValueError(f"k must be in [1, m/2], got {k} for {len(scores)} canaries")
    order = np.argsort(scores, kind="stable")
    return int(included[order[-k:]].sum() + (~included[order[:k]]).sum())


@dataclass(frozen=True)
class ScoreLaw:
    """Gaussian approximation of a canary's score (units of ``C``) when in and when out."""

    mean_in: float
    sd_in: float
    mean_out: float
    sd_out: float

    @classmethod
    def of(cls, kind: str, noise_multiplier: float, sample_rate: float, steps: int, per_canary: int) -> ScoreLaw:
        noise = noise_multiplier**2 * steps
        sampled = sample_rate * steps  # expected picks of one canary window
        var_picks = steps * sample_rate * (1 - sample_rate)
        if kind == "window":
            return cls(sampled, math.sqrt(noise + var_picks), 0.0, math.sqrt(noise))
        k = per_canary
        sd = math.sqrt(noise + k * var_picks)
        return cls(k * sampled, sd, -k * sampled, sd)

    def expected_correct(self, m: int, k: int) -> float:
        """Expected correct guesses of the top and bottom ``k`` of ``m`` canaries, half in."""
        def above(t: float, mean: float, sd: float) -> float:
            return float(stats.norm.sf(t, mean, sd))

        def top_threshold(t: float) -> float:  # a fraction k / m of the scores is above t
            return 0.5 * (above(t, self.mean_in, self.sd_in) + above(t, self.mean_out, self.sd_out)) - k / m

        def bottom_threshold(t: float) -> float:  # a fraction k / m is below t
            return 0.5 * (2.0 - above(t, self.mean_in, self.sd_in) - above(t, self.mean_out, self.sd_out)) - k / m

        reach = 50.0 * max(self.sd_in, self.sd_out, 1.0) + abs(self.mean_in) + abs(self.mean_out)
        top = optimize.brentq(top_threshold, -reach, reach)
        bottom = optimize.brentq(bottom_threshold, -reach, reach)
        return m * 0.5 * (above(top, self.mean_in, self.sd_in) + 1.0 - above(bottom, self.mean_out, self.sd_out))


def tight_k(law: ScoreLaw, m: int, delta: float, beta: float) -> int:
    """The guesses per side whose expected bound is largest (ties: the smaller ``k``): fixed
    from the configured mechanism's score laws before any draw."""
    best, best_k = -1.0, 1
    for fraction in TIGHT_FRACTIONS:
        k = max(1, int(fraction * m))
        if 2 * k > m:
            continue
        v = min(2 * k, int(round(law.expected_correct(m, k))))
        bound = epsilon_lower_bound(m, 2 * k, v, delta, beta)
        if bound > best:
            best, best_k = bound, k
    return best_k


def reach_k(m: int) -> int:
    """Guesses per side of the reach rule: all canaries but a margin of 3 standard deviations
    of the in/out split (``sqrt(m) / 2``) per side, so that a run that separates the canaries
    perfectly gets every guess right with probability 0.999 (``k = m / 2`` would force
    ``|included - m/2|`` wrong guesses, about ``0.4 sqrt(m)``)."""
    return max(1, int((m - 3.0 * math.sqrt(m)) / 2))


# -------------------------------------------------------------------------------- results


@dataclass(frozen=True)
class Guesses:
    """One guess rule's outcome: ``v`` correct of ``r = 2k``, its bound at ``beta``."""

    rule: str
    k: int
    r: int
    v: int
    beta: float
    epsilon_lower_bound: float
    max_epsilon: float  # all r guesses correct: the most this rule could ever show


@dataclass(frozen=True)
class KindAudit:
    """One kind of canary at one claim: the claim, epsilon-hat and the power."""

    kind: str
    claim: float  # PLD epsilon of what one canary is, for this run
    claimed_unit: str
    windows_per_canary: int
    canaries: int
    included: int
    canary_windows: int
    picked_windows: int
    steps_observed: int
    expected_separation: float  # (mean in - mean out) / sd of the configured mechanism: Gaussian-DP mu
    observed_separation: float  # the same, from the scores
    guesses: tuple[Guesses, ...]
    epsilon_lower_bound: float  # the larger of the rules' bounds: 95 % by the union bound
    max_epsilon: float
    contradicted: bool
    train_seconds: float


@dataclass(frozen=True)
class ClaimAudit:
    """The audits of one target claim per event: one calibrated noise multiplier, two trainings."""

    target_epsilon: float
    noise_multiplier: float
    window: KindAudit
    event: KindAudit


@dataclass(frozen=True)
class AuditResult:
    model: str
    dataset: str
    data: str
    private: bool
    noise: str
    charged: bool
    n_windows: int
    batch_size: int
    sample_rate: float
    steps: int
    epochs: int
    max_grad_norm: float
    delta: float
    beta: float
    confidence: float
    windows_per_event: int
    canaries: int
    seed: int
    claims: tuple[ClaimAudit, ...]
    seconds: float
    notes: tuple[str, ...] = field(default=())

    @property
    def contradicted(self) -> bool:
        return any(k.contradicted for c in self.claims for k in (c.window, c.event))

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["contradicted"] = self.contradicted
        return out


# -------------------------------------------------------------------------------- the audit


def _stream_seed(seed: int, target: float, kind: str) -> bytes:
    """The draws of one training (membership, batches, noise). The audit reads only public
    data, so its draws protect nobody: a public seed makes the audit repeatable; the guesser
    never reads the stream."""
    return hashlib.sha256(f"dpforecast-audit:{seed}:{target!r}:{kind}".encode()).digest()


def _kind_audit(kind: str, params: Params, arch: str, x: np.ndarray, y: np.ndarray, sigma: float, q: float,
                steps: int, per_event: int, m: int, seed: int, streams: StreamFactory, claim: float,
                device: torch.device, progress: bool) -> KindAudit:
    delta = params.privacy.delta
    c = params.privacy.gp.max_grad_norm
    per_canary = 1 if kind == "window" else per_event
    law = ScoreLaw.of(kind, sigma, q, steps, per_canary)
    k_tight = tight_k(law, m, delta, BETA / 2)  # fixed before any draw
    stream = streams(_stream_seed(seed, claim, kind))
    included = stream.uniform(m) < 0.5
    hook = Canaries(kind, included, per_canary, c, device)
    net, loop = build_model(params, arch, x, y, y.shape[-1], seed)
    result, spend = fit_private(net, (x, y), loop, sigma, c, device, stream, progress=progress, audit=hook,
                                **private_options(params))
    if (spend.sample_rate, spend.steps) != (q, steps) or hook.steps != steps:
        raise RuntimeError(f"the run took {spend.steps} steps at q {spend.sample_rate} ({hook.steps} observed), "
                           f"not the {steps} at q {q} the claim is for")
    claimed = DPSGDAccountant("pld") if kind == "window" else DPSGDAccountant("pld", per_event, 2.0)
    claim_eps = claimed.epsilon(sigma, q, steps, delta)
    rules = []
    for rule, k in (("tight", k_tight), ("reach", reach_k(m))):
        v = correct_guesses(hook.scores, included, k)
        rules.append(Guesses(rule, k, 2 * k, v, BETA / 2, epsilon_lower_bound(m, 2 * k, v, delta, BETA / 2),
                             epsilon_lower_bound(m, 2 * k, 2 * k, delta, BETA / 2)))
    lower = max(g.epsilon_lower_bound for g in rules)
    s_in, s_out = hook.scores[included], hook.scores[~included]
    spread = math.sqrt(0.5 * (s_in.var() + s_out.var())) if len(s_in) > 1 and len(s_out) > 1 else float("nan")
    return KindAudit(
        kind=kind, claim=claim_eps, claimed_unit=CLAIMED_UNITS[kind].format(k=per_event),
        windows_per_canary=per_canary, canaries=m, included=int(included.sum()), canary_windows=hook.windows,
        picked_windows=hook.picks, steps_observed=hook.steps,
        expected_separation=(law.mean_in - law.mean_out) / math.sqrt(0.5 * (law.sd_in**2 + law.sd_out**2)),
        observed_separation=float((s_in.mean() - s_out.mean()) / spread) if spread > 0 else float("inf"),
        guesses=tuple(rules), epsilon_lower_bound=lower, max_epsilon=max(g.max_epsilon for g in rules),
        contradicted=lower > claim_eps, train_seconds=round(result.seconds, 2))


def run_audit(
    root: Path, model: str = "bigru", claims: tuple[float, ...] = DEFAULT_CLAIMS, canaries: int = DEFAULT_CANARIES,
    seed: int = 0, overrides: dict[str, Any] | None = None, progress: bool = False, *, days: int = DEFAULT_DAYS,
    streams: StreamFactory | None = None,
) -> AuditResult:
    """For each target claim per event: calibrate the noise multiplier, train twice through
    ``fit_private`` (window canaries, event canaries), guess, bound.

    ``streams`` is FOR TESTS ONLY (``tests/audit_seams.py``): it replaces the stream of each
    training, e.g. by one whose normals are zero, to check that the audit sees a "private" run
    without noise. No pipeline stage and no ``dpforecast`` command passes it. Nothing is
    charged either way: the data are public.
    """
    if canaries < 2:
        raise ValueError(f"need at least 2 canaries, got {canaries}")
    if not claims or any(not (math.isfinite(e) and e > 0) for e in claims):
        raise ValueError(f"claims must be positive epsilons, got {claims}")
    start = time.perf_counter()
    params = audit_params(root, model, overrides)
    x, y = public_windows(params, days, seed)
    batch = params.hyper(model)[1]
    n = len(x)
    q = min(1.0, batch / n)
    if q >= 1.0:
        raise ValueError(f"the batch ({batch}) holds all {n} public windows: the audit needs Poisson sampling "
                         f"(q < 1); use more days or a smaller train.batch_size")
    steps = max(1, round(1 / q)) * params.train.epochs
    delta = params.privacy.delta
    event = replace(params, privacy=replace(params.privacy, unit="event", w=None)).privacy_unit()
    window, horizon = params.features.window, params.features.horizon
    per_event = event.windows(window, horizon)
    device = select_device(params.train.device)
    factory = streams or SecretStream
    results = []
    for target in claims:
        sigma = noise_for(float(target), delta, q, steps, event, window, horizon, "pld")
        kinds = {kind: _kind_audit(kind, params, model, x, y, sigma, q, steps, per_event, canaries, seed, factory,
                                   float(target), device, progress) for kind in KINDS}
        results.append(ClaimAudit(float(target), sigma, kinds["window"], kinds["event"]))
    private = streams is None
    return AuditResult(
        model=model, dataset=params.dataset,
        data=(f"public synthetic counts of {params.dataset}'s shape (dpforecast.data.synthetic, seed {seed}, "
              f"{days} days, {len(params.data_set.zones)} zones): no private window read"),
        private=private,
        noise=("NoisyClippedSum, normals from the SecretStream" if private
               else f"NOT PRIVATE: test seam {getattr(streams, '__name__', repr(streams))}"),
        charged=False, n_windows=n, batch_size=batch, sample_rate=q, steps=steps, epochs=params.train.epochs,
        max_grad_norm=params.privacy.gp.max_grad_norm, delta=delta, beta=BETA, confidence=1 - BETA,
        windows_per_event=per_event, canaries=canaries, seed=seed, claims=tuple(results),
        seconds=round(time.perf_counter() - start, 2),
        notes=(f"event: {event.describe('gp')}",),
    )


# -------------------------------------------------------------------------------- reports


def summary(result: AuditResult) -> str:
    """One line per claim: epsilon-hat beside the claim and the most the canaries could show."""
    tag = "" if result.private else " [NOT a private run: test seam]"
    lines = [f"privacy audit of {result.model} ({result.canaries:,} canaries per kind, "
             f"{result.confidence:.0%}, delta {result.delta:g}){tag}:"]
    for c in result.claims:
        parts = [f"{k.kind} eps-hat {k.epsilon_lower_bound:.3f} vs claim {k.claim:.3f} (max {k.max_epsilon:.2f})"
                 + (" CONTRADICTED" if k.contradicted else "") for k in (c.window, c.event)]
        lines.append(f"  claim {c.target_epsilon:g} per event (sigma {c.noise_multiplier:.4g}): " + "; ".join(parts))
    return "\n".join(lines)


def report_markdown(result: AuditResult) -> str:
    """The human-readable report: claims, epsilon-hats, power, and what they mean."""
    bad = [(c, k) for c in result.claims for k in (c.window, c.event) if k.contradicted]
    if bad:
        which = ", ".join(f"{k.kind} canaries at claim {c.target_epsilon:g} (eps-hat {k.epsilon_lower_bound:.3f} > "
                          f"{k.claim:.3f})" for c, k in bad)
        meaning = (f"**THE ACCOUNTANT'S CLAIM IS CONTRADICTED** for {which}: the run leaks more than its privacy "
                   "report says. Do not release models of this configuration; look for a bug in the noise, the "
                   "clipping, the sampling or the accounting.")
    else:
        meaning = ("No claim is contradicted: every epsilon-hat is at most its claim. This is not a proof that the "
                   "runs are as private as claimed; the last column says how large a leak these canaries could show.")
    if not result.private:
        meaning = f"**NOT A PRIVATE RUN ({result.noise}).** " + meaning
    rows = []
    for c in result.claims:
        for k in (c.window, c.event):
            tight, reach = k.guesses
            rows.append(f"| {c.target_epsilon:g} | {c.noise_multiplier:.4g} | {k.kind} | {k.claim:.4g} | "
                        f"**{k.epsilon_lower_bound:.3f}** | {k.max_epsilon:.2f} | {tight.v}/{tight.r} -> "
                        f"{tight.epsilon_lower_bound:.3f} | {reach.v}/{reach.r} -> {reach.epsilon_lower_bound:.3f} | "
                        f"{k.expected_separation:.3f} / {k.observed_separation:.3f} |")
    table = "\n".join(rows)
    return f"""# Privacy audit: DP-SGD {result.model}, {result.dataset}'s shape

{meaning}

| target ε per event | σ | canaries | claim (PLD) | ε̂ at {result.confidence:.0%} | max ε̂ \
| tight: correct -> ε̂ | reach: correct -> ε̂ | μ expected / observed |
| --- | --- | --- | --- | --- | --- | --- | --- | --- |
{table}

- Run: {result.noise}; {'fit_private' if result.private else 'fit_private with the test seam'} with its engine,
  Poisson sampling (q {result.sample_rate:.4g}, {result.steps} steps: batch {result.batch_size} of
  {result.n_windows:,} windows, {result.epochs} epochs) and noise σ·C per coordinate (C {result.max_grad_norm:g}),
  delta {result.delta:g}; seed {result.seed}; {result.seconds:.0f} s for {2 * len(result.claims)} trainings.
- Data: {result.data}. **Not charged to the privacy ledger**: the audit reads no private window and
  spends no budget; a mechanism's privacy does not depend on the data it runs on.
- Canaries: {result.canaries:,} per kind and claim, each in with probability 1/2, on coordinates of their own
  (a block the optimiser noises and steps with the model's parameters). `window`: one window of norm C, added
  or removed; claim = the run's per-window PLD ε. `event`: {result.windows_per_event} windows (those one event
  touches) all +C (in) or all -C (out), each Poisson-sampled; claim = the event's PLD ε (replace, 2C per window).
- Score: the sum over the steps of the canary's coordinate of the noisy gradient (white box). Two guess rules
  fixed before any draw, each at β/2 = {result.beta / 2:g} (union bound, so ε̂ = the larger holds at
  {result.confidence:.0%}): *tight*, the k with the largest expected bound for the configured mechanism; *reach*,
  nearly every canary guessed (k = (m - 3√m)/2, a margin for the in/out split). max ε̂ = all guesses
  correct: no run, however leaky, can show more with these canaries (Steinke, Nasr and Jagielski 2023,
  Theorem 3.1 with its delta term).
- μ: the scores' separation (mean in - mean out over their spread), expected from σ, q and T, and observed; for
  a Gaussian mechanism it is the claim's Gaussian-DP μ. Per-window claims are an order of magnitude below the
  event's ({result.windows_per_event} windows at 2C each): their ε̂ is near 0 at any feasible m.
"""


def audit(root: Path, model: str = "bigru", claims: tuple[float, ...] = DEFAULT_CLAIMS,
          canaries: int = DEFAULT_CANARIES, seed: int = 0, progress: bool = False) -> AuditResult:
    """``dpforecast audit``: run it, write ``metrics/audit.json`` and ``reports/privacy_audit.md``,
    and log one MLflow run ``privacy-audit``."""
    import mlflow

    from dpforecast.tracking.mlflow_tracking import configure, start_run

    result = run_audit(root, model, tuple(claims), canaries, seed, progress=progress)
    write_json(root / "metrics" / "audit.json", result.to_json())
    write_text(root / "reports" / "privacy_audit.md", report_markdown(result))
    configure(Paths(root), audit_params(root, model).tracking.experiment)
    with start_run("privacy-audit"):
        metrics = {}
        for c in result.claims:
            for k in (c.window, c.event):
                tag = f"{k.kind}_eps{c.target_epsilon:g}".replace(".", "_")
                metrics.update({f"audit_epsilon_lower_bound_{tag}": k.epsilon_lower_bound,
                                f"claimed_epsilon_{tag}": k.claim, f"max_epsilon_{tag}": k.max_epsilon})
        mlflow.log_metrics(metrics)
        mlflow.log_dict(result.to_json(), "audit.json")
    return result
