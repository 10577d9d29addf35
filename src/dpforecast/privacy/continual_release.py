"""Input perturbation as a continual release: each interval's counts are noised once, when they arrive.

A release is started once, with its mechanism, epsilon, delta and unit, which fix the
noise scale. Each later delivery noises only the intervals the release has not seen and
appends them; every value released before stays exactly as it was. Since each count is
noised once and the unit is a w-event unit (Kellaris et al. 2014), a delivery costs nothing
more on any tracked unit: the ledger is charged once, when the release starts
(:mod:`dpforecast.stages.release`). Re-noising the history at every retraining, as a
release regenerated from scratch would, composes a new mechanism on every past event.

Refused, with the interval named: a released interval missing from the new series, and a
released interval whose raw counts changed since (a restatement: releasing it again would
be a new mechanism on that event; see :mod:`dpforecast.privacy.restatements`).

The noise comes from :class:`~dpforecast.privacy.randomness.SecretStream`: the data owner's
key and a context naming the release and the delivered intervals (reproducible by the
owner alone), or the OS. Nothing derived from the raw data or the key is published:
:class:`ReleaseInfo` holds parameters, losses and timestamps only.
"""

from __future__ import annotations

import json
import math
import secrets
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from dpforecast.data.schema import TIMESTAMP
from dpforecast.privacy.discrete import (
    discrete_gaussian_sigma,
    discrete_laplace_scale,
    sample,
)
from dpforecast.privacy.randomness import PrivacyKey, SecretStream
from dpforecast.runtime.io import read_json

if TYPE_CHECKING:
    from dpforecast.config import Params
    from dpforecast.runtime.paths import Paths

FORMAT = 3  # 3: the discrete Gaussian calibrated by its own PLD (shift, coordinates)


class ReleaseError(ValueError):
    """The series cannot extend the release (the message names the interval)."""


@dataclass(frozen=True)
class ReleaseTerms:
    """What fixes a release's noise: a release with other terms is a new release."""

    dataset: str
    mechanism: str  # discrete_gaussian | discrete_laplace
    epsilon: float
    delta: float  # 0 for the discrete Laplace (pure epsilon-DP)
    unit: str  # the calibration unit's name
    unit_text: str = field(compare=False)  # the unit in words: its wording may improve, the release stays
    sensitivity: float  # L2 (Gaussian) or L1 (Laplace) norm of what one unit changes
    clip_at_zero: bool
    # every tracked unit's norm: the ledger charged the release on each, so a spec change that
    # resizes any of them (a longer protected period, another per_count) is another release
    unit_sensitivities: tuple[tuple[str, float], ...] = ()
    # the discrete Gaussian's worst neighbour on the unit: `coordinates` counts moved by `shift`
    shift: int = 1
    coordinates: int = 1

    def scale(self) -> float:
        """Sigma of the discrete Gaussian or the discrete Laplace's scale, from the accountant."""
        if self.mechanism == "discrete_laplace":
            return discrete_laplace_scale(self.epsilon, self.sensitivity)
        return discrete_gaussian_sigma(self.epsilon, self.delta, self.shift, self.coordinates)


def release_terms(params: Params) -> ReleaseTerms:
    """The terms ``params`` ask for (a release with other terms is another release)."""
    from dpforecast.privacy.budget import ledger_units

    privacy, unit = params.privacy, params.privacy_unit()
    mechanism = privacy.ip.mechanism
    shift, coordinates = unit.discrete_shift() if mechanism == "discrete_gaussian" else (1, 1)
    return ReleaseTerms(
        dataset=params.data_set.name, mechanism=mechanism, epsilon=float(privacy.epsilon),
        delta=0.0 if mechanism == "discrete_laplace" else float(privacy.delta), unit=unit.name,
        unit_text=unit.describe("ip"), sensitivity=unit.ip_sensitivity(mechanism),
        clip_at_zero=privacy.ip.clip_at_zero, shift=shift, coordinates=coordinates,
        unit_sensitivities=tuple((n, u.ip_sensitivity(mechanism)) for n, u in ledger_units(params).items()))


@dataclass(frozen=True)
class Delivery:
    """One extension of the release: when, and which intervals (no counts, no hashes)."""

    released_at: str
    first: str
    last: str
    intervals: int
    late_counts: int = 0  # counts released missing before, noised now that they arrived


