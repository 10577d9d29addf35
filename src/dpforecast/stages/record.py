"""Record in ``dvc.lock`` what a stage run outside ``dvc repro`` wrote (Dagster's assets).

Dagster's assets call the functions the DVC stage scripts call and write the same files in
the same root. Unrecorded, those files look changed to ``dvc status`` and ``dvc repro``
builds them again. :func:`record_stage` runs ``dvc commit --force <stage>``, which hashes
the stage's deps, params and outs as they are now into ``dvc.lock`` (and the outs into the
cache), but only when DVC, reading ``params.yaml``, would have built the same outputs;
otherwise ``dvc.lock`` keeps its entry, so DVC still sees the stage as changed and rebuilds
it. A DVC problem never raises: the outcome is a sentence for the asset's metadata.
"""

from __future__ import annotations

import fcntl
import json
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import yaml

from dpforecast.config import ARCHITECTURES, Params, load_params
from dpforecast.data.versioning import is_dvc_repo, run_dvc
from dpforecast.runtime.paths import Paths

RECORDED = "recorded in dvc.lock"
# Ours, beside DVC's own lock: parallel step processes (production profile) commit in turn.
LOCK_FILE = Path(".dvc") / "tmp" / "dpforecast-record.lock"
DVC_BUSY = "Unable to acquire lock"  # DVC's message when another dvc command holds the repo
WAIT_SECONDS = 120.0
COMMIT_TIMEOUT = 600.0
# Stages whose outputs cover the architectures ``train.model`` selects; Dagster builds all four.
MODEL_STAGES = ("train", "evaluate", "register")


def dvc_stages(root: Path) -> set[str]:
    """The stage names in ``root/dvc.yaml`` (none when there is no such file)."""
    path = root / "dvc.yaml"
    if not path.is_file():
        return set()
    return set((yaml.safe_load(path.read_text()) or {}).get("stages") or {})


def models_differ(paths: Paths, params: Params) -> str | None:
    """Why ``models/`` is not what DVC's train stage would build now (None when it is): the
    four architectures, nothing else, each trained from the current feature table and
    parameters by this checkout's code."""
    from dpforecast.lineage import code_digest, file_md5
    from dpforecast.models.store import DESCRIPTION
    from dpforecast.privacy.published_lineage import WITHHELD, data_digest
    from dpforecast.privacy.randomness import load_key
    from dpforecast.runtime.io import read_json
    from dpforecast.tracking.model_folder import flat_params

    folder = paths.model_dir(ARCHITECTURES[0]).parent
    others = sorted(p.name for p in folder.iterdir() if p.name not in ARCHITECTURES) if folder.is_dir() else []
    if others:
        return (f"models/ also holds {', '.join(others)} (a model being written, or a leftover); "
                "DVC's train stage writes the four folders only")
    private = params.privacy.mode != "none"
    features = (data_digest(file_md5(paths.feature_table), private, load_key() if private else None)
                if paths.feature_table.is_file() else None)
    code = code_digest()
    for arch in ARCHITECTURES:
        path = paths.model_dir(arch) / DESCRIPTION
        if not path.is_file():
            return f"models/{arch} is not trained yet"
        description = read_json(path)
        if description.get("features_md5") == WITHHELD:
            return (f"models/{arch} is private and was trained without an owner key: which feature table it was "
                    f"trained from is withheld, so it cannot be shown to be current")
        if description.get("features_md5") != features:
            return f"models/{arch} was not trained from the current feature table"
        if description.get("code_md5") != code:
            return f"models/{arch} was trained by other code than this checkout's"
        if description.get("params") != json.loads(json.dumps(flat_params(params, arch))):
            return f"models/{arch} was trained with other parameters than params.yaml's"
    return None


def stage_differs(root: Path, stage: str) -> str | None:
    """Why DVC's ``stage`` would build something else than the asset did (None: the same)."""
    if stage not in MODEL_STAGES:
        return None
    paths, params = Paths(root), load_params(root / "params.yaml")
    if params.train.model != "all":
        what = "models/ folder" if stage == "train" else "output"
        return (f"params.yaml selects train.model={params.train.model}; DVC's {stage} stage would build "
                f"a different {what} ({params.train.model} only), Dagster builds all four")
    return models_differ(paths, params) if stage == "train" else None


@contextmanager
def _record_lock(root: Path, wait: float) -> Iterator[bool]:
    """Our lock file under ``.dvc/tmp/``; yields whether it was taken within ``wait`` seconds."""
    path = root / LOCK_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as fh:
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    yield False
                    return
                time.sleep(0.5)
        try:
            yield True
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _commit(root: Path, stage: str, deadline: float) -> str:
    """``dvc commit --force stage``, again while another dvc command holds the repo lock."""
    while True:
        try:
            run_dvc(root, "commit", "--force", stage, timeout=COMMIT_TIMEOUT)
            return RECORDED
        except subprocess.TimeoutExpired:
            return f"not recorded: dvc commit {stage} ran over {COMMIT_TIMEOUT:.0f} s"
        except (RuntimeError, OSError) as exc:
            text = str(exc)
            if DVC_BUSY not in text:
                lines = text.strip().splitlines() or [type(exc).__name__]
                return "not recorded: " + next((ln for ln in lines if ln.startswith("ERROR")), lines[-1])
            if time.monotonic() >= deadline:
                return f"not recorded: dvc busy: another dvc command held the repository lock; `dvc commit --force {stage}` records it"
            time.sleep(2.0)


def record_stage(root: Path, stage: str, params_file: Path | None = None, wait: float = WAIT_SECONDS) -> str:
    """Record DVC stage ``stage`` of ``root`` as built by what is on disk now; say what happened.

    ``params_file`` is the parameter file the caller read (DVC's stages read
    ``root/params.yaml``). Returns :data:`RECORDED`, or ``"not recorded: <why>"``.
    """
    root = Path(root).resolve()
    try:
        if not is_dvc_repo(root):
            return f"not recorded: {root} is not a DVC repository"
        if stage not in dvc_stages(root):
            return f"not recorded: dvc.yaml has no stage {stage!r}"
        if params_file is not None and Path(params_file).resolve() != root / "params.yaml":
            return f"not recorded: the parameters came from {params_file}; DVC's stages read params.yaml"
        deadline = time.monotonic() + wait
        with _record_lock(root, wait) as locked:
            if not locked:
                return f"not recorded: dvc busy: another process held {LOCK_FILE} for {wait:.0f} s"
            reason = stage_differs(root, stage)  # under the lock: the last model asset decides
            if reason:
                return f"not recorded: {reason}"
            return _commit(root, stage, deadline)
    except Exception as exc:  # noqa: BLE001 - recording must never fail the asset
        return f"not recorded: {type(exc).__name__}: {exc}"
