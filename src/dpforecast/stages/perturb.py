"""Stage ``perturb``: input perturbation (IP), a differentially private copy of the series.

Reads the validated series (``timestamp`` and Int64 ``r1``..``r6``), adds independent noise
to every zone count of the whole series (train, validation and test periods alike, as in
the study), leaves the timestamps untouched, and checks the release with the
released-series suite (:mod:`dpforecast.validation.released`). Nothing is written unless
the release passes: a failure raises :class:`DataValidationError` and leaves existing
outputs as they were. The release and its metadata JSON are each written atomically; the
metadata is also embedded in the Parquet file's key-value metadata (key
:data:`PARQUET_METADATA_KEY`, a JSON string), so the file states its own guarantee.

Privacy statement carried by the metadata: each count is (epsilon, delta)-DP for a change
of ``sensitivity`` in it, i.e. for ``unit``. A person contributing to ``k`` counts gets
``k * epsilon`` by basic composition.

The metadata records the noise ``seed``: whoever holds it can regenerate and subtract
the noise, so a file carrying it must be handled like the raw data. With
``privacy.ip.seed: null`` the noise comes from OS entropy and the recorded seed is null.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from dpforecast.config import Params
from dpforecast.data.schema import TIMESTAMP
from dpforecast.io import atomic_path, write_json
from dpforecast.privacy import mechanisms
from dpforecast.privacy.checks import check_privacy
from dpforecast.validation.report import DataValidationError
from dpforecast.validation.released import validate_released

PARQUET_METADATA_KEY = "dpforecast.release"


def _md5(path: Path) -> str:
    digest = hashlib.md5()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _check_privacy(params: Params) -> None:
    """Refuse parameters that make no valid release (before touching data)."""
    privacy = params.privacy
    if privacy.mode != "ip":
        raise ValueError(
            f"privacy.mode: the perturb stage releases input perturbation and needs mode 'ip', "
            f"got {privacy.mode!r}"
        )
    if privacy.ip.mechanism not in mechanisms.MECHANISMS:
        raise ValueError(
            f"privacy.ip.mechanism: must be one of {mechanisms.MECHANISMS}, got {privacy.ip.mechanism!r}"
        )
    check_privacy(privacy)
    # Calibrating the noise refuses the remaining bad values (epsilon, delta).
    mechanisms.noise_scale(privacy.ip.mechanism, privacy.epsilon, privacy.delta,
                           params.privacy_unit().ip_sensitivity(privacy.ip.mechanism))


def _counts(series: pl.DataFrame, series_path: Path, zones: list[str], nulls_allowed: bool) -> np.ndarray:
    """The zone counts as floats; a missing count (a gap the spec allows) is 0 here and
    null again in the release, so no noise is published where nothing was counted."""
    missing = [c for c in (TIMESTAMP, *zones) if c not in series.columns]
    if missing:
        raise ValueError(f"{series_path}: the validated series lacks column(s) {missing}")
    nulls = {z: n for z in zones if (n := series[z].null_count())}
    if nulls and not nulls_allowed:
        raise ValueError(f"{series_path}: null counts in the validated series: {nulls}")
    return series.select(zones).fill_null(0).to_numpy().astype(np.float64)


def noise_seed(params: Params, input_md5: str) -> int | None:
    """The generator's seed for one release: ``privacy.ip.seed`` mixed with everything that
    makes a release distinct (data, mechanism, epsilon, delta, unit). Two different releases
    of one series must never share a noise draw: with the same draw scaled twice, anyone
    holding both could solve for the raw counts. Regenerating the same release still gives
    the same noise (and costs nothing in the ledger). ``None`` (OS entropy) stays ``None``."""
    privacy = params.privacy
    if privacy.ip.seed is None:
        return None
    spec = {"seed": privacy.ip.seed, "data": input_md5, "dataset": params.dataset, "mechanism": privacy.ip.mechanism,
            "epsilon": privacy.epsilon, "delta": privacy.delta, "unit": privacy.unit, "w": privacy.w}
    return int(hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:16], 16)


def perturb(
    series_path: Path,
    out_path: Path,
    metadata_path: Path,
    params: Params,
    data_version: str = "",
) -> dict[str, Any]:
    """Write the noisy release of ``series_path`` to ``out_path``; return its metadata.

    The metadata (also written to ``metadata_path`` and into the Parquet file) holds the
    mechanism, epsilon, delta (0 for Laplace), sensitivity, unit, sigma or scale and the
    noise's standard deviation, seed, round, clip_at_zero, n_counts, the md5 of the input
    file and ``data_version``.

    Raises ``ValueError`` (naming the parameter) for ``privacy.mode != "ip"`` or
    parameters no mechanism accepts, and :class:`DataValidationError` when the release
    fails its checks; in both cases nothing is written.
    """
    series_path, out_path, metadata_path = Path(series_path), Path(out_path), Path(metadata_path)
    _check_privacy(params)
    privacy, ip = params.privacy, params.privacy.ip
    unit = params.privacy_unit()

    series = pl.read_parquet(series_path)
    input_md5 = _md5(series_path)
    spec = params.data_set
    zones = spec.zone_ids
    counts = _counts(series, series_path, zones, spec.missing_values == "gap")
    noisy, meta = mechanisms.perturb_counts(
        counts,
        mechanism=ip.mechanism,
        epsilon=privacy.epsilon,
        delta=privacy.delta,
        # the norm of everything one unit changes: one event is every count of its interval
        sensitivity=unit.ip_sensitivity(ip.mechanism),
        seed=noise_seed(params, input_md5),
        round=ip.round,
        clip_at_zero=ip.clip_at_zero,
    )
    noisy = np.asarray(noisy)
    dtype = pl.Int64 if noisy.dtype.kind in "iu" else pl.Float64
    released = series.select(TIMESTAMP).with_columns(
        [pl.Series(z, noisy[:, i], dtype=dtype, nan_to_null=False) for i, z in enumerate(zones)]
    ).with_columns(pl.when(series[z].is_null()).then(None).otherwise(pl.col(z)).alias(z) for z in zones)

    nullable = frozenset(z for z in zones if series[z].null_count())
    report = validate_released(
        released, clip_at_zero=ip.clip_at_zero, rounded=ip.round, reference_timestamps=series[TIMESTAMP],
        zones=zones, nullable=nullable, source=f"release of {series_path}", engine=params.validate.engine,
    )
    if not report.passed:
        raise DataValidationError(report, report.message())

    meta = {
        **meta,
        "seed": ip.seed,  # what params.yaml says; the generator ran on noise_seed (derived from it)
        "noise_seed": None if ip.seed is None else str(noise_seed(params, input_md5)),
        "unit": params.ip_unit(),
        "privacy_unit": unit.to_json(),
        "input_md5": input_md5,
        "data_version": data_version,
        "n_rows": released.height,
        "columns": released.columns,
    }
    with atomic_path(out_path) as tmp:
        released.write_parquet(
            tmp, statistics=False, metadata={PARQUET_METADATA_KEY: json.dumps(meta, sort_keys=True)}
        )
    write_json(metadata_path, meta)
    return meta


def read_release_metadata(path: str | Path) -> dict[str, Any]:
    """The release metadata embedded in a Parquet file written by :func:`perturb`."""
    kv = pl.read_parquet_metadata(path)
    if PARQUET_METADATA_KEY not in kv:
        raise ValueError(f"{path}: no {PARQUET_METADATA_KEY!r} key-value metadata (not a perturb release)")
    return json.loads(kv[PARQUET_METADATA_KEY])
