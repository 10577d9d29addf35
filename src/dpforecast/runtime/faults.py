"""Named crash points: where the reliability tests kill the pipeline, and how.

A crash that a test has to wait for by timing is flaky, and the narrow windows that matter
(between registering a version and moving its alias) cannot be hit that way. Each such
point calls :func:`crash_point`; when ``DPFORECAST_CRASH_AT`` names it, the process sends
itself ``SIGKILL``: no ``finally`` block, no ``atexit`` handler and no signal handler runs,
as after a power loss. Unset (always, outside the tests), a crash point does nothing.
"""

from __future__ import annotations

import os
import signal

ENV = "DPFORECAST_CRASH_AT"


def crash_point(name: str) -> None:
    """Kill this process now if ``DPFORECAST_CRASH_AT`` is ``name``."""
    if os.environ.get(ENV) == name:
        os.kill(os.getpid(), signal.SIGKILL)
