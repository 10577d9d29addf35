"""Stage ``release``: in ``ip`` mode, the noisy copy of the series the models train on.

The release is charged to the data set's privacy ledger before the mechanism reads the
data (a release killed after that keeps its charge); the same release (same data, mechanism, epsilon, delta and seed) is charged once, since
regenerating it discloses nothing new. In other modes the stage records that no release
was made, so the features stage reads the validated series.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import asdict
from pathlib import Path
from typing import Any

from dpforecast.config import Params
from dpforecast.faults import crash_point
from dpforecast.io import atomic_dir, write_json
from dpforecast.paths import Paths
from dpforecast.privacy.checks import check_privacy
from dpforecast.privacy.ledger import PrivacyLedger
from dpforecast.stages.perturb import perturb
from dpforecast.tracking.lineage import file_md5


def release_key(data_md5: str, params: Params) -> str:
    """The ledger key of a release: equal for a regeneration of the same noise. Without a
    seed every release draws new noise, which composes with the earlier ones, so its key is
    unique and it is charged every time."""
    spec = {"data": data_md5, "epsilon": params.privacy.epsilon, "delta": params.privacy.delta,
            "unit": params.privacy.unit, "w": params.privacy.w, **asdict(params.privacy.ip)}
    if params.privacy.ip.seed is None:
        spec["nonce"] = secrets.token_hex(16)
    return "ip:" + hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:16]


def release(paths: Paths, params: Params, data_version: str = "") -> dict[str, Any]:
    """Write ``artifacts/release/`` as one folder (series and metadata swapped in together,
    so a release killed half-way is no release)."""
    if params.privacy.mode != "ip":
        meta = {"private": False, "mode": params.privacy.mode, "note": "no input perturbation: models read the validated series"}
        with atomic_dir(paths.release_dir) as tmp:
            write_json(tmp / paths.release_metadata.name, meta)
        return meta
    check_privacy(params.privacy)
    ip = params.privacy.ip
    data_md5 = file_md5(paths.series)
    key = release_key(data_md5, params)
    PrivacyLedger(paths.ledger, params.privacy.budget_epsilon).charge(
        key, params.privacy.epsilon, params.privacy.delta if ip.mechanism != "laplace" else 0.0,
        params.privacy_unit().ledger_unit(params.dataset, "ip"), "ip", f"{ip.mechanism} release of the series",
        data_version or data_md5)
    crash_point("release:charged")
    with atomic_dir(paths.release_dir) as tmp:
        meta = perturb(paths.series, tmp / paths.release_series.name, tmp / paths.release_metadata.name, params,
                       data_version=data_version)
        crash_point("release:written")
    return meta


def training_series(paths: Paths, params: Params) -> Path:
    """The series models train on: the release in ``ip`` mode, else the validated series."""
    return paths.release_series if params.privacy.mode == "ip" else paths.series
