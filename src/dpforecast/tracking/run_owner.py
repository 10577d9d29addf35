"""Who is running an MLflow run, and closing the runs whose process died.

A run whose process is killed (SIGKILL, out of memory, power loss) never reaches
``end_run``: MLflow would show it RUNNING for ever. Every run dpforecast starts records
the process that runs it (:mod:`dpforecast.runtime.processes`: host, boot, pid namespace, pid,
start time). Whenever a stage next points MLflow at the store
(:func:`dpforecast.tracking.mlflow_tracking.configure`), runs still RUNNING whose process
has certainly ended are closed as KILLED, with a tag saying when and why. Runs of another
machine, boot or container are left alone: nothing here can tell whether their process lives.
"""

from __future__ import annotations

import logging
import os
import time
from datetime import UTC, datetime
from typing import Any

from dpforecast.runtime.processes import gone, identity

TAG_PREFIX = "dpforecast.process."
CLOSED_TAG = "dpforecast.closed"

log = logging.getLogger(__name__)


def owner_tags() -> dict[str, str]:
    """The tags that let a later process tell whether this run's process still exists."""
    return {TAG_PREFIX + k: v for k, v in identity().items()}


def close_orphaned_runs(client: Any) -> list[str]:
    """Close as KILLED the RUNNING runs of this store whose process has ended; return their
    ids. A failure is logged, never raised: cleaning up must not stop the stage."""
    closed: list[str] = []
    try:
        experiments = [e.experiment_id for e in client.search_experiments()]
        runs = client.search_runs(experiments, filter_string="attributes.status = 'RUNNING'") if experiments else []
    except Exception as exc:  # noqa: BLE001 - e.g. read-only credentials on a tracking server
        log.warning("could not look for runs left RUNNING by a killed process: %s", exc)
        return closed
    for run in runs:
        owner = {k.removeprefix(TAG_PREFIX): v for k, v in run.data.tags.items() if k.startswith(TAG_PREFIX)}
        if not gone(owner):
            continue
        when = datetime.now(UTC).isoformat(timespec="seconds")
        try:
            client.set_tag(run.info.run_id, CLOSED_TAG,
                           f"closed as KILLED at {when} by process {os.getpid()}: its process {owner['pid']} on "
                           f"{owner['host']} no longer exists (killed, out of memory or powered off before the run ended)")
            client.set_terminated(run.info.run_id, status="KILLED", end_time=int(time.time() * 1000))
        except Exception as exc:  # noqa: BLE001
            log.warning("could not close run %s left RUNNING by a killed process: %s", run.info.run_id, exc)
            continue
        closed.append(run.info.run_id)
    return closed
