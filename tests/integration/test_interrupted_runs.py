"""Runs that end badly are not left RUNNING in MLflow.

- A process killed with SIGKILL cannot end its run: the next process that points MLflow at
  the store closes it as KILLED, with a tag saying when and why. Runs of live processes,
  and runs recorded on another host, boot or container, are left alone; a pid recycled by
  another process is recognised by its start time.
- SIGTERM ends a stage as Ctrl-C does: the run is marked FAILED by the stage itself.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import mlflow
import pytest

from dpforecast.runtime.paths import Paths
from dpforecast.runtime.processes import identity
from dpforecast.tracking.mlflow_tracking import configure, start_run
from dpforecast.tracking.run_owner import CLOSED_TAG, TAG_PREFIX

CHILD = textwrap.dedent("""
    import os, signal, sys, time
    from pathlib import Path
    from dpforecast.runtime.interrupts import sigterm_as_interrupt
    from dpforecast.runtime.paths import Paths
    from dpforecast.tracking.mlflow_tracking import configure, start_run
    configure(Paths(Path(sys.argv[1])), "interrupted")
    with sigterm_as_interrupt(), start_run("child") as run:
        Path(sys.argv[2]).write_text(run.info.run_id)
        if sys.argv[3] == "kill":
            os.kill(os.getpid(), signal.SIGKILL)
        time.sleep(60)
""")


@pytest.fixture(autouse=True)
def _no_user_store(monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)


def _child(root: Path, how: str) -> tuple[subprocess.Popen, Path]:
    marker = root / f"run-{how}"
    proc = subprocess.Popen([sys.executable, "-c", CHILD, str(root), str(marker), how])
    deadline = time.monotonic() + 60
    while not marker.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)
    assert marker.exists(), "the child process never started its run"
    return proc, marker


def test_a_killed_process_run_is_closed_as_killed_on_the_next_start(tmp_path):
    proc, marker = _child(tmp_path, "kill")
    assert proc.wait(timeout=60) == -signal.SIGKILL
    run_id = marker.read_text()
    client = mlflow.MlflowClient(f"sqlite:///{Paths(tmp_path).mlflow_db}")
    assert client.get_run(run_id).info.status == "RUNNING"  # what MLflow alone would show for ever

    configure(Paths(tmp_path), "interrupted")
    with start_run("alive") as alive:  # this process lives: its run stays open
        configure(Paths(tmp_path), "interrupted")
        assert client.get_run(alive.info.run_id).info.status == "RUNNING"
    closed = client.get_run(run_id)
    assert closed.info.status == "KILLED" and closed.info.end_time is not None
    assert "no longer exists" in closed.data.tags[CLOSED_TAG]


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


@pytest.mark.parametrize("change, closed", [
    ({}, True),                                   # this machine, pid gone
    ({"start": "0"}, True),                       # a live pid recycled by another process
    ({"host": "another-host"}, False),            # another machine: cannot tell
    ({"boot_id": "another-boot"}, False),         # before a reboot the pids meant other processes
    ({"pid_namespace": "pid:[1]"}, False),        # another container on this host
    ({"boot_id": None}, False),                   # recorded without a boot id: cannot tell
], ids=["gone", "recycled-pid", "other-host", "other-boot", "other-container", "unnamed"])
def test_only_runs_whose_process_certainly_ended_are_closed(tmp_path, change, closed):
    exp = configure(Paths(tmp_path), "interrupted")
    client = mlflow.MlflowClient()
    owner = {**identity(), "pid": str(_dead_pid() if "start" not in change else os.getpid()), **change}
    tags = {TAG_PREFIX + k: v for k, v in owner.items() if v is not None}
    run = client.create_run(exp, tags=tags)
    configure(Paths(tmp_path), "interrupted")
    assert client.get_run(run.info.run_id).info.status == ("KILLED" if closed else "RUNNING")


def test_sigterm_marks_the_run_failed(tmp_path):
    proc, marker = _child(tmp_path, "sleep")
    os.kill(proc.pid, signal.SIGTERM)
    assert proc.wait(timeout=60) != 0
    client = mlflow.MlflowClient(f"sqlite:///{Paths(tmp_path).mlflow_db}")
    assert client.get_run(marker.read_text()).info.status == "FAILED"
