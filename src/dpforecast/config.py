"""Typed pipeline parameters, read from ``params.yaml`` and an optional profile.

Both entry points (DVC stages and Dagster assets) build their configuration here, so a
parameter means the same thing wherever it is read. Unknown keys and out-of-range values
are refused with the parameter's dotted name, before any stage touches data.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from dpforecast.errors import ConfigError
from dpforecast.privacy.unit import UNITS, PrivacyUnit, UnitError, privacy_unit

if TYPE_CHECKING:
    from dpforecast.data.spec import DatasetSpec

ARCHITECTURES = ("lstm", "gru", "bilstm", "bigru")
PRIVACY_MODES = ("none", "ip", "gp")
IP_MECHANISMS = ("discrete_gaussian", "discrete_laplace")
#: Parameters that no longer exist, and what replaced them: refused by name.
REMOVED = {
    "privacy.ip.seed": "the noise of a release is secret: it comes from the data owner's key "
                       "(DPFORECAST_PRIVACY_KEY_FILE, see README, Privacy) or fresh from the OS, never from params",
    "privacy.ip.round": "the discrete mechanisms release integers: there is nothing to round",
    "privacy.budget_epsilon": "the budget is per unit now: privacy.budget.{event,day,week,person} and privacy.budget.delta",
}
ACCOUNTANTS = ("pld", "rdp", "prv")
ACTIVATIONS = ("tanh", "relu")
SCALINGS = ("standard", "log", "none")
LOSSES = ("mae", "mse")
DEVICES = ("auto", "cpu", "cuda")
REGISTRY_METRICS = ("rmse", "mae")
VALIDATION_ENGINES = ("polars", "gx")
GP_OPTIMIZERS = ("adam", "adam_bc", "sgd")


DURATION = re.compile(r"(\d+)\s*(min|h|d)")
_DURATION_MINUTES = {"min": 1, "h": 60, "d": 1440}


def steps(value: int | str, interval_minutes: int, where: str) -> int:
    """A number of steps, or a duration as whole steps of ``interval_minutes``."""
    if isinstance(value, int):
        return value
    number, unit = DURATION.fullmatch(value).groups()
    minutes = int(number) * _DURATION_MINUTES[unit]
    if minutes % interval_minutes or minutes == 0:
        raise ConfigError(f"{where}: {value} is not a whole (positive) number of {interval_minutes}-minute intervals")
    return minutes // interval_minutes


@dataclass(frozen=True)
class DataParams:
    """How the pipeline treats the data set ``dataset`` names (its spec says what it is,
    where its files and deliveries are)."""

    # The study treated the series as contiguous across its gaps; by default we do not.
    contiguous: bool = False


@dataclass(frozen=True)
class ValidateParams:
    # Plausible range of one zone's count in one interval (people present).
    min_count: int = 0
    max_count: int = 1_000_000
    min_rows: int = 48
    # Who evaluates the GX suite: polars (fast, the default) or gx (GX itself, on pandas).
    engine: str = "polars"


@dataclass(frozen=True)
class FeatureParams:
    """``window`` input steps and ``horizon`` steps forecast at once (direct multi-output),
    each a whole number of steps or a duration (``30min``, ``12h``, ``1d``) that
    :func:`load_params` turns into steps of the data set's interval."""

    window: int | str = 6
    horizon: int | str = 1
    week_period_days: float = 7.0
    scaling: str = "standard"


@dataclass(frozen=True)
class EvaluateParams:
    """What the evaluation plots show (the metrics cover every lead)."""

    # The lead time of the test-period plot, in steps or as a duration; null: the last.
    plot_lead: int | str | None = None


@dataclass(frozen=True)
class SplitParams:
    """Null: the data set's declared protocol (``protocol`` in its spec)."""

    test_days: int | None = None
    validation_days: int | None = None
    # Days of training history before the validation block; 0 = all of it.
    history_days: int | None = None


@dataclass(frozen=True)
class ArchitectureParams:
    units: int = 64
    batch_size: int | None = None
    learning_rate: float | None = None


