"""``DPForecast``: fit forecasters on a frame in memory, with a privacy guarantee.

In the spirit of ``NeuralForecast(models=[...]).fit(df)``::

    fc = DPForecast(models=[BiGRU(), Ridge(), SeasonalNaive("1d"), Persistence()], h="1d",
                    window="1d", dataset="datasets/auckland.yaml", privacy=InputPerturbation(1, unit="event"))
    fc.fit(df)                      # unique_id, ds, y (Polars or pandas)
    fc.predict()                    # every lead, with 80% and 95% conformal intervals
    fc.cross_validation(df, n_windows=7, step="1d")
    print(fc.privacy_report())

Everything it runs is the pipeline's own code: the frame is validated by the data set's
suite, a release is started and charged to the data set's ledger (the one the pipeline
uses) before a count is read, DP-SGD is planned and charged before a step, windows are cut
and intervals calibrated as the stages do. A fit holds out the last ``validation_days``
of the frame (the spec's protocol): its first half stops the networks and selects ridge's
penalty, its second half calibrates the intervals; there is no test block, which is what
:meth:`DPForecast.cross_validation` is for.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import yaml

from dpforecast.api.dataset import load_dataset
from dpforecast.api.frames import DS, DURATION, ID, Y, to_series
from dpforecast.api.holdout import HeldOutScore, Holdout
from dpforecast.api.privacy import Privacy, privacy_from_json, privacy_to_json
from dpforecast.api.release import release_once
from dpforecast.api.reports import PrivacyReports
from dpforecast.config import Params, ParamsDocument, SplitParams, deep_merge, params_from_dict, resolve, steps
from dpforecast.data.schema import TIMESTAMP
from dpforecast.data.spec import DatasetSpec, spec_from_dict
from dpforecast.errors import ConfigError
from dpforecast.evaluation.metrics import forecast_errors
from dpforecast.features.calendar import add_calendar_features
from dpforecast.features.known_future import add_known_future
from dpforecast.features.rates import as_counts, duration_ratios, per_nominal_interval
from dpforecast.features.windows import make_windows, split_counts
from dpforecast.features.zones import SplitError, modelled_zones
from dpforecast.models.base import Callback, FitContext, FitSummary, Model, Windows
from dpforecast.models.conformal import Intervals
from dpforecast.models.persistence import Persistence
from dpforecast.models.ridge import Ridge
from dpforecast.models.seasonal import SeasonalNaive
from dpforecast.models.statistical import MSTL, AutoARIMA, AutoETS
from dpforecast.models.zero_shot import Fracast
from dpforecast.privacy.report import PrivacyReport
from dpforecast.runtime.io import atomic_dir, read_json, write_json
from dpforecast.training.intervals import fit_calibrated
from dpforecast.training.networks import NETWORKS, Network

#: Every model class a saved forecast can name.
MODEL_CLASSES: dict[str, type[Model]] = {
    **{cls.__name__: cls for cls in NETWORKS.values()}, "Ridge": Ridge, "SeasonalNaive": SeasonalNaive,
    "Persistence": Persistence, "AutoETS": AutoETS, "MSTL": MSTL, "AutoARIMA": AutoARIMA, "Fracast": Fracast}
SAVED_FORMAT = 1
#: cross_validation's column of each target day's calendar group (weekday, weekend, holiday).
CALENDAR_GROUP = "calendar_group"
NOT_COVERED = ("fitted on the raw counts beside DP-SGD: its forecasts and intervals are statistics of the private "
               "data that no accountant charges; not covered by any guarantee")


@dataclass(frozen=True)
class FittedModel:
    """One model after :meth:`DPForecast.fit`: how the fit went, its intervals, its guarantee."""

    summary: FitSummary
    intervals: Intervals | None
    privacy: PrivacyReport


class DPForecast:
    """Forecasters of one data set's zones, fitted and served together, privately or not."""

    def __init__(self, models: Sequence[Model], h: int | str, window: int | str, dataset: DatasetSpec | str | Path,
                 privacy: Privacy = None, validation_days: int | None = None, history_days: int | None = None,
                 seed: int = 0, settings: Mapping[str, Any] | None = None, callbacks: Sequence[Callback] = (),
                 progress: bool = False) -> None:
        """``h`` and ``window``: steps, or durations (``"1d"``, ``"12h"``); ``dataset``: a
        spec (its zones, interval, clock and privacy bound), a spec file or a data set name;
        ``settings``: any other ``params.yaml`` keys (``train``, ``privacy.budget``...)."""
        if not models:
            raise ConfigError("models: give at least one model")
        names = [m.name for m in models]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ConfigError(f"models: {', '.join(twice)} named twice; give one an alias")
        self.models = list(models)
        self.dataset = dataset if isinstance(dataset, DatasetSpec) else load_dataset(dataset)
        self.privacy = privacy
        self.seed = seed
        self.callbacks = tuple(callbacks)
        self.progress = progress
        self.settings = dict(settings or {})
        implied = privacy.params() if privacy is not None else {}
        raw = deep_merge(implied, self.settings)  # the caller's settings win over those the mechanism implies
        raw = deep_merge(raw, {"dataset": self.dataset.name, "features": {"window": window, "horizon": h}})
        if privacy is not None:  # ... but never over the mechanism's own terms
            raw["privacy"] = deep_merge(raw["privacy"], implied["privacy"])
        protocol = self.dataset.protocol
        self.validation_days = protocol.validation_days if validation_days is None else validation_days
        self.history_days = protocol.history_days if history_days is None else (history_days or None)
        params = resolve(params_from_dict(raw), self.dataset)
        #: The protocol's test block: what :meth:`holdout` scores on (``fit`` reads it like any day).
        self.test_days = params.protocol()[0]
        # No test block: the last validation_days are held out for stopping and calibration.
        self.params = replace(params, split=SplitParams(test_days=0, validation_days=self.validation_days,
                                                        history_days=self.history_days or 0))
        self.h, self.window = self.params.features.horizon, self.params.features.window
        self.zones: list[str] = []
        self.fitted: dict[str, FittedModel] = {}
        self.release: PrivacyReport | None = None
        self._series: pl.DataFrame | None = None

    @classmethod
    def from_params(cls, params: Params, models: Sequence[Model], seed: int | None = None,
                    callbacks: Sequence[Callback] = (), progress: bool = False) -> DPForecast:
        """The pipeline's resolved parameters (``params.yaml``, a profile, overrides) as a
        forecast: their data set, protocol, privacy mode and training settings; ``seed``
        defaults to ``train.seed``. What the experiments (study, variants, frontier) fit."""
        test_days, validation_days, history_days = params.protocol()
        settings = {f.name: asdict(getattr(params, f.name)) if f.name != "architectures" else
                    {a: asdict(v) for a, v in params.architectures.items()}
                    for f in fields(ParamsDocument) if f.name not in ("profile", "dataset")}
        settings["split"] = {"test_days": test_days, "validation_days": validation_days,
                             "history_days": history_days or 0}
        forecast = cls(models, params.features.horizon, params.features.window, params.data_set, None,
                       validation_days, history_days or 0, params.train.seed if seed is None else seed, settings,
                       callbacks, progress)
        forecast.params = replace(forecast.params, profile=params.profile)
        return forecast

    # ------------------------------------------------------------------ fit

    def fit(self, df: Any) -> DPForecast:
        """Validate ``df`` (``unique_id, ds, y``), release it (input perturbation: charged
        first), fit every model on its windows and calibrate their intervals."""
        self._fit_series(to_series(df, self.params), 0)
        return self

    def holdout(self, df: Any) -> Holdout:
        """Fit on ``df`` before the protocol's last ``test_days`` (the pipeline's split:
        training, then the validation block) and score every model on the test block's
        windows against the raw counts: the ``train`` stage's evaluation, in memory. Under
        privacy the fit is charged like any other; the scores are the data owner's."""
        return self.holdout_series(to_series(df, self.params))

    def holdout_series(self, series: pl.DataFrame) -> Holdout:
        """:meth:`holdout` of a series the pipeline validated (``timestamp`` and one column
        per zone, as the ``validate`` stage writes it or :func:`~dpforecast.api.dataset.validated_series`
        returns it): what the experiments and Dagster's ``model_variant`` fit."""
        test, released, counts = self._fit_series(series, self.test_days)
        if len(test) == 0:
            raise SplitError(f"frame: no complete test window in the last {self.test_days} days")
        zones = list(self.zones)
        scores = {}
        for model in self.models:
            forecast = model.predict(test)  # the inputs are the release's under IP; the targets raw
            whole = np.isfinite(forecast).all(axis=(1, 2))
            errors = forecast_errors(test.y[whole], forecast[whole], zones) if whole.any() else None
            noisy = forecast_errors(released.y[whole], forecast[whole], zones) \
                if released is not None and whole.any() else None
            fitted = self.fitted[model.name]
            scores[model.name] = HeldOutScore(errors, noisy, fitted.summary, fitted.intervals, fitted.privacy)
        return Holdout(test, counts, scores)

    def _fit_series(self, series: pl.DataFrame, test_days: int) -> tuple[Windows, Windows | None, dict[str, int]]:
        """Release (IP), window and fit on ``series`` less its last ``test_days``; the test
        windows with raw targets, the same windows with the release's (IP) and the counts."""
        params, spec = self.params, self.dataset
        zones, dropped = modelled_zones(series, params)
        raw = series
        self.release = None
        if params.privacy.mode == "ip":
            series, self.release = release_once(params, series)
        training = series.select(TIMESTAMP, *zones)
        table = self._table(training, zones)
        index = make_windows(table, self.window, self.h, params.data.contiguous, test_days, self.validation_days,
                             spec.clock, zones, self.history_days)
        train, validation, test = (Windows.of(table, index.filter(pl.col("split") == s), self.window, self.h, zones,
                                              spec.interval_minutes) for s in ("train", "validation", "test"))
        if len(train) == 0:
            raise SplitError(f"frame: no training window of {self.window} + {self.h} steps before the last "
                             f"{self.validation_days + test_days} days ({table.height} intervals, dropped zones "
                             f"{dropped})")
        context = FitContext(params, self.seed, self.callbacks, self.progress)
        fitted = {}
        for model in self.models:
            summary, intervals = fit_calibrated(model, train, validation, context)
            report = self._report(model)
            for callback in self.callbacks:
                callback.on_fit_end(model.name, summary, report.to_json())
            fitted[model.name] = FittedModel(summary, intervals, report)
        self.zones, self.fitted, self._series = zones, fitted, training
        # Scored as the train stage scores: raw counts (per nominal interval on a local clock).
        raw_test = Windows.of(table, test.index, self.window, self.h, zones, spec.interval_minutes,
                              targets=per_nominal_interval(raw, zones, spec.clock).select(zones)) if len(test) else test
        return raw_test, (test if self.release is not None else None), split_counts(index)

    def _table(self, series: pl.DataFrame, zones: list[str]) -> pl.DataFrame:
        """The models' table of ``series``: counts per nominal interval (on a local clock),
        the calendar features and the known-future ones (``features.known_future``)."""
        features = self.params.features
        table = add_calendar_features(per_nominal_interval(series, zones, self.dataset.clock), features.week_period_days)
        return add_known_future(table, features.known_future, self.h, self.dataset.clock, self.dataset.calendar)

    def _report(self, model: Model) -> PrivacyReport:
        mode = self.params.privacy.mode
        if mode == "ip" and self.release is not None:
            return self.release
        if mode == "gp":
            if isinstance(model, Network) and model.privacy is not None:
                return model.privacy
            return PrivacyReport.non_private([NOT_COVERED])
        return PrivacyReport.non_private()

    # ------------------------------------------------------------------ forecasts

    def predict(self, df: Any = None) -> pl.DataFrame:
        """Every zone's forecast at every lead after the end of ``df`` (default: the series the
        models were fitted on, the noisy release under input perturbation), with the 80% and
        95% intervals: ``unique_id, ds, duration_minutes, <model>, <model>-lo-80, <model>-hi-80, ...``
        (``ds`` each target interval's start on the data set's clock, ``duration_minutes`` its
        length: on a local clock longer or shorter across a change of time)."""
        self._need_fit()
        series = self._series if df is None else to_series(df, self.params)
        assert series is not None
        n = series.height
        last = series[TIMESTAMP][-1]
        clock = self.dataset.clock
        stamps = pl.Series(TIMESTAMP, clock.later(last, self.h), dtype=pl.Datetime("us", self.dataset.timezone))
        extended = pl.concat([series.select(TIMESTAMP, *self.zones), pl.DataFrame({TIMESTAMP: stamps})],
                             how="diagonal_relaxed")
        start = n - self.window
        inputs = extended.slice(max(start, 0), self.window)
        rows = np.arange(inputs.height - 1)
        if start < 0 or inputs.select(pl.any_horizontal(pl.col(z).is_null() for z in self.zones)).to_series().any() \
                or not clock.consecutive(inputs[TIMESTAMP], rows, rows + 1, 1).all():
            raise SplitError(f"frame: the last {self.window} intervals before {last} must all be present (no gap, no "
                             f"missing count) to forecast from them")
        index = pl.DataFrame({"start_row": [start], "target_row": [n]}, schema={"start_row": pl.Int64,
                                                                              "target_row": pl.Int64})
        index = index.with_columns(target_time=pl.lit(stamps[0]))
        windows = Windows.of(self._table(extended, self.zones), index, self.window, self.h, self.zones,
                             self.dataset.interval_minutes)
        return self._frame(windows, cutoffs=False)

    def cross_validation(self, df: Any, n_windows: int = 1, step: int | str | None = None) -> pl.DataFrame:
        """Fit once on ``df`` before the first of ``n_windows`` forecast origins ``step`` apart
        (default ``h``), the last ending with ``df``; forecast every origin from the raw
        inputs: ``unique_id, ds, duration_minutes, cutoff, y, calendar_group, <model>, <model>-lo-80, ...``. The fit is a fit:
        under privacy it is charged like any other."""
        if n_windows < 1:
            raise ConfigError(f"n_windows: must be at least 1, got {n_windows}")
        every = self.h if step is None else steps(step, self.dataset.interval_minutes, "step")
        series = to_series(df, self.params)
        zones, _ = modelled_zones(series, self.params)  # a zone the fit will drop must not empty the origins
        table = self._table(series.select(TIMESTAMP, *zones), zones)
        usable = make_windows(table, self.window, self.h, self.params.data.contiguous, 0, 0,
                              self.dataset.clock, zones)
        if usable.height == 0:
            raise SplitError(f"frame: no complete window of {self.window} + {self.h} steps (every one touches a gap "
                             f"or a missing count)")
        last = int(usable["target_row"].max())
        wanted = [last - k * every for k in range(n_windows)][::-1]
        index = usable.filter(pl.col("target_row").is_in(wanted)).sort("target_row")
        if index.height == 0:
            raise SplitError(f"frame: no complete window at the {n_windows} origins {every} steps apart")
        self._fit_series(series.head(int(index["target_row"][0])), 0)
        windows = Windows.of(table, index, self.window, self.h, self.zones, self.dataset.interval_minutes,
                             targets=series)  # y: the counts, not per nominal interval
        return self._frame(windows, cutoffs=True)

    def _frame(self, windows: Windows, cutoffs: bool) -> pl.DataFrame:
        """Forecasts of ``windows`` as one long frame, one row per window, lead and zone: the
        count of each target interval, whose duration ``duration_minutes`` states (on a
        local clock the models forecast per nominal interval: scaled back here); with
        ``cutoffs``, the target day's ``calendar_group`` (weekday, weekend, holiday), by
        which coverage is read per group."""
        n, h, k = len(windows), self.h, len(self.zones)
        rows = windows.index["target_row"].to_numpy()[:, None] + np.arange(h)[None, :]
        stamps = windows.table[TIMESTAMP].gather(rows.ravel())
        ratios = duration_ratios(stamps, self.dataset.clock).reshape(n, h)
        each = np.repeat(np.arange(n * h), k)
        columns: dict[str, Any] = {ID: np.tile(np.asarray(self.zones), n * h), DS: stamps.gather(each),
                                   DURATION: np.rint(ratios.ravel() * self.dataset.interval_minutes).astype(np.int64)[each]}
        groups = self.dataset.calendar.groups(stamps.dt.date()).reshape(n, h)
        if cutoffs:
            origin = windows.table[TIMESTAMP].gather(np.repeat(windows.index["target_row"].to_numpy() - 1, h * k))
            columns["cutoff"] = origin
            columns[Y] = windows.y.reshape(-1).astype(np.float64)
            columns[CALENDAR_GROUP] = groups.ravel()[each]
        for model in self.models:
            forecast = model.predict(windows)
            columns[model.name] = as_counts(forecast, ratios).reshape(-1)
            intervals = self.fitted[model.name].intervals
            if intervals is None:
                continue
            for level, (lower, upper) in intervals.bounds(forecast, groups).items():
                columns[f"{model.name}-lo-{round(level * 100)}"] = as_counts(lower, ratios).reshape(-1)
                columns[f"{model.name}-hi-{round(level * 100)}"] = as_counts(upper, ratios).reshape(-1)
        frame = pl.DataFrame(columns)
        if cutoffs:
            frame = frame.with_columns(pl.col(Y).fill_nan(None))
        return frame.sort([c for c in (ID, "cutoff", DS) if c in frame.columns])

    # ------------------------------------------------------------------ privacy

    def privacy_report(self) -> PrivacyReports:
        """Each model's guarantee (the release's, under input perturbation), as the ledger charged it."""
        self._need_fit()
        return PrivacyReports(self.dataset.name, self.release, {name: f.privacy for name, f in self.fitted.items()})

    def _need_fit(self) -> None:
        if not self.fitted:
            raise ValueError("DPForecast: call fit (or load) first")

    # ------------------------------------------------------------------ persistence

    def save(self, path: str | Path) -> Path:
        """Write the fitted forecast to the folder ``path`` (replaced whole, atomically): the
        settings, the data set's spec, each model's weights or coefficients, intervals and
        privacy report. No count is written: :meth:`load`'s ``predict`` needs a frame."""
        self._need_fit()
        if not Path(self.dataset.path).is_file():
            raise ConfigError(f"save: the data set spec {self.dataset.path!r} is not a file to copy beside the models")
        path = Path(path)
        with atomic_dir(path) as tmp:
            (tmp / "dataset.yaml").write_text(Path(self.dataset.path).read_text())
            write_json(tmp / "forecast.json", {
                "format": SAVED_FORMAT, "h": self.h, "window": self.window, "seed": self.seed,
                "validation_days": self.validation_days, "history_days": self.history_days, "zones": self.zones,
                "settings": json.loads(json.dumps(self.settings)), "privacy": privacy_to_json(self.privacy),
                "release": None if self.release is None else self.release.to_json(),
                "models": [{"class": type(m).__name__, "config": m.config()} for m in self.models]})
            for model in self.models:
                folder = tmp / "models" / model.name
                folder.mkdir(parents=True)
                model.save(folder)
                fitted = self.fitted[model.name]
                write_json(folder / "privacy.json", fitted.privacy.to_json())
                (folder / "privacy.md").write_text(fitted.privacy.to_markdown())
                write_json(folder / "fit.json", {"seconds": fitted.summary.seconds, "history": fitted.summary.history,
                                                 "best_epoch": fitted.summary.best_epoch,
                                                 "stopped_early": fitted.summary.stopped_early,
                                                 "details": fitted.summary.details})
                if fitted.intervals is not None:
                    write_json(folder / "intervals.json", fitted.intervals.to_json())
        return path

    @classmethod
    def load(cls, path: str | Path) -> DPForecast:
        """A forecast :meth:`save` wrote, ready to ``predict(df)``."""
        path = Path(path)
        raw = read_json(path / "forecast.json")
        if raw.get("format") != SAVED_FORMAT:
            raise ConfigError(f"{path / 'forecast.json'}: format {raw.get('format')!r}, expected {SAVED_FORMAT}")
        spec_path = path / "dataset.yaml"
        dataset = spec_from_dict(yaml.safe_load(spec_path.read_text()), str(spec_path))
        models = [MODEL_CLASSES[m["class"]](**m["config"]) for m in raw["models"]]
        forecast = cls(models, raw["h"], raw["window"], dataset, privacy_from_json(raw["privacy"]),
                       raw["validation_days"], raw["history_days"], raw["seed"], raw["settings"])
        forecast.zones = list(raw["zones"])
        forecast.release = None if raw["release"] is None else PrivacyReport.from_json(raw["release"])
        for model in models:
            folder = path / "models" / model.name
            model.load(folder)
            fit = read_json(folder / "fit.json")
            intervals = Intervals.from_json(read_json(folder / "intervals.json")) \
                if (folder / "intervals.json").is_file() else None
            forecast.fitted[model.name] = FittedModel(
                FitSummary(fit["seconds"], fit["history"], fit["best_epoch"], fit["stopped_early"], fit["details"]),
                intervals, PrivacyReport.from_json(read_json(folder / "privacy.json")))
        return forecast
