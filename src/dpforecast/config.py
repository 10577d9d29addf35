"""Typed pipeline parameters, read from ``params.yaml`` and an optional profile.

Every entry point (DVC stages, Dagster assets, the CLI, the in-memory API) builds its
configuration here, so a parameter means the same thing wherever it is read. The file's
shape is :class:`ParamsDocument`, read by :mod:`dpforecast.declared` (pydantic): unknown
keys and values of the wrong type are refused with the parameter's dotted name, then
:func:`_check` refuses out-of-range values and combinations, before any stage touches data.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, get_args

import yaml

from dpforecast.declared import DECLARED, read
from dpforecast.errors import ConfigError
from dpforecast.privacy.unit import UNITS, PrivacyUnit, UnitError, privacy_unit

if TYPE_CHECKING:
    from dpforecast.data.spec import DatasetSpec

Architecture = Literal["lstm", "gru", "bilstm", "bigru"]
FieldBaseline = Literal["autoets", "mstl", "autoarima", "fracast"]
PrivacyMode = Literal["none", "ip", "gp"]
IpMechanism = Literal["discrete_gaussian", "discrete_laplace"]
#: privacy.gp.accountant's names, one list (dpforecast.privacy.dp_sgd_accountant accounts by them)
Accountant = Literal["pld", "rdp", "prv"]
#: features.known_future's names: the target's calendar a model may read at the forecast origin
KnownFutureInput = Literal["holidays", "day_of_week", "events"]
Unit = Literal[UNITS]  # privacy.unit's names, one list
ARCHITECTURES: tuple[str, ...] = get_args(Architecture)
PRIVACY_MODES: tuple[str, ...] = get_args(PrivacyMode)
IP_MECHANISMS: tuple[str, ...] = get_args(IpMechanism)
ACCOUNTANTS: tuple[str, ...] = get_args(Accountant)
#: Parameters that no longer exist, and what replaced them: refused by name.
REMOVED = {
    "privacy.ip.seed": "the noise of a release is secret: it comes from the data owner's key "
                       "(DPFORECAST_PRIVACY_KEY_FILE, see README, Privacy) or fresh from the OS, never from params",
    "privacy.ip.round": "the discrete mechanisms release integers: there is nothing to round",
    "privacy.budget_epsilon": "the budget is per unit now: privacy.budget.{event,day,week,person} and privacy.budget.delta",
}


DURATION = re.compile(r"(\d+)\s*(min|h|d)")
_DURATION_MINUTES = {"min": 1, "h": 60, "d": 1440}


def steps(value: int | str, interval_minutes: int, where: str) -> int:
    """A number of steps, or a duration as whole steps of ``interval_minutes``; anything
    else (not a positive whole number of steps or of intervals) is refused by ``where``."""
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ConfigError(f"{where}: expected a number of steps or a duration such as 1d, got {value!r}")
    if isinstance(value, int):
        if value < 1:
            raise ConfigError(f"{where}: must be at least 1")
        return value
    match = DURATION.fullmatch(value.strip())
    if match is None:
        raise ConfigError(f"{where}: {value!r} is not a duration (a whole number then min, h or d, e.g. 12h)")
    number, unit = match.groups()
    minutes = int(number) * _DURATION_MINUTES[unit]
    if minutes % interval_minutes or minutes == 0:
        raise ConfigError(f"{where}: {value} is not a whole (positive) number of {interval_minutes}-minute intervals")
    return minutes // interval_minutes


@dataclass(frozen=True)
class DataParams:
    """How the pipeline treats the data set ``dataset`` names (its spec says what it is,
    where its files and deliveries are)."""

    __pydantic_config__ = DECLARED
    contiguous: bool = False
    """Treat the series as contiguous across its gaps (the study did); by default a window
    straddling a gap is dropped."""


@dataclass(frozen=True)
class ValidateParams:
    """The data validation suite's bounds and engine."""

    __pydantic_config__ = DECLARED
    min_count: int = 0
    """Smallest plausible count of one zone in one interval."""
    max_count: int = 1_000_000
    """Largest plausible count of one zone in one interval."""
    min_rows: int = 48
    """Fewest intervals a delivery may have."""
    engine: Literal["polars", "gx"] = "polars"
    """Who evaluates the GX suite: polars (seconds at city scale, the default) or gx (GX itself, on pandas)."""


