"""Whether a process recorded earlier still runs: for runs and temporaries a kill left behind.

A process is named by its host, the kernel's boot id, its pid namespace, its pid and its
start time (clock ticks since boot), so neither a recycled pid, nor a reboot, nor another
container that shares the host name is mistaken for it.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path


def start_time(pid: int) -> str | None:
    """``/proc/PID/stat`` field 22, or None if that process is gone (or there is no ``/proc``)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may hold spaces and parentheses: split after its last ")".
    return stat.rsplit(")", 1)[1].split()[19]


def _read(path: str) -> str | None:
    try:
        return Path(path).read_text().strip()
    except OSError:
        return None


def _pid_namespace() -> str | None:
    try:
        return os.readlink("/proc/self/ns/pid")
    except OSError:
        return None


def identity(pid: int | None = None) -> dict[str, str]:
    """This machine's and this process's (or ``pid``'s) names, as far as the system tells them."""
    pid = os.getpid() if pid is None else pid
    found = {"host": socket.gethostname(), "pid": str(pid), "boot_id": _read("/proc/sys/kernel/random/boot_id"),
             "pid_namespace": _pid_namespace(), "start": start_time(pid)}
    return {k: v for k, v in found.items() if v is not None}


def same_machine(recorded: dict[str, str]) -> bool:
    """Whether ``recorded`` names a process of this machine, boot and pid namespace, so
    that its pid can be looked up here."""
    here = identity()
    return all(recorded.get(k) == here[k] for k in ("host", "boot_id", "pid_namespace") if k in here)


def gone(recorded: dict[str, str]) -> bool:
    """Whether the process ``recorded`` (see :func:`identity`) has certainly ended.

    Only for a process of this machine, boot and pid namespace; any doubt answers False."""
    if not same_machine(recorded) or not recorded.get("pid", "").isdigit():
        return False
    if recorded.get("boot_id") is None or recorded.get("pid_namespace") is None:
        return False  # recorded without those names: cannot tell another container apart
    pid = int(recorded["pid"])
    start = start_time(pid)
    if start is not None:
        return recorded.get("start") is not None and start != recorded["start"]
    try:  # no /proc entry: gone, unless /proc hides other users' processes
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False