@dataclass(frozen=True)
class ReleaseInfo:
    """The release's public description, written beside it (``release.json``) and into it."""

    release_id: str
    terms: ReleaseTerms
    scale: float
    unit_epsilons: dict[str, float]  # each tracked unit's epsilon of this release, at terms.delta
    randomness: str  # "owner key" (reproducible by the key's holder) or "operating system"
    deliveries: tuple[Delivery, ...] = ()
    format: int = FORMAT
    n_counts: int = 0
    private: bool = True
    mode: str = "ip"
    notes: tuple[str, ...] = field(default_factory=tuple)

    def to_json(self) -> dict[str, object]:
        """JSON types only (lists, not tuples): what ``release.json`` holds, read back equal."""
        return json.loads(json.dumps(asdict(self)))

    @classmethod
    def from_json(cls, raw: dict) -> ReleaseInfo:
        raw = dict(raw)
        if raw.get("format") != FORMAT:
            raise ReleaseError(f"release format {raw.get('format')!r} is not {FORMAT}: start a new release")
        terms = dict(raw["terms"])
        terms["unit_sensitivities"] = tuple((str(u), float(v)) for u, v in terms.get("unit_sensitivities", ()))
        raw["terms"] = ReleaseTerms(**terms)
        raw["deliveries"] = tuple(Delivery(**d) for d in raw["deliveries"])
        raw["notes"] = tuple(raw.get("notes", ()))
        return cls(**raw)


def new_release_id() -> str:
    """Public and random: it names the release in the ledger and in the owner's noise context."""
    return secrets.token_hex(8)


def _noise(info: ReleaseInfo, key: PrivacyKey | None, new: pl.DataFrame, zones: list[str]) -> np.ndarray:
    first, last = new[TIMESTAMP].min(), new[TIMESTAMP].max()
    context = {"purpose": "ip-release", "dataset": info.terms.dataset, "release": info.release_id,
               "first": str(first), "last": str(last), "intervals": new.height, "zones": zones}
    stream = SecretStream.for_context(key, context)
    draws = sample(info.terms.mechanism, info.scale, new.height * len(zones), stream)
    return np.asarray(draws, dtype=np.int64).reshape(new.height, len(zones))


def _late_cells(series: pl.DataFrame, released: pl.DataFrame, zones: list[str]) -> list[tuple[object, str, int]]:
    """(interval, zone, raw count) of every count released missing that ``series`` now has, in order."""
    both = released.select(TIMESTAMP, *zones).join(series.select(TIMESTAMP, *zones), on=TIMESTAMP, suffix="_now")
    cells = [(t, z, v) for z in zones
             for t, v in both.filter(pl.col(z).is_null() & pl.col(f"{z}_now").is_not_null())
             .select(TIMESTAMP, f"{z}_now").rows()]
    return sorted(cells, key=lambda cell: (cell[0], zones.index(cell[1])))


def _fill_late(series: pl.DataFrame, released: pl.DataFrame, zones: list[str], info: ReleaseInfo,
               key: PrivacyKey | None) -> tuple[pl.DataFrame, list[tuple[object, str]]]:
    """``released`` with its late counts noised and filled in: each is a new count, noised once
    with a draw of its own (the context names the cells), like a new interval's."""
    cells = _late_cells(series, released, zones)
    if not cells:
        return released, []
    context = {"purpose": "ip-release-late", "dataset": info.terms.dataset, "release": info.release_id,
               "cells": [f"{t}|{z}" for t, z, _ in cells]}
    draws = sample(info.terms.mechanism, info.scale, len(cells), SecretStream.for_context(key, context))
    values = np.asarray([v for *_, v in cells], dtype=np.int64) + np.asarray(draws, dtype=np.int64)
    if info.terms.clip_at_zero:
        values = np.maximum(values, 0)
    late = pl.DataFrame({TIMESTAMP: [t for t, *_ in cells], "zone": [z for _, z, _ in cells], "value": values},
                        schema={TIMESTAMP: released.schema[TIMESTAMP], "zone": pl.String, "value": pl.Int64})
    wide = late.pivot(on="zone", index=TIMESTAMP, values="value")
    filled_zones = [z for z in zones if z in wide.columns]
    filled = released.join(wide.rename({z: f"{z}_late" for z in filled_zones}), on=TIMESTAMP, how="left")
    filled = filled.with_columns(pl.coalesce(z, f"{z}_late").alias(z) for z in filled_zones)
    return filled.drop(f"{z}_late" for z in filled_zones), [(t, z) for t, z, _ in cells]