@dataclass(frozen=True)
class TrainParams:
    model: str = "all"
    activation: str = "tanh"
    epochs: int = 30
    batch_size: int = 64
    learning_rate: float = 1e-3
    loss: str = "mae"
    shuffle: bool = True
    patience: int = 5
    seed: int = 0
    device: str = "auto"
    keras_init: bool = True
    # Predict the change from a baseline, the head starting at zero: true (from persistence),
    # seasonal (from the same time one day before each target: needs horizon <= one day <=
    # window), false, or auto (under DP-SGD, where noisy steps are few: seasonal for a
    # multi-step horizon the window allows, else persistence; off otherwise).
    residual: str | bool = "auto"


@dataclass(frozen=True)
class InputPerturbationParams:
    """Noise added to every count of the released series (the study's IP)."""

    # Calibrated on the privacy unit (privacy.unit; Params.privacy_unit): the L2
    # (discrete_gaussian) or L1 (discrete_laplace) norm of everything one unit changes.
    # Exact integer noise from OpenDP, or from the data owner's key (dpforecast.privacy.discrete).
    mechanism: str = "discrete_gaussian"
    clip_at_zero: bool = False


@dataclass(frozen=True)
class BudgetParams:
    """What the data set may spend over its whole life, per ledger unit (null: tracked, not limited).

    Each unit's spend is the tight (PLD) composition of every release and training charged
    on it, at ``delta``. Chosen so that the main job (an input-perturbation release and a
    DP-SGD variant, both at epsilon 1 per event: 1.3 per event, 12.4 per day) fits with
    room for six more DP-SGD trainings at epsilon 1 per event; under input perturbation
    retraining is free (the release is continual). See README, Privacy.
    """

    event: float | None = 8.0
    day: float | None = 32.0
    week: float | None = None
    person: float | None = None
    delta: float = 1e-6


@dataclass(frozen=True)
class GradientPerturbationParams:
    """DP-SGD: per-sample clipping and Gaussian noise, Poisson sampling."""

    # Set it to train with this multiplier and report the resulting epsilon; leave it
    # null to search the multiplier that meets ``privacy.epsilon``.
    noise_multiplier: float | None = None
    max_grad_norm: float | None = 1.0
    # pld (dp_accounting's privacy loss distribution), rdp, or prv (the study's window unit
    # only): the one the noise search and the headline epsilon use; the report shows the others.
    accountant: str = "pld"
    # The step applied to the noisy gradient: adam, adam_bc (bias-corrected DP-Adam, Tang
    # et al. 2023) or sgd with ``momentum``. Post-processing: none of it changes epsilon.
    optimizer: str = "adam"
    momentum: float = 0.9
    # Exponential moving average of the noisy iterates kept as the model (0 = the last iterate).
    ema: float = 0.0
    # Split conformal intervals from the raw validation block's residuals: a statistic of
    # private data that no accountant charges. Off by default (a DP-SGD model then serves no
    # interval); true calibrates them and marks them, wherever shown, as not covered.
    intervals: bool = False


@dataclass(frozen=True)
class PrivacyParams:
    mode: str = "none"
    epsilon: float = 1.0
    delta: float = 1e-7
    # What one protected record is, for both mechanisms (dpforecast.privacy.unit): event,
    # day, w-event (with w intervals) or window (the study's unit, not a data-level one).
    unit: str = "event"
    w: int | None = None
    ip: InputPerturbationParams = field(default_factory=InputPerturbationParams)
    gp: GradientPerturbationParams = field(default_factory=GradientPerturbationParams)
    budget: BudgetParams = field(default_factory=BudgetParams)


@dataclass(frozen=True)
class TrackingParams:
    experiment: str = "dpforecast"


@dataclass(frozen=True)
class RegistryParams:
    """MLflow registry names and the rule that moves the ``champion`` alias."""

    # Registered model per data set and variant: <name_prefix>-<dataset>-<arch>, with -ip or
    # -gp if private (a spec's registry_prefix replaces <name_prefix>-<dataset>).
    name_prefix: str = "mobility"
    # Mean over zones on the raw test targets, lower is better: rmse or mae.
    metric: str = "rmse"
    # The challenger replaces the champion only if its error is below (1 - margin) times
    # the champion's, both scored on the same (current) test windows.
    margin: float = 0.01


@dataclass(frozen=True)
class RetrainingParams:
    """When Dagster's ``daily_retraining`` schedule runs (cron, in ``data.timezone``)."""

    cron: str = "0 3 * * *"


