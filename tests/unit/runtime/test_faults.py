"""dpforecast.runtime.faults: a named crash point kills the process only when the tests name it."""

from __future__ import annotations

import signal
import subprocess
import sys

from dpforecast.runtime.faults import ENV, crash_point

CHILD = "from dpforecast.runtime.faults import crash_point\ntry:\n    crash_point('x')\nfinally:\n    print('unwound')"


def test_unset_or_another_name_does_nothing(monkeypatch):
    monkeypatch.delenv(ENV, raising=False)
    crash_point("after-register")
    monkeypatch.setenv(ENV, "before-alias")
    crash_point("after-register")  # still alive


def test_the_named_point_sends_sigkill_and_no_finally_block_runs(monkeypatch):
    for name, expected in (("x", -signal.SIGKILL), ("y", 0)):
        monkeypatch.setenv(ENV, name)
        done = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, timeout=60)
        assert done.returncode == expected
        assert done.stdout == ("" if name == "x" else "unwound\n")
