"""SIGTERM ends a stage the way Ctrl-C does.

Python's default SIGTERM action kills the process without unwinding it, so a training
run stopped by a scheduler, ``kill`` or a container runtime would stay RUNNING in MLflow
and skip every cleanup. Raising :class:`KeyboardInterrupt` instead runs the same
``except``/``finally`` blocks as SIGINT: the run is marked FAILED and temporary files go.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"received signal {signal.Signals(signum).name}")


@contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """Within the block, SIGTERM raises KeyboardInterrupt; the previous handler comes back
    after it. Off the main thread (where Python cannot set handlers) it changes nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