@dataclass(frozen=True)
class Params:
    profile: str = "default"
    # The data set: ``datasets/<dataset>.yaml``, read into ``spec`` by :func:`load_params`.
    dataset: str = "montreuil"
    data: DataParams = field(default_factory=DataParams)
    validate: ValidateParams = field(default_factory=ValidateParams)
    features: FeatureParams = field(default_factory=FeatureParams)
    evaluate: EvaluateParams = field(default_factory=EvaluateParams)
    split: SplitParams = field(default_factory=SplitParams)
    train: TrainParams = field(default_factory=TrainParams)
    architectures: dict[str, ArchitectureParams] = field(
        default_factory=lambda: {a: ArchitectureParams() for a in ARCHITECTURES}
    )
    tracking: TrackingParams = field(default_factory=TrackingParams)
    privacy: PrivacyParams = field(default_factory=PrivacyParams)
    registry: RegistryParams = field(default_factory=RegistryParams)
    retraining: RetrainingParams = field(default_factory=RetrainingParams)
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
        base = self.data_set.registry_prefix or f"{self.registry.name_prefix}-{self.dataset}"
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


def _build(cls: type, raw: Any, where: str) -> Any:
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: expected a mapping, got {raw!r}")
    known = {f.name: f for f in fields(cls)}
    for name in raw:
        dotted = f"{where}.{name}" if where else name
        if dotted in REMOVED:
            raise ConfigError(f"{dotted}: no longer a parameter: {REMOVED[dotted]}")
    unknown = sorted(set(raw) - set(known))
    if unknown:
        raise ConfigError(f"{where}: unknown parameter(s) {', '.join(unknown)}")
    kwargs = {}
    for name, value in raw.items():
        kwargs[name] = _coerce(known[name].type, value, f"{where}.{name}" if where else name)
    return cls(**kwargs)


_SECTIONS = {
    "data": DataParams,
    "validate": ValidateParams,
    "features": FeatureParams,
    "evaluate": EvaluateParams,
    "split": SplitParams,
    "train": TrainParams,
    "tracking": TrackingParams,
    "privacy": PrivacyParams,
    "registry": RegistryParams,
    "retraining": RetrainingParams,
}


def _coerce(type_name: str, value: Any, where: str) -> Any:
    if type_name == "InputPerturbationParams":
        return _build(InputPerturbationParams, value, where)
    if type_name == "GradientPerturbationParams":
        return _build(GradientPerturbationParams, value, where)
    if type_name == "BudgetParams":
        return _build(BudgetParams, value, where)
    if type_name == "bool":
        if not isinstance(value, bool):
            raise ConfigError(f"{where}: expected true or false, got {value!r}")
        return value
    if type_name == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{where}: expected an integer, got {value!r}")
        return value
    if type_name == "float":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{where}: expected a number, got {value!r}")
        return float(value)
    if type_name in ("int | None", "float | None", "str | None"):
        return None if value is None else _coerce(type_name.split(" ")[0], value, where)
    if type_name in ("int | str", "int | str | None"):
        if value is None and type_name.endswith("None"):
            return None
        if isinstance(value, bool) or not isinstance(value, (int, str)):
            raise ConfigError(f"{where}: expected a number of steps or a duration such as 1d, got {value!r}")
        if isinstance(value, str) and not DURATION.fullmatch(value.strip()):
            raise ConfigError(f"{where}: {value!r} is not a duration (a whole number then min, h or d, e.g. 12h)")
        return value.strip() if isinstance(value, str) else value
    if type_name == "str | bool":
        if not isinstance(value, (str, bool)):
            raise ConfigError(f"{where}: expected true, false or a string, got {value!r}")
        return value
    if type_name == "str":
        if not isinstance(value, str):
            raise ConfigError(f"{where}: expected a string, got {value!r}")
        return value
    raise ConfigError(f"{where}: unsupported parameter type {type_name}")