@dataclass(frozen=True)
class FeatureParams:
    """``window`` input steps and ``horizon`` steps forecast at once (direct multi-output),
    each a whole number of steps or a duration (``30min``, ``12h``, ``1d``) that
    :func:`load_params` turns into steps of the data set's interval."""

    __pydantic_config__ = DECLARED
    window: int | str = 6
    """Input steps, or a duration (3h, 1d)."""
    horizon: int | str = 1
    """Steps forecast at once after the last input (1 = the study's), or a duration."""
    week_period_days: float = 7.0
    """Period of the calendar's "week" features, in days (the study's notebooks used 30)."""
    scaling: Literal["standard", "log", "none"] = "standard"
    """standard (fitted on training rows only), log (fixed constants on log1p counts: the one
    DP-SGD allows) or none (the study)."""
    known_future: list[KnownFutureInput] = field(default_factory=list)
    """Calendar inputs known at the forecast origin for every lead, read by the networks and ridge: holidays (the
    spec's calendar), day_of_week, events (the spec's declared events). Each input row carries the calendar of the
    interval horizon steps after it, so the last horizon rows carry leads 1..horizon (needs window >= horizon)."""


@dataclass(frozen=True)
class EvaluateParams:
    """What the evaluation plots show (the metrics cover every lead), and the field's baselines it fits."""

    __pydantic_config__ = DECLARED
    plot_lead: int | str | None = None
    """The lead plots/forecast.png shows, in steps or as a duration; null: the last."""
    baselines: tuple[FieldBaseline, ...] = ("autoets",)
    """The field's baselines fitted beside persistence, seasonal naive and ridge, in the evaluation, the
    backtest and the registry's comparisons: autoets (statsforecast, seconds); opt-in for their cost: mstl
    (refitted daily, a minute or two per data set), autoarima (minutes per zone) and fracast (zero-shot,
    seconds per window and zone on a busy CPU). README, Baselines."""


@dataclass(frozen=True)
class IntervalParams:
    """How the conformal intervals are calibrated on the second half of the validation block."""

    __pydantic_config__ = DECLARED
    calibration: Literal["split", "calendar_groups"] = "split"
    """split: one half-width per lead and zone from every calibration residual; calendar_groups: one per calendar
    group of the target's day (weekday, weekend, holiday: the spec's calendar), each from that group's residuals
    (Mondrian conformal), a holiday falling back to the weekend's and a group with too few residuals to the pooled."""
    min_group_windows: int = 30
    """Fewest calibration residuals (per lead) a calendar group needs for a half-width of its own."""


@dataclass(frozen=True)
class SplitParams:
    """The evaluation protocol; null: the data set's declared protocol (``protocol`` in its spec)."""

    __pydantic_config__ = DECLARED
    test_days: int | None = None
    """Last local days held out as the test set, never used for fitting, stopping or selection."""
    validation_days: int | None = None
    """Days before the test set for early stopping and calibration; 0 = none."""
    history_days: int | None = None
    """Days of training history before the validation block; 0 = all of it."""


@dataclass(frozen=True)
class ArchitectureParams:
    """One architecture's size and its own batch size and learning rate."""

    __pydantic_config__ = DECLARED
    units: int = 64
    """Hidden units of the recurrent layer (per direction)."""
    batch_size: int | None = None
    """Overrides train.batch_size for this architecture."""
    learning_rate: float | None = None
    """Overrides train.learning_rate for this architecture."""


