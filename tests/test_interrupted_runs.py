"""Runs that end badly are not left RUNNING in MLflow.

- A process killed with SIGKILL cannot end its run: the next process that points MLflow at
  the store closes it as KILLED, with a tag saying when and why. Runs of live processes,
  and runs recorded on another host, are left alone.
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

from dpforecast.paths import Paths
from dpforecast.tracking.mlflow_tracking import configure, start_run
from dpforecast.tracking.run_owner import CLOSED_TAG, HOST_TAG

CHILD = textwrap.dedent("""
    import os, signal, sys, time
    from pathlib import Path
    from dpforecast.interrupts import terminate_as_interrupt
    from dpforecast.paths import Paths
    from dpforecast.tracking.mlflow_tracking import configure, start_run
    terminate_as_interrupt()
    configure(Paths(Path(sys.argv[1])), "interrupted")
    with start_run("child") as run:
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


def test_a_run_of_another_host_is_left_alone(tmp_path):
    configure(Paths(tmp_path), "interrupted")
    run = mlflow.start_run(run_name="elsewhere", tags={HOST_TAG: "another-host", "dpforecast.pid": "1"})
    try:
        configure(Paths(tmp_path), "interrupted")
        assert mlflow.MlflowClient().get_run(run.info.run_id).info.status == "RUNNING"
    finally:
        mlflow.end_run()


def test_sigterm_marks_the_run_failed(tmp_path):
    proc, marker = _child(tmp_path, "sleep")
    os.kill(proc.pid, signal.SIGTERM)
    assert proc.wait(timeout=60) != 0
    client = mlflow.MlflowClient(f"sqlite:///{Paths(tmp_path).mlflow_db}")
    assert client.get_run(marker.read_text()).info.status == "FAILED"
