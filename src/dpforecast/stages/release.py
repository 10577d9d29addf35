"""Stage ``release``: in ``ip`` mode, the continual noisy release of the series the models train on.

The release (``artifacts/release/``, a DVC out with ``persist: true``, pushed to the DVC
remote like every artifact) is extended, never regenerated: a delivery noises only its new
intervals (:mod:`dpforecast.privacy.continual_release`). A release is started, and charged to
the data set's ledger on every tracked unit, when none exists or when its terms (mechanism,
epsilon, delta, unit, the spec's bound) change; extending it charges nothing. The charge is
made before any count is read, and a release killed after it keeps its charge.

In other modes the stage leaves an existing release as it is (switching back to ``ip``
continues it) and otherwise records that no release was made, so the features stage reads
the validated series.
"""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl

from dpforecast.config import Params
from dpforecast.data.schema import TIMESTAMP
from dpforecast.privacy import restatements
from dpforecast.privacy.budget import open_ledger
from dpforecast.privacy.checks import check_privacy
from dpforecast.privacy.continual_release import (
    ReleaseError,
    ReleaseInfo,
    current_release,
    extend,
    release_terms,
)
from dpforecast.privacy.randomness import PrivacyKey, load_key
from dpforecast.privacy.release_start import start_release
from dpforecast.runtime.faults import crash_point
from dpforecast.runtime.io import atomic_dir, read_json, write_json
from dpforecast.runtime.paths import Paths
from dpforecast.validation.released import validate_released
from dpforecast.validation.report import DataValidationError

PARQUET_METADATA_KEY = "dpforecast.release"
NO_RELEASE = {"private": False, "mode": "none", "note": "no input perturbation: models read the validated series"}


def release(paths: Paths, params: Params, data_version: str = "") -> dict[str, object]:
    """Start or extend the release in ``artifacts/release/`` (series and metadata swapped in
    together, so a release killed half-way leaves the previous one); return its metadata."""
    if params.privacy.mode != "ip":
        if current_release(paths) is None:
            with atomic_dir(paths.release_dir) as tmp:
                write_json(tmp / paths.release_metadata.name, {**NO_RELEASE, "mode": params.privacy.mode})
            return {**NO_RELEASE, "mode": params.privacy.mode}
        return read_json(paths.release_metadata)
    check_privacy(params.privacy)
    key = load_key()  # a bad key is refused before any data is read
    with restatements.release_lock(params.data_set.name):  # one extension at a time on this machine
        return _release(paths, params, key, data_version)


def _release(paths: Paths, params: Params, key: PrivacyKey | None, data_version: str) -> dict[str, object]:
    terms = release_terms(params)
    info = current_release(paths)
    released = None
    if info is not None and info.terms == terms:
        ledger = open_ledger(params)
        if f"ip-release:{info.release_id}" not in {c.key for c in ledger.charges()}:
            raise ReleaseError(
                f"{paths.release_dir}: release {info.release_id} was never charged to this data set's ledger "
                f"({ledger.location}): it was charged to another one; set DPFORECAST_LEDGER to that ledger, or "
                f"remove {paths.release_dir} to start (and charge) a new release")
        released = pl.read_parquet(paths.release_series)
    else:  # none yet, or other terms: a new release, charged as such
        info = start_release(params, terms, "owner key" if key else "operating system", data_version)
    crash_point("release:charged")

    spec = params.data_set
    zones = spec.zone_ids
    series = pl.read_parquet(paths.series)
    missing = [c for c in (TIMESTAMP, *zones) if c not in series.columns]
    if missing:
        raise ValueError(f"{paths.series}: the validated series lacks column(s) {missing}")
    if released is not None:
        lacking = series.join(released.select(TIMESTAMP), on=TIMESTAMP, how="anti")[TIMESTAMP]
        again = restatements.released_before(spec.name, info.release_id, lacking)
        if again:
            raise ReleaseError(
                f"{paths.release_series}: interval {again[0]} was released before under release {info.release_id} "
                f"but this copy of the release lacks it ({len(again)} such intervals: an older or concurrently "
                f"extended copy); noising it again would publish it twice: `dvc pull release` for the current "
                f"release")
    changed, checked = restatements.restated(spec.name, info.release_id, series, zones)
    if changed:
        raise ReleaseError(f"{spec.raw}: interval {changed[0]} was released and its counts have changed since "
                           f"({len(changed)} restated intervals); a release never re-noises a released interval: "
                           f"start a new release (change privacy.epsilon or privacy.unit), charged as such")
    out, info = extend(series, zones, released, info, key)
    if not checked and released is not None:
        info = ReleaseInfo(**{**info.__dict__, "notes": ("restated intervals cannot be detected on this machine: "
                                                         "the release's private digests are elsewhere",)})
    nullable = frozenset(z for z in zones if series[z].null_count())
    report = validate_released(out, clip_at_zero=terms.clip_at_zero, rounded=True,
                               reference_timestamps=series[TIMESTAMP], zones=zones, nullable=nullable,
                               source=f"release of {paths.series}", engine=params.validate.engine)
    if not report.passed:
        raise DataValidationError(report, report.message())
    meta = info.to_json()
    with atomic_dir(paths.release_dir) as tmp:
        out.write_parquet(tmp / paths.release_series.name, statistics=False,
                          metadata={PARQUET_METADATA_KEY: json.dumps(meta, sort_keys=True)})
        write_json(tmp / paths.release_metadata.name, meta)
        crash_point("release:written")
    restatements.remember(spec.name, info.release_id, series, zones)
    return meta


def release_line(meta: dict[str, object], mode: str) -> str:
    """What the stage prints: the release a run's models train on, or why there is none,
    naming the mechanism that makes a run private."""
    if mode == "ip":
        terms = meta.get("terms") or {}
        assert isinstance(terms, dict)
        return (f"release: {terms['mechanism']} noise added once to every count, epsilon {terms['epsilon']:g} per "
                f"{terms['unit_text']} (delta {terms['delta']:g}): the models train on this noisy release")
    kept = " (an earlier input-perturbation release is kept, unused)" if meta.get("private") else ""
    if mode == "gp":
        return (f"release: none - this run is private by DP-SGD, the models are noised in training (each model's "
                f"privacy report states its guarantee){kept}")
    return f"release: none - this run is not private: the models read the validated counts{kept}"


def read_release_metadata(path: str | Path) -> dict[str, object]:
    """The release metadata embedded in a released Parquet file."""
    kv = pl.read_parquet_metadata(path)
    if PARQUET_METADATA_KEY not in kv:
        raise ValueError(f"{path}: no {PARQUET_METADATA_KEY!r} key-value metadata (not a release)")
    return json.loads(kv[PARQUET_METADATA_KEY])


def training_series(paths: Paths, params: Params) -> Path:
    """The series models train on: the release in ``ip`` mode, else the validated series."""
    return paths.release_series if params.privacy.mode == "ip" else paths.series