@dataclass(frozen=True)
class TrainParams:
    """How the networks are trained."""

    __pydantic_config__ = DECLARED
    model: Literal["all", "lstm", "gru", "bilstm", "bigru"] = "all"
    """The architecture the train stage trains, or all four."""
    activation: Literal["tanh", "relu"] = "tanh"
    """Recurrent activation: tanh (fused kernels) or relu (the study)."""
    epochs: int = 30
    """Most epochs (early stopping may end sooner)."""
    batch_size: int = 64
    """Windows per step."""
    learning_rate: float = 1e-3
    """Adam's learning rate."""
    loss: Literal["mae", "mse"] = "mae"
    """Training loss."""
    shuffle: bool = True
    """Shuffle the training windows every epoch."""
    patience: int = 5
    """Epochs without a better validation loss before stopping; 0 = off."""
    seed: int = 0
    """Public: initial weights and shuffles only; private randomness never comes from it."""
    device: Literal["auto", "cpu", "cuda"] = "auto"
    """auto = CUDA when available, else CPU."""
    keras_init: bool = True
    """Glorot/orthogonal initialisation as in the study's Keras models."""
    residual: str | bool = "auto"
    """Predict the change from a baseline, the head starting at zero: true (from persistence),
    seasonal (from the same time one day before each target: needs horizon <= one day <=
    window), false, or auto (under DP-SGD, where noisy steps are few: seasonal for a
    multi-step horizon the window allows, else persistence; off otherwise)."""


@dataclass(frozen=True)
class InputPerturbationParams:
    """Noise added to every count of the released series (the study's IP)."""

    __pydantic_config__ = DECLARED
    mechanism: IpMechanism = "discrete_gaussian"
    """Calibrated on privacy.unit: the L2 (discrete_gaussian) or L1 (discrete_laplace) norm of
    everything one unit changes; exact integer noise from OpenDP or the data owner's key."""
    clip_at_zero: bool = False
    """Clip released counts at zero (post-processing of the same noise)."""


@dataclass(frozen=True)
class BudgetParams:
    """What the data set may spend over its whole life, per ledger unit (null: tracked, not limited).

    Each unit's spend is the tight (PLD) composition of every release and training charged
    on it, at ``delta``. Chosen so that the main job (an input-perturbation release and a
    DP-SGD variant, both at epsilon 1 per event: 1.3 per event, 12.4 per day) fits with
    room for six more DP-SGD trainings at epsilon 1 per event; under input perturbation
    retraining is free (the release is continual). See README, Privacy.
    """

    __pydantic_config__ = DECLARED
    event: float | None = 8.0
    """Lifetime epsilon per event (one person's presence in one interval)."""
    day: float | None = 32.0
    """Lifetime epsilon per local day of one person."""
    week: float | None = None
    """Lifetime epsilon per week of one person."""
    person: float | None = None
    """Lifetime epsilon per person over the spec's protected period."""
    delta: float = 1e-6
    """The delta every unit's spend is stated at."""


@dataclass(frozen=True)
class GradientPerturbationParams:
    """DP-SGD: per-sample clipping and Gaussian noise, Poisson sampling."""

    __pydantic_config__ = DECLARED
    noise_multiplier: float | None = None
    """Train with this multiplier and report the resulting epsilon; null: search the multiplier
    that meets privacy.epsilon."""
    max_grad_norm: float | None = 1.0
    """Per-sample clipping norm C."""
    accountant: Accountant = "pld"
    """The accountant of the noise search and the headline epsilon: pld (dp_accounting's privacy
    loss distribution), rdp, or prv (the study's window unit only); the report shows the others."""
    optimizer: Literal["adam", "adam_bc", "sgd"] = "adam"
    """The step applied to the noisy gradient: adam, adam_bc (bias-corrected DP-Adam, Tang et al.
    2023) or sgd with momentum. Post-processing: none of it changes epsilon."""
    momentum: float = 0.9
    """sgd's momentum."""
    ema: float = 0.0
    """Exponential moving average of the noisy iterates kept as the model (0 = the last iterate)."""
    intervals: bool = False
    """Calibrate split conformal intervals on the raw validation block: a statistic of private
    data no accountant charges, marked as not covered wherever shown; off: no intervals."""