def _check(p: Params) -> None:
    def need(ok: bool, name: str, msg: str) -> None:
        if not ok:
            raise ConfigError(f"{name}: {msg}")

    for name in ("window", "horizon"):
        value = getattr(p.features, name)
        need(not isinstance(value, int) or value >= 1, f"features.{name}", "must be at least 1")
    lead = p.evaluate.plot_lead
    need(not isinstance(lead, int) or lead >= 1, "evaluate.plot_lead", "must be at least 1 (null: the last lead)")
    need(p.features.week_period_days > 0, "features.week_period_days", "must be positive")
    need(p.features.scaling in SCALINGS, "features.scaling", f"must be one of {SCALINGS}")
    need(p.split.test_days is None or p.split.test_days >= 1, "split.test_days", "must be at least 1")
    need(p.split.validation_days is None or p.split.validation_days >= 0, "split.validation_days", "must be 0 or more")
    need(p.split.history_days is None or p.split.history_days >= 0, "split.history_days", "must be 0 (all) or more")
    need(bool(re.fullmatch(r"[a-z][a-z0-9_-]{0,47}", p.dataset)), "dataset", f"not a data set name: {p.dataset!r}")
    need(
        p.train.model == "all" or p.train.model in ARCHITECTURES,
        "train.model",
        f"must be 'all' or one of {ARCHITECTURES}, got {p.train.model!r}",
    )
    need(p.train.activation in ACTIVATIONS, "train.activation", f"must be one of {ACTIVATIONS}")
    need(p.train.loss in LOSSES, "train.loss", f"must be one of {LOSSES}")
    need(p.train.device in DEVICES, "train.device", f"must be one of {DEVICES}")
    need(p.train.epochs >= 1, "train.epochs", "must be at least 1")
    need(p.train.batch_size >= 1, "train.batch_size", "must be at least 1")
    need(p.train.learning_rate > 0, "train.learning_rate", "must be positive")
    need(p.train.patience >= 0, "train.patience", "must be 0 (off) or more")
    need(isinstance(p.train.residual, bool) or p.train.residual in ("auto", "seasonal"), "train.residual",
         f"must be auto, true, false or seasonal, got {p.train.residual!r}")
    gp = p.privacy.gp
    need(gp.optimizer in GP_OPTIMIZERS, "privacy.gp.optimizer", f"must be one of {GP_OPTIMIZERS}, got {gp.optimizer!r}")
    need(0 <= gp.momentum < 1, "privacy.gp.momentum", f"must be in [0, 1), got {gp.momentum!r}")
    need(0 <= gp.ema < 1, "privacy.gp.ema", f"must be in [0, 1) (0 = off), got {gp.ema!r}")
    need(p.registry.metric in REGISTRY_METRICS, "registry.metric", f"must be one of {REGISTRY_METRICS}")
    need(0 <= p.registry.margin < 1, "registry.margin", "must be in [0, 1)")
    need(bool(re.fullmatch(r"[a-z0-9][a-z0-9-]*", p.registry.name_prefix)), "registry.name_prefix",
         "lower-case letters, digits and dashes only")
    need(len(p.retraining.cron.split()) == 5, "retraining.cron", f"expected 5 cron fields, got {p.retraining.cron!r}")
    need(p.validate.min_count <= p.validate.max_count, "validate.min_count", "exceeds max_count")
    need(p.privacy.unit in UNITS, "privacy.unit", f"must be one of {UNITS}, got {p.privacy.unit!r}")
    need(p.privacy.unit == "window" or p.privacy.gp.accountant != "prv", "privacy.gp.accountant",
         "prv accounts one training window only; use pld or rdp for a data-level privacy.unit")
    need(p.validate.engine in VALIDATION_ENGINES, "validate.engine", f"must be one of {VALIDATION_ENGINES}")
    for arch, a in p.architectures.items():
        need(arch in ARCHITECTURES, f"architectures.{arch}", f"unknown; use one of {ARCHITECTURES}")
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
    unknown = sorted(set(raw) - set(_SECTIONS) - {"profile", "dataset", "architectures"})
    if unknown:
        raise ConfigError(f"unknown parameter section(s): {', '.join(unknown)}")
    kwargs: dict[str, Any] = {"profile": profile}
    if "dataset" in raw:
        kwargs["dataset"] = _coerce("str", raw["dataset"], "dataset")
    for name, cls in _SECTIONS.items():
        if name in raw:
            kwargs[name] = _build(cls, raw[name], name)
    if "architectures" in raw:
        archs = raw["architectures"]
        if not isinstance(archs, dict):
            raise ConfigError("architectures: expected a mapping")
        kwargs["architectures"] = {
            k: _build(ArchitectureParams, v, f"architectures.{k}") for k, v in archs.items()
        }
    params = Params(**kwargs)
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
    return params
