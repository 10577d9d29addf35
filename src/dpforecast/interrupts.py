"""SIGTERM ends a stage the way Ctrl-C does.

Python's default SIGTERM action kills the process without unwinding it, so a training
run stopped by a scheduler, ``kill`` or a container runtime would stay RUNNING in MLflow
and skip every cleanup. Raising :class:`KeyboardInterrupt` instead runs the same
``except``/``finally`` blocks as SIGINT: the run is marked FAILED and temporary files go.
"""

from __future__ import annotations

import signal
from types import FrameType


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"received signal {signal.Signals(signum).name}")


def terminate_as_interrupt() -> None:
    """Install the handler (main thread only, as Python requires for signals)."""
    signal.signal(signal.SIGTERM, _interrupt)