@dataclass(frozen=True)
class PrivacyParams:
    """Differential privacy: none, input perturbation (ip) or DP-SGD (gp), on a declared unit."""

    __pydantic_config__ = DECLARED
    mode: PrivacyMode = "none"
    """none (non-private, and said so), ip (a noisy release the models train on) or gp (DP-SGD)."""
    epsilon: float = 1.0
    """The guarantee's epsilon on privacy.unit."""
    delta: float = 1e-7
    """The guarantee's delta (0 for the discrete Laplace)."""
    unit: Unit = "event"
    """What one protected record is, for both mechanisms: event, day, week, person, w-event
    (with w intervals) or window (the study's unit, not a data-level one)."""
    w: int | None = None
    """Intervals of a w-event unit."""
    ip: InputPerturbationParams = field(default_factory=InputPerturbationParams)
    """Input perturbation's mechanism."""
    gp: GradientPerturbationParams = field(default_factory=GradientPerturbationParams)
    """DP-SGD's settings."""
    budget: BudgetParams = field(default_factory=BudgetParams)
    """The data set's lifetime budget per ledger unit."""


@dataclass(frozen=True)
class TrackingParams:
    """MLflow tracking."""

    __pydantic_config__ = DECLARED
    experiment: str = "dpforecast"
    """The MLflow experiment runs are logged to."""


@dataclass(frozen=True)
class RegistryParams:
    """MLflow registry names and the rule that moves the ``champion`` alias."""

    __pydantic_config__ = DECLARED
    name_prefix: str | None = None
    """Registered model per data set and variant: <dataset>-<arch> (null) or
    <name_prefix>-<dataset>-<arch>, with -ip or -gp if private (a spec's registry_prefix
    replaces both: Montreuil's keeps mobility-<arch>)."""
    metric: Literal["rmse", "mae"] = "rmse"
    """Mean over zones on the raw test targets, lower is better."""
    margin: float = 0.01
    """The challenger replaces the champion only if its error is below (1 - margin) times the
    champion's, both scored on the same (current) test windows."""


@dataclass(frozen=True)
class RetrainingParams:
    """When Dagster's ``daily_retraining`` schedule runs."""

    __pydantic_config__ = DECLARED
    cron: str = "0 3 * * *"
    """Cron expression, in the data set's time zone."""


@dataclass(frozen=True)
class ParamsDocument:
    """``params.yaml`` (and a profile, merged over it): every section optional."""

    __pydantic_config__ = DECLARED
    profile: str = "default"
    """A profile in profiles/ merged over this file (default: none)."""
    dataset: str = "montreuil"
    """The data set: datasets/<dataset>.yaml."""
    data: DataParams = field(default_factory=DataParams)
    """How the data set is treated."""
    validate: ValidateParams = field(default_factory=ValidateParams)
    """Data validation."""
    features: FeatureParams = field(default_factory=FeatureParams)
    """Windows, horizon and scaling."""
    evaluate: EvaluateParams = field(default_factory=EvaluateParams)
    """Evaluation plots."""
    intervals: IntervalParams = field(default_factory=IntervalParams)
    """Conformal interval calibration."""
    split: SplitParams = field(default_factory=SplitParams)
    """The evaluation protocol."""
    train: TrainParams = field(default_factory=TrainParams)
    """Network training."""
    architectures: dict[Architecture, ArchitectureParams] = field(
        default_factory=lambda: {a: ArchitectureParams() for a in ARCHITECTURES})
    """Per architecture: units, batch size, learning rate (all four listed)."""
    tracking: TrackingParams = field(default_factory=TrackingParams)
    """MLflow tracking."""
    privacy: PrivacyParams = field(default_factory=PrivacyParams)
    """Differential privacy."""
    registry: RegistryParams = field(default_factory=RegistryParams)
    """MLflow registry and promotion."""
    retraining: RetrainingParams = field(default_factory=RetrainingParams)
    """Scheduled retraining."""


