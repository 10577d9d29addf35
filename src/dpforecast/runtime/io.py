"""Atomic, durable file output: a stage's result appears whole or not at all.

Every writer goes through a temporary file in the target's folder, flushed to disk, then
``os.replace`` and a flush of the folder, so an interrupted, killed or powered-off stage
never leaves a truncated output for the next stage, and a ledger entry that was written
is still there after a power loss.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import polars as pl

from dpforecast.runtime.processes import gone, identity


@contextmanager
def atomic_path(target: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; move it into place only on success."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        _fsync(tmp_path)
        os.replace(tmp_path, target)
        _fsync(target.parent)
    finally:
        tmp_path.unlink(missing_ok=True)


def _fsync(path: Path) -> None:
    """Flush a file's (or a folder's entries') data to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_with(target: str | Path, writer: Callable[[Path], Any]) -> Path:
    with atomic_path(target) as tmp:
        writer(tmp)
    return Path(target)


def write_text(target: str | Path, text: str) -> Path:
    return write_with(target, lambda p: p.write_text(text))


def write_json(target: str | Path, obj: Any) -> Path:
    """Strict JSON: a NaN or infinity is refused here rather than written as ``NaN``, which
    other JSON readers reject (write ``None`` where a number is missing)."""
    return write_text(target, json.dumps(obj, indent=2, sort_keys=True, allow_nan=False) + "\n")


def write_parquet(target: str | Path, frame: pl.DataFrame) -> Path:
    return write_with(target, lambda p: frame.write_parquet(p, statistics=False))


def read_json(path: str | Path) -> Any:
    return json.loads(Path(path).read_text())


@contextmanager
def atomic_dir(target: str | Path) -> Iterator[Path]:
    """Yield a fresh temporary folder beside ``target``; swap it in only on success.

    The temporary's name carries its writer's pid and start time, so a later writer removes
    only the temporaries of writers that died (:mod:`dpforecast.runtime.processes`), never one still
    being written. If the swap itself is interrupted, the previous folder is put back."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    for stale in target.parent.glob(f".{target.name}.*.tmp"):
        if _writer_gone(stale.name.removeprefix(f".{target.name}.")):
            shutil.rmtree(stale, ignore_errors=True)
    me = identity()
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.{me['pid']}-{me.get('start', 'x')}-", suffix=".tmp",
                                dir=target.parent))
    old = target.with_name(f".{target.name}.old")
    try:
        yield tmp
        for path in (p for p in tmp.rglob("*") if p.is_file()):
            _fsync(path)
        if old.exists():
            shutil.rmtree(old)
        if target.exists():
            os.replace(target, old)
        try:
            os.replace(tmp, target)
        except BaseException:
            if old.exists() and not target.exists():
                os.replace(old, target)
            raise
        _fsync(target.parent)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _writer_gone(name: str) -> bool:
    """Whether the writer of a temporary named ``<pid>-<start>-<random>.tmp`` has ended."""
    pid, _, rest = name.partition("-")
    start, _, _ = rest.partition("-")
    if not pid.isdigit():
        return True  # not named by a writer of this version: no process to wait for
    return gone({**identity(), "pid": pid, "start": start})
