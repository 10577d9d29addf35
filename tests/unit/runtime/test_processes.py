"""dpforecast.runtime.processes: a process named so that neither a recycled pid, a reboot nor another
container is taken for it, and gone only when that is certain."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from dpforecast.runtime.processes import gone, identity, same_machine, start_time


@pytest.fixture(scope="module")
def dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_this_process_is_named_by_machine_boot_namespace_pid_and_start(dead_pid):
    me = identity()
    assert me["pid"] == str(os.getpid()) and me["start"] == start_time(os.getpid()) and me["start"].isdigit()
    assert {"host", "boot_id", "pid_namespace"} <= set(me)
    assert start_time(dead_pid) is None and "start" not in identity(dead_pid)
    assert same_machine(me) and not same_machine({**me, "host": "elsewhere"})


@pytest.mark.parametrize("change, ended", [
    ({}, True),                                       # this machine, pid gone
    ({"boot_id": "another-boot"}, False),             # another boot: the pid meant another process
    ({"pid_namespace": "pid:[1]"}, False),            # another container on this host
    ({"boot_id": None}, False),                       # recorded without a boot id: cannot tell
    ({"pid": "not-a-pid"}, False),
], ids=["gone", "other-boot", "other-container", "unnamed", "bad-pid"])
def test_a_dead_process_is_gone_only_when_certain(dead_pid, change, ended):
    recorded = {k: v for k, v in {**identity(), "pid": str(dead_pid), **change}.items() if v is not None}
    assert gone(recorded) is ended


def test_a_live_process_is_not_gone_unless_its_pid_was_recycled():
    me = identity()
    assert not gone(me)
    assert gone({**me, "start": "0"})  # the same pid, started at another time: another process
    assert not gone({k: v for k, v in me.items() if k != "start"})  # no start time recorded: cannot tell