@dataclass(frozen=True)
class Params(ParamsDocument):
    """The resolved parameters: :class:`ParamsDocument` as read, and the data set's spec."""

    spec: DatasetSpec | None = field(default=None, compare=False, repr=False)

    @property
    def data_set(self) -> DatasetSpec:
        """The data set's spec; only :func:`load_params` knows where to read it from."""
        if self.spec is None:
            raise ConfigError(f"dataset: the spec of {self.dataset!r} was not loaded (use load_params)")
        return self.spec

    def protocol(self) -> tuple[int, int, int | None]:
        """Test days, validation days and training history days (None = all), ``split.*``
        over the data set's declared protocol."""
        declared = self.data_set.protocol
        s = self.split
        history = declared.history_days if s.history_days is None else (s.history_days or None)
        return (
            declared.test_days if s.test_days is None else s.test_days,
            declared.validation_days if s.validation_days is None else s.validation_days,
            history,
        )

    def privacy_unit(self) -> PrivacyUnit:
        """``privacy.unit`` sized by the data set: its interval, day and hierarchy bound."""
        spec = self.data_set
        bound = spec.privacy
        try:
            return privacy_unit(self.privacy.unit, self.privacy.w, spec.interval_minutes, spec.steps_per_day,
                                bound.counts_per_person, bound.l1_per_interval, bound.l2_per_interval,
                                bound.reason, bound.intervals_per_person, bound.protected_period_days,
                                bound.per_count)
        except UnitError as exc:
            raise ConfigError(str(exc)) from None

    def ip_unit(self) -> str:
        """What input perturbation protects, in words (the unit both mechanisms state)."""
        return self.privacy_unit().describe("ip")

    def model_prefix(self) -> str:
        """Registered models are ``<prefix>-<arch>[-ip|-gp]``: one set per data set and
        horizon (``-h48`` when more than one step), since a champion is only compared with
        challengers forecasting the same leads."""
        base = self.data_set.registry_prefix or "-".join(p for p in (self.registry.name_prefix, self.dataset) if p)
        return base if self.features.horizon == 1 else f"{base}-h{self.features.horizon}"

    def models(self) -> list[str]:
        """The architectures the ``train`` stage trains: one, or all four."""
        if self.train.model == "all":
            return list(ARCHITECTURES)
        return [self.train.model]

    def residual(self) -> bool:
        """Whether the models predict the change from persistence: ``train.residual``, with
        ``auto`` on exactly for DP-SGD, whose few noisy steps start best from persistence."""
        if self.train.residual == "auto":
            return self.privacy.mode == "gp"
        return self.train.residual == "seasonal" or self.train.residual is True

    def residual_season(self) -> int:
        """Steps back of a residual model's baseline: one day for ``train.residual: seasonal``,
        and for ``auto`` under DP-SGD when more than one step is forecast and the window holds
        a day (persistence is a poor start hours ahead: on Auckland's validation block a
        DP-SGD day-ahead GRU scored RMSE 347 from persistence, 142 from yesterday; BENCHMARKS.md);
        else 0 (persistence)."""
        day = self.data_set.steps_per_day
        h, w = self.features.horizon, self.features.window
        fits = h <= day <= w
        if self.train.residual == "auto":
            return day if self.privacy.mode == "gp" and h > 1 and fits else 0
        if self.train.residual != "seasonal":
            return 0
        if not fits:
            raise ConfigError(f"train.residual: seasonal needs features.horizon ({h}) <= one day ({day} steps) "
                              f"<= features.window ({w})")
        return day

    def plot_lead(self) -> int:
        """The lead (1..horizon) the test-period plot shows: ``evaluate.plot_lead`` or the last."""
        horizon = int(self.features.horizon)
        lead = self.evaluate.plot_lead
        if lead is None:
            return horizon
        lead = steps(lead, self.data_set.interval_minutes, "evaluate.plot_lead")
        if not 1 <= lead <= horizon:
            raise ConfigError(f"evaluate.plot_lead: {self.evaluate.plot_lead} is lead {lead}, beyond "
                              f"features.horizon {horizon}")
        return lead

    def hyper(self, arch: str) -> tuple[int, int, float]:
        """Units, batch size and learning rate of one architecture (overrides win)."""
        a = self.architectures[arch]
        return (
            a.units,
            a.batch_size or self.train.batch_size,
            a.learning_rate or self.train.learning_rate,
        )


