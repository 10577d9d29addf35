"""dpforecast.tracking.run_owner: a run left RUNNING by a process that certainly ended is closed as KILLED."""

from __future__ import annotations

import logging
import subprocess
import sys

import mlflow
import pytest

from dpforecast.runtime.processes import identity
from dpforecast.tracking.run_owner import CLOSED_TAG, TAG_PREFIX, close_orphaned_runs, owner_tags


@pytest.fixture
def client(file_store) -> mlflow.MlflowClient:
    mlflow.set_tracking_uri(file_store)
    return mlflow.MlflowClient()


def _dead_owner() -> dict[str, str]:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return {TAG_PREFIX + k: v for k, v in {**identity(), "pid": str(child.pid)}.items()}


def test_owner_tags_name_this_process():
    assert owner_tags() == {f"dpforecast.process.{k}": v for k, v in identity().items()}


def test_only_runs_whose_process_ended_are_closed(client):
    exp = client.create_experiment("town")
    dead = client.create_run(exp, tags=_dead_owner()).info.run_id
    alive = client.create_run(exp, tags=owner_tags()).info.run_id
    elsewhere = client.create_run(exp, tags={**_dead_owner(), TAG_PREFIX + "host": "another-host"}).info.run_id
    untagged = client.create_run(exp).info.run_id  # not started by dpforecast: nothing to tell
    assert close_orphaned_runs(client) == [dead]
    closed = client.get_run(dead)
    assert closed.info.status == "KILLED" and closed.info.end_time is not None
    assert "no longer exists" in closed.data.tags[CLOSED_TAG]
    assert [client.get_run(r).info.status for r in (alive, elsewhere, untagged)] == ["RUNNING"] * 3
    assert close_orphaned_runs(client) == []  # closed once


class _Refusing:
    """A tracking server that lets this process read runs but not change them, or not even read them."""

    def __init__(self, read: bool, runs: list) -> None:
        self.read, self.runs = read, runs

    def search_experiments(self):
        if not self.read:
            raise PermissionError("read-only credentials")
        return [mlflow.entities.Experiment("1", "town", "", "active")]

    def search_runs(self, experiments, filter_string):
        return self.runs

    def set_tag(self, run_id, key, value):
        raise PermissionError("cannot write")


def test_a_store_that_refuses_is_logged_never_raised(client, caplog):
    exp = client.create_experiment("town")
    run = client.get_run(client.create_run(exp, tags=_dead_owner()).info.run_id)
    with caplog.at_level(logging.WARNING, logger="dpforecast.tracking.run_owner"):
        assert close_orphaned_runs(_Refusing(False, [])) == []
        assert close_orphaned_runs(_Refusing(True, [run])) == []
    assert "could not look for runs left RUNNING by a killed process: read-only credentials" in caplog.text
    assert f"could not close run {run.info.run_id}" in caplog.text
