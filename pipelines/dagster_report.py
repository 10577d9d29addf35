"""After a DVC stage: tell the Dagster instance what it built, as runless materializations.

``dvc repro`` and Dagster's runs build the same files; without this, the Dagster UI shows
every asset "Never materialized" after a ``dvc repro`` although its outputs exist and are
current. Each stage script calls :func:`report` once it succeeded, which hands the work to a
detached process (:mod:`dagster_events`, beside this file): opening the instance and writing
its events takes about 2 s, seven times per ``dvc repro``, and importing Dagster more, none of
which a stage should wait for. The reporters take turns on a lock and write any problem,
one line, to ``<instance>/dvc_reports.log``.

The instance is ``DAGSTER_HOME``'s, else the project's ``dagster_home/`` (what ``dagster
dev`` uses, README). A queued ``dvc exp run`` builds in a temporary copy whose results are
an experiment, not the workspace: it reports nothing. Reporting never fails a stage.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from dpforecast.runtime.project import state_root

LOG = "dvc_reports.log"
EVENTS = Path(__file__).with_name("dagster_events.py")


def instance_home(root: Path) -> Path | None:
    home = Path(os.environ["DAGSTER_HOME"]) if os.environ.get("DAGSTER_HOME") else root / "dagster_home"
    return home if (home / "dagster.yaml").is_file() else None


def report(stage: str, root: Path | None = None) -> subprocess.Popen | None:
    """Report ``stage``'s assets from a detached process (None: nothing to report to)."""
    root = (root or Path(os.environ.get("DPFORECAST_ROOT", "."))).resolve()
    home = instance_home(root)
    if home is None or state_root(root) is not None:
        return None
    with (home / LOG).open("a") as log:
        return subprocess.Popen([sys.executable, str(EVENTS), stage, str(root), str(home)], stdin=subprocess.DEVNULL,
                                stdout=log, stderr=log, start_new_session=True)
