"""Who is running an MLflow run, and closing the runs whose process died.

A run whose process is killed (SIGKILL, out of memory, power loss) never reaches
``end_run``: MLflow would show it RUNNING for ever. Every run dpforecast starts records
its host, process id and that process's start time (so a recycled process id is not
mistaken for the original). Whenever a stage next points MLflow at the store
(:func:`dpforecast.tracking.mlflow_tracking.configure`), runs still RUNNING whose process
no longer exists on this host are closed as KILLED, with a tag saying when and why. Runs
started on another host are left alone: nothing here can tell whether their process lives.
"""

from __future__ import annotations

import os
import socket
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

HOST_TAG = "dpforecast.host"
PID_TAG = "dpforecast.pid"
START_TAG = "dpforecast.process_start"
CLOSED_TAG = "dpforecast.closed"


def _process_start(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (``/proc/PID/stat`` field 22),
    or None if there is no such process (or no ``/proc``)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may hold spaces and parentheses: split after its last ")".
    return stat.rsplit(")", 1)[1].split()[19]


def _alive(pid: int, start: str | None) -> bool:
    if Path("/proc/self/stat").exists():
        now = _process_start(pid)
        return now is not None and (start is None or now == start)
    try:  # no /proc: existence only
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def owner_tags() -> dict[str, str]:
    """The tags that let a later process tell whether this run's process still exists."""
    tags = {HOST_TAG: socket.gethostname(), PID_TAG: str(os.getpid())}
    start = _process_start(os.getpid())
    if start is not None:
        tags[START_TAG] = start
    return tags


def close_orphaned_runs(client: Any) -> list[str]:
    """Close as KILLED the RUNNING runs of this store whose process on this host is gone;
    return their ids."""
    host = socket.gethostname()
    experiments = [e.experiment_id for e in client.search_experiments()]
    if not experiments:
        return []
    closed = []
    for run in client.search_runs(experiments, filter_string="attributes.status = 'RUNNING'", max_results=1000):
        tags = run.data.tags
        if tags.get(HOST_TAG) != host or not tags.get(PID_TAG, "").isdigit():
            continue
        pid = int(tags[PID_TAG])
        if _alive(pid, tags.get(START_TAG)):
            continue
        when = datetime.now(timezone.utc).isoformat(timespec="seconds")
        client.set_tag(run.info.run_id, CLOSED_TAG,
                       f"closed as KILLED at {when} by process {os.getpid()}: its process {pid} on {host} "
                       f"no longer exists (killed, out of memory or powered off before the run ended)")
        client.set_terminated(run.info.run_id, status="KILLED", end_time=int(time.time() * 1000))
        closed.append(run.info.run_id)
    return closed