def _refuse_removed(raw: dict[str, Any], where: str = "") -> None:
    """A parameter that no longer exists is refused with what replaced it."""
    for name, value in raw.items():
        dotted = f"{where}.{name}" if where else str(name)
        if dotted in REMOVED:
            raise ConfigError(f"{dotted}: no longer a parameter: {REMOVED[dotted]}")
        if isinstance(value, dict):
            _refuse_removed(value, dotted)


def _check(p: Params) -> None:
    def need(ok: bool, name: str, msg: str) -> None:
        if not ok:
            raise ConfigError(f"{name}: {msg}")

    for name, value in (("features.window", p.features.window), ("features.horizon", p.features.horizon),
                        ("evaluate.plot_lead", p.evaluate.plot_lead)):
        if value is not None:  # the form only: the data set's interval decides the steps (resolve)
            steps(value, 1, name)
    need(len(set(p.evaluate.baselines)) == len(p.evaluate.baselines), "evaluate.baselines",
         f"names a baseline twice: {list(p.evaluate.baselines)}")
    need(p.features.week_period_days > 0, "features.week_period_days", "must be positive")
    need(len(set(p.features.known_future)) == len(p.features.known_future), "features.known_future",
         f"lists an input twice: {p.features.known_future}")
    need(p.intervals.min_group_windows >= 1, "intervals.min_group_windows", "must be at least 1")
    need(p.split.test_days is None or p.split.test_days >= 1, "split.test_days", "must be at least 1")
    need(p.split.validation_days is None or p.split.validation_days >= 0, "split.validation_days", "must be 0 or more")
    need(p.split.history_days is None or p.split.history_days >= 0, "split.history_days", "must be 0 (all) or more")
    need(bool(re.fullmatch(r"[a-z][a-z0-9_-]{0,47}", p.dataset)), "dataset", f"not a data set name: {p.dataset!r}")
    need(p.train.epochs >= 1, "train.epochs", "must be at least 1")
    need(p.train.batch_size >= 1, "train.batch_size", "must be at least 1")
    need(p.train.learning_rate > 0, "train.learning_rate", "must be positive")
    need(p.train.patience >= 0, "train.patience", "must be 0 (off) or more")
    need(isinstance(p.train.residual, bool) or p.train.residual in ("auto", "seasonal"), "train.residual",
         f"must be auto, true, false or seasonal, got {p.train.residual!r}")
    gp = p.privacy.gp
    need(0 <= gp.momentum < 1, "privacy.gp.momentum", f"must be in [0, 1), got {gp.momentum!r}")
    need(0 <= gp.ema < 1, "privacy.gp.ema", f"must be in [0, 1) (0 = off), got {gp.ema!r}")
    need(0 <= p.registry.margin < 1, "registry.margin", "must be in [0, 1)")
    need(p.registry.name_prefix is None or bool(re.fullmatch(r"[a-z0-9][a-z0-9-]*", p.registry.name_prefix)),
         "registry.name_prefix",
         "lower-case letters, digits and dashes only")
    need(len(p.retraining.cron.split()) == 5, "retraining.cron", f"expected 5 cron fields, got {p.retraining.cron!r}")
    need(p.validate.min_count <= p.validate.max_count, "validate.min_count", "exceeds max_count")
    need(p.privacy.unit == "window" or p.privacy.gp.accountant != "prv", "privacy.gp.accountant",
         "prv accounts one training window only; use pld or rdp for a data-level privacy.unit")
    for arch, a in p.architectures.items():
        need(a.units >= 1, f"architectures.{arch}.units", "must be at least 1")
        need(a.batch_size is None or a.batch_size >= 1, f"architectures.{arch}.batch_size", "must be at least 1")
        need(a.learning_rate is None or a.learning_rate > 0, f"architectures.{arch}.learning_rate", "must be positive")
    for arch in ARCHITECTURES:
        need(arch in p.architectures, f"architectures.{arch}", "missing")


def deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def params_from_dict(
    raw: dict[str, Any], profiles_dir: Path | None = None, overrides: dict[str, Any] | None = None
) -> Params:
    """Build and check :class:`Params`: ``raw``, then the profile it names (other than
    ``default``), then ``overrides``, each winning over the one before."""
    raw = dict(raw or {})
    overrides = dict(overrides or {})
    profile = overrides.pop("profile", raw.get("profile", "default"))
    if not isinstance(profile, str):
        raise ConfigError(f"profile: expected a name, got {profile!r}")
    if profile != "default":
        if profiles_dir is None:
            raise ConfigError(f"profile: {profile!r} given but no profiles folder is known")
        path = profiles_dir / f"{profile}.yaml"
        if not path.is_file():
            raise ConfigError(f"profile: no profile file {path}")
        raw = deep_merge(raw, yaml.safe_load(path.read_text()) or {})
    raw = deep_merge(raw, overrides)
    raw["profile"] = profile
    _refuse_removed(raw)
    document = read(ParamsDocument, raw, "", ConfigError, noun="parameter")
    params = Params(**{f.name: getattr(document, f.name) for f in fields(ParamsDocument)})
    _check(params)
    return params


def load_params(path: str | Path = "params.yaml", **overrides: Any) -> Params:
    """Read ``params.yaml``, the profile it (or ``overrides``) names from ``profiles/``
    beside it, then ``overrides``, which win over both."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"no parameter file at {path}")
    raw = yaml.safe_load(path.read_text()) or {}
    params = params_from_dict(raw, path.parent / "profiles", overrides)
    from dpforecast.data.spec import dataset_path, load_spec

    spec_path = dataset_path(path.parent, params.dataset)
    if not spec_path.is_file():
        raise ConfigError(f"dataset: no spec {spec_path} for data set {params.dataset!r}")
    return resolve(params, load_spec(spec_path))


def resolve(params: Params, spec: DatasetSpec) -> Params:
    """``params`` for the data set ``spec``: durations turned into steps of its interval, and
    what only the spec can decide (a lead beyond the horizon, a seasonal baseline the window
    cannot see, a unit the data set cannot size) refused here, by name."""
    params = replace(params, spec=spec, features=replace(
        params.features, **{k: steps(getattr(params.features, k), spec.interval_minutes, f"features.{k}")
                            for k in ("window", "horizon")}))
    params.plot_lead()
    params.residual_season()
    params.privacy_unit()
    check_known_future(params)
    return params


def check_known_future(params: Params) -> None:
    """Refuse known-future inputs the window or the spec cannot give: every lead's calendar
    is in the window only when it is at least the horizon; holidays need the spec's
    country, events its declared events."""
    inputs = params.features.known_future
    if not inputs:
        return
    w, h = params.features.window, params.features.horizon
    if int(w) < int(h):
        raise ConfigError(f"features.known_future: needs features.window ({w}) >= features.horizon ({h}), so that "
                          f"the window's last rows carry every lead's calendar")
    calendar = params.data_set.calendar
    if "holidays" in inputs and calendar.country is None:
        raise ConfigError(f"features.known_future: holidays needs a calendar.country in {params.data_set.path or 'the spec'}")
    if "events" in inputs and not calendar.events:
        raise ConfigError(f"features.known_future: events needs calendar.events in {params.data_set.path or 'the spec'}")
