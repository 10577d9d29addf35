"""One input-perturbation release of a series in memory, charged before a count is read.

What :class:`~dpforecast.api.forecast.DPForecast` fits under input perturbation and what
the backtest cuts its folds from (one release, so every fold is post-processing of it).
The noise is drawn from the owner's key, or the operating system's randomness: never from
a seed. The pipeline's ``release`` stage is the continual form of the same release.
"""

from __future__ import annotations

import polars as pl

from dpforecast.config import Params
from dpforecast.data.schema import TIMESTAMP
from dpforecast.privacy.continual_release import extend, release_terms
from dpforecast.privacy.randomness import load_key
from dpforecast.privacy.release_start import start_release
from dpforecast.privacy.report import PrivacyReport
from dpforecast.training.private_plan import release_report

ONE_RELEASE = ("one release of the frame given to fit, noised in memory and charged to the data set's ledger before "
               "any count was read: every fit is a new release, charged again (the pipeline's release is continual)")


def release_once(params: Params, series: pl.DataFrame, how: str = ONE_RELEASE) -> tuple[pl.DataFrame, PrivacyReport]:
    """``series`` (timestamp and every zone of the spec) released once under ``params``'
    input-perturbation terms, charged to the data set's ledger first; its guarantee."""
    spec = params.data_set
    key = load_key()
    info = start_release(params, release_terms(params), "owner key" if key else "operating system", "")
    released, info = extend(series.select(TIMESTAMP, *spec.zone_ids), spec.zone_ids, None, info, key)
    return released, release_report(params, info, how)
