"""The retraining loop, headless, on replayed days of the real series (README, "The demo").

A demo project holds back the last three days. The Dagster daemon runs with the project's
sensor and schedule (cron every two minutes here, so a tick comes during the demo): the
first run trains and crowns champions, each delivered day triggers the sensor, a
corrupted day is refused, then a schedule run retrains on the data as it is. Finally the
first data version is restored with ``dvc checkout`` and the first BiGRU champion is
scored again on it. Prints every run, every champion decision and the reproduced score.

    .venv/bin/python scripts/demo_retraining.py [DEMO_DIR]
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def wait_for_run(instance, done_before: set[str], trigger: str | None, timeout: float = 1800):
    """The first run not in ``done_before`` (with the trigger tag, if given) once it has ended."""
    from dagster import DagsterRunStatus

    ended = {DagsterRunStatus.SUCCESS, DagsterRunStatus.FAILURE, DagsterRunStatus.CANCELED}
    start = time.time()
    while time.time() - start < timeout:
        for run in instance.get_runs():
            if run.run_id in done_before or (trigger and run.tags.get("dpforecast/trigger") != trigger):
                continue
            if run.status in ended:
                return run
        time.sleep(5)
    raise TimeoutError(f"no {trigger or 'new'} run ended within {timeout} s")


@contextmanager
def daemon(env: dict[str, str], module: list[str]) -> Iterator[None]:
    proc = subprocess.Popen([BIN / "dagster-daemon", "run", *module], env=env, cwd=REPO,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        yield
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=120)


def main() -> int:
    demo = Path(sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp(prefix="dpforecast-demo-")) / "project"
    env = {**os.environ, "DPFORECAST_ROOT": str(demo), "DAGSTER_HOME": str(demo / "dagster_home"),
           "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1"), "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    env.pop("MLFLOW_TRACKING_URI", None)
    source_env = {k: v for k, v in env.items() if k != "DPFORECAST_ROOT"}  # replay from this repository
    subprocess.run([BIN / "dpforecast", "replay", "init", str(demo), "--days", "3"], check=True, env=source_env, cwd=REPO)
    (demo / "dagster_home").mkdir()
    shutil.copyfile(REPO / "dagster_home" / "dagster.yaml", demo / "dagster_home" / "dagster.yaml")
    os.environ.update({k: env[k] for k in ("DPFORECAST_ROOT", "DAGSTER_HOME")})

    from dagster import DagsterInstance

    instance = DagsterInstance.get()
    module = ["-m", "dagster_project.definitions"]
    print("initial training (dagster job execute full_pipeline) ...", flush=True)
    subprocess.run([BIN / "dagster", "job", "execute", "-j", "full_pipeline", *module], check=True, env=env,
                   cwd=REPO, stdout=subprocess.DEVNULL)
    seen = {r.run_id for r in instance.get_runs()}
    with daemon(env, module):  # the sensor; the schedule keeps its daily 03:00
        for bad in (False, False, True, False):
            out = subprocess.run([BIN / "dpforecast", "replay", "next", str(demo), *(["--bad"] if bad else [])],
                                 check=True, env=env, capture_output=True, text=True).stdout.strip()
            print(out, flush=True)
            run = wait_for_run(instance, seen, "incoming-data")
            seen.add(run.run_id)
            print(f"  sensor run {run.run_id[:8]}: {run.status.value}", flush=True)
    # The daemon reads the cron when it loads the code: every two minutes, for one tick now.
    params = yaml.safe_load((demo / "params.yaml").read_text())
    params["retraining"] = {"cron": "*/2 * * * *"}
    (demo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    with daemon(env, module):
        print("waiting for a daily_retraining tick (cron */2 for this part of the demo) ...", flush=True)
        run = wait_for_run(instance, seen, "schedule")
        print(f"  schedule run {run.run_id[:8]}: {run.status.value}", flush=True)

    # A tick that came while the schedule run was running waits in the queue: the demo is over.
    from dagster import DagsterRunStatus, RunsFilter

    for run in instance.get_runs(RunsFilter(statuses=[DagsterRunStatus.QUEUED])):
        instance.report_run_canceled(run, message="demo over: the daemon was stopped")
    print("\nruns:")
    for run in reversed(instance.get_runs()):
        print(f"  {run.run_id[:8]}  {run.tags.get('dpforecast/trigger', 'manual'):<14} {run.status.value}")
    print("\nchampion decisions (promotions.jsonl):")
    for line in (demo / "promotions.jsonl").read_text().splitlines():
        d = json.loads(line)
        champ = d["champion"]
        vs = f"vs champion v{champ['version']} {champ['score']:.1f}" if champ else ""
        print(f"  {d['registered_model']:<17} v{d['version']}: {d['metric']} {d['challenger']['score']:.1f} {vs}"
              f" -> {'PROMOTED' if d['promote'] else 'kept'}: {d['reason']}")
    print("\nrejected:", ", ".join(p.name for p in (demo / "data" / "rejected").glob("*.csv")))
    return restore_first_version(demo)


def restore_first_version(demo: Path) -> int:
    """dvc checkout of mobility-bigru v1's data, then v1 scored again on it."""
    import mlflow

    from dpforecast.config import load_params
    from dpforecast.data.versioning import dvc_md5, restore_data
    from dpforecast.registry.scoring import score_version, scoring_targets
    from dpforecast.runtime.paths import Paths
    from dpforecast.stages.features import build_features
    from dpforecast.stages.ingest import ingest
    from dpforecast.stages.validate import validate

    client = mlflow.MlflowClient(f"sqlite:///{demo / 'mlflow.db'}")
    mlflow.set_tracking_uri(f"sqlite:///{demo / 'mlflow.db'}")
    first = client.get_model_version("mobility-bigru", "1")
    before = dvc_md5(demo)
    dvc_file = Path(client.download_artifacts(first.run_id, "lineage/data.dvc", tempfile.mkdtemp()))
    restored = restore_data(demo, dvc_file.read_text())
    params, paths = load_params(demo / "params.yaml"), Paths(demo)
    ingest(demo / params.data_set.raw, paths.raw_table)
    validate(paths.raw_table, paths.series, paths.validation_dir, params)
    build_features(paths, params)
    series, targets = scoring_targets(paths, params.features.horizon)
    score = score_version("models:/mobility-bigru/1", series, targets)["rmse"]["mean"]
    print(f"\ndvc checkout: data {before} -> {restored} (mobility-bigru v1 was trained on {first.tags['data.dvc_md5']})")
    print(f"mobility-bigru v1 rmse on its restored data: {score:.4f}; recorded at registration: "
          f"{float(first.tags['promotion.rmse']):.4f}")
    return 0 if restored == first.tags["data.dvc_md5"] else 1


if __name__ == "__main__":
    sys.exit(main())