def extend(series: pl.DataFrame, zones: list[str], released: pl.DataFrame | None, info: ReleaseInfo,
           key: PrivacyKey | None) -> tuple[pl.DataFrame, ReleaseInfo]:
    """The release of ``series``: ``released`` (may be None) with the intervals it lacks noised
    and appended, in time order, and the counts it released missing that have since arrived
    noised and filled in; raises :class:`ReleaseError` if ``series`` lost a released interval."""
    late: list[tuple[object, str]] = []
    if released is not None:
        lost = released.join(series.select(TIMESTAMP), on=TIMESTAMP, how="anti")
        if lost.height:
            raise ReleaseError(f"interval {lost[TIMESTAMP][0]} was released but is not in the validated series "
                               f"({lost.height} such intervals): a release never takes values back")
        new = series.join(released.select(TIMESTAMP), on=TIMESTAMP, how="anti")
        released, late = _fill_late(series, released.select(TIMESTAMP, *zones), zones, info, key)
    else:
        new = series
    if new.height == 0 and not late:
        return released if released is not None else series.clear(), info
    new = new.sort(TIMESTAMP)  # a join need not keep the order: each draw must go to the same interval on a replay
    if new.height:
        counts = new.select(zones).fill_null(0).to_numpy().astype(np.int64)
        noisy = counts + _noise(info, key, new, zones)
        if info.terms.clip_at_zero:
            noisy = np.maximum(noisy, 0)
        appended = new.select(TIMESTAMP).with_columns(
            pl.Series(z, noisy[:, i], dtype=pl.Int64) for i, z in enumerate(zones)
        ).with_columns(  # a missing count (a gap the spec allows) stays missing: no noise is published for it
            pl.when(new[z].is_null()).then(None).otherwise(pl.col(z)).alias(z) for z in zones)
        out = appended if released is None else pl.concat([released.select(TIMESTAMP, *zones), appended])
    else:
        out = released
    out = out.sort(TIMESTAMP)
    span = new[TIMESTAMP].to_list() + [t for t, _ in late]
    delivery = Delivery(datetime.now(UTC).isoformat(timespec="seconds"), str(min(span)), str(max(span)),
                        new.height, len(late))
    info = ReleaseInfo(**{**asdict(info), "terms": info.terms, "deliveries": (*info.deliveries, delivery),
                          "n_counts": out.height * len(zones), "notes": info.notes})
    return out, info


def unit_epsilon_text(epsilons: dict[str, float]) -> str:
    return ", ".join(f"{u} {e:.4g}" if math.isfinite(e) else f"{u} vacuous" for u, e in epsilons.items())


def current_release(paths: Paths) -> ReleaseInfo | None:
    """The release in ``artifacts/release/``, or None (no release, a note, or an old format);
    damaged metadata is refused, naming the file, rather than taken for no release (which
    would start, and charge, another)."""
    if not (paths.release_metadata.is_file() and paths.release_series.is_file()):
        return None
    try:
        raw = read_json(paths.release_metadata)
    except ValueError as exc:
        return _damaged(paths, f"{type(exc).__name__}: {exc}")
    if not isinstance(raw, dict):
        return _damaged(paths, "not a JSON object")
    if raw.get("mode") != "ip" or raw.get("format") is None:
        return None
    try:
        return ReleaseInfo.from_json(raw)
    except ReleaseError:  # an older format: a new release
        return None
    except (ValueError, KeyError, TypeError) as exc:
        return _damaged(paths, f"{type(exc).__name__}: {exc}")


def _damaged(paths: Paths, why: str) -> None:
    raise ReleaseError(f"{paths.release_metadata}: not a release's metadata ({why}); restore it with "
                       f"`dvc pull release`, or remove {paths.release_dir} to start (and charge) a new release")
