"""The production profile (``infra/``): its files agree, and it runs for real on local services.

Default suite (no service needed):
- ``infra/dagster.yaml``, ``infra/celery.yaml`` and ``infra/docker-compose.yml`` name the same
  variables and files, and the compose services the profile needs are there.
- The queued run coordinator of ``infra/dagster.yaml`` loads into a ``DagsterInstance``.
- The embedded default needs none of it: ``full_pipeline`` runs in-process, resources name no
  server; the production jobs select the same assets with their own executors.

Slow job (PostgreSQL, RabbitMQ and Redis on 127.0.0.1; skipped with the reason when one is not
reachable). One set of services for the module, as an operator would start them: fresh
PostgreSQL databases for Dagster and MLflow, ``infra/dagster.yaml`` as it is in a temporary
DAGSTER_HOME, ``mlflow server`` on PostgreSQL, a ``dagster-celery`` worker on its own RabbitMQ
virtual host, ``dagster-daemon`` and ``dagster-webserver`` on ``infra/workspace.yaml``. Runs are
submitted through the webserver's GraphQL API (what the UI's launchpad does), so they go
through the queue, the daemon and the run launcher.
- ``full_pipeline_celery`` on a tiny configuration succeeds with the four training steps
  running at the same time in four worker processes, one MLflow run per model in the
  PostgreSQL backend, and no run left queued or in progress.
- A ``full_pipeline_parallel`` run (multiprocess executor) and a ``full_pipeline_celery`` run
  submitted together run one after the other: the tag limit of ``infra/dagster.yaml`` spans
  both jobs, while ``max_concurrent_runs`` would allow both runs.
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
import yaml
from dagster_graphql import DagsterGraphQLClient

from dagster_project.definitions import defs
from dagster_project.defs.production import PIPELINE_TAGS
from dagster_project.defs.resources import MlflowResource
from dpforecast.config import ARCHITECTURES

from project_roots import REPO, TINY, make_root

INFRA = REPO / "infra"
BIN = Path(sys.executable).parent
MODELS = [f"model_{arch}" for arch in ARCHITECTURES]

# Local services; libpq's variables choose another PostgreSQL.
PG = {
    "host": os.environ.get("PGHOST", "127.0.0.1"),
    "port": int(os.environ.get("PGPORT", "5432")),
    "user": os.environ.get("PGUSER", "postgres"),
    "password": os.environ.get("PGPASSWORD", ""),
}
RABBITMQ = ("127.0.0.1", 5672)
REDIS = ("127.0.0.1", 6379)

FINISHED = {dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED}


def env_names(node: Any) -> set[str]:
    """Every variable a Dagster config file reads through ``{env: NAME}``."""
    if isinstance(node, dict):
        if set(node) == {"env"}:
            return {node["env"]}
        return set().union(*(env_names(v) for v in node.values()))
    if isinstance(node, list):
        return set().union(*(env_names(v) for v in node))
    return set()


def load(name: str) -> dict[str, Any]:
    return yaml.safe_load((INFRA / name).read_text())


# --- default suite -------------------------------------------------------------------------


def test_dagster_yaml_celery_yaml_and_compose_agree():
    instance, celery, compose = load("dagster.yaml"), load("celery.yaml"), load("docker-compose.yml")
    services = compose["services"]
    assert {"postgres", "rabbitmq", "redis", "mlflow", "dagster-webserver", "dagster-daemon", "celery-worker"} <= set(services)

    # Every process that opens the instance or reaches the broker gets every variable they read,
    # and the project root and MLflow server the assets use.
    needed = env_names(instance) | env_names(celery) | {"DAGSTER_HOME", "MLFLOW_TRACKING_URI", "DPFORECAST_ROOT"}
    assert env_names(celery) == {"DAGSTER_CELERY_BROKER_URL", "DAGSTER_CELERY_BACKEND_URL"}
    for name in ("dagster-webserver", "dagster-daemon", "celery-worker", "celery-worker-gpu"):
        service = services[name]
        assert needed <= set(service["environment"]), name
        assert service["environment"]["DPFORECAST_ROOT"] in {v.rsplit(":", 1)[1] for v in service["volumes"]}, name
        command = " ".join(service["command"])
        for path in ("infra/workspace.yaml", "infra/celery.yaml"):
            if path in command:
                assert (REPO / path).is_file()
        assert {"postgres", "rabbitmq", "redis", "mlflow"} <= set(service["depends_on"]), name
    assert "infra/celery.yaml" in " ".join(services["celery-worker"]["command"])
    assert services["dagster-daemon"]["environment"]["DAGSTER_HOME"] == "/opt/dagster/home"
    dockerfile = (INFRA / "Dockerfile").read_text()
    assert "DAGSTER_HOME=/opt/dagster/home" in dockerfile and "infra/dagster.yaml" in dockerfile

    # Dagster and MLflow on the compose file's PostgreSQL, through the driver that is installed.
    storage = instance["storage"]["postgres"]["postgres_db"]
    assert storage["scheme"] == "postgresql+psycopg2"
    mlflow = " ".join(services["mlflow"]["command"])
    assert "--backend-store-uri postgresql+psycopg2://" in mlflow and "@postgres:5432/mlflow" in mlflow
    assert "--artifacts-destination" in mlflow
    assert "CREATE DATABASE mlflow" in (INFRA / "postgres-init.sql").read_text()
    assert services["dagster-daemon"]["environment"]["MLFLOW_TRACKING_URI"] == "http://mlflow:5000"
    gpu = services["celery-worker-gpu"]["deploy"]["resources"]["reservations"]["devices"][0]
    assert gpu["driver"] == "nvidia" and "gpu" in gpu["capabilities"]


def test_queued_run_coordinator_of_dagster_yaml_loads(tmp_path):
    """The shipped coordinator, launcher and monitoring sections, with SQLite standing in for
    the one section that needs a server (the slow tests run the file as it is)."""
    config = load("dagster.yaml")
    config["storage"] = {"sqlite": {"base_dir": str(tmp_path / "storage")}}
    (tmp_path / "dagster.yaml").write_text(yaml.safe_dump(config))
    with dg.DagsterInstance.from_config(str(tmp_path)) as instance:
        assert isinstance(instance.run_coordinator, dg.QueuedRunCoordinator)
        queue = instance.get_concurrency_config().run_queue_config
        [limit] = queue.tag_concurrency_limits
        assert limit["key"] in PIPELINE_TAGS and limit["limit"] == 1
        assert queue.max_concurrent_runs > limit["limit"]  # the tag, not the total, serializes pipelines
        assert type(instance.run_launcher).__name__ == "DefaultRunLauncher"
        assert instance.run_monitoring_enabled


def test_embedded_default_needs_no_service():
    full = defs.resolve_job_def("full_pipeline")
    assert full.executor_def is dg.in_process_executor
    assert MlflowResource().tracking_uri is None  # MLFLOW_TRACKING_URI or the root's sqlite store

    selected = {k.to_user_string() for k in full.asset_layer.selected_asset_keys}
    for name, executor in (("full_pipeline_parallel", "multiprocess"), ("full_pipeline_celery", "celery")):
        job = defs.resolve_job_def(name)
        assert job.executor_def.name == executor
        assert {k.to_user_string() for k in job.asset_layer.selected_asset_keys} == selected
        assert job.tags == PIPELINE_TAGS


# --- slow job: the profile on local services -----------------------------------------------


def reachable(address: tuple[str, int]) -> bool:
    try:
        with socket.create_connection(address, timeout=2):
            return True
    except OSError:
        return False


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pg_admin(*statements: str) -> None:
    import psycopg2

    conn = psycopg2.connect(dbname="postgres", **PG)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            for statement in statements:
                cur.execute(statement)
    finally:
        conn.close()


def pg_query(db: str, sql: str) -> list[tuple]:
    import psycopg2

    conn = psycopg2.connect(dbname=db, **PG)
    try:
        with conn.cursor() as cur:
            cur.execute(sql)
            return cur.fetchall()
    finally:
        conn.close()


def rabbitmqctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", *args], check=True, capture_output=True, timeout=60)


@dataclass
class Service:
    """A process group started by the fixture, its output in a log file."""

    name: str
    proc: subprocess.Popen
    log: Path

    def tail(self, chars: int = 4000) -> str:
        return self.log.read_text(errors="replace")[-chars:]

    def check_alive(self) -> None:
        assert self.proc.poll() is None, f"{self.name} exited ({self.proc.returncode}):\n{self.tail()}"


def start(name: str, args: list[str], env: dict[str, str], logs: Path) -> Service:
    log = logs / f"{name}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(args, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    return Service(name, proc, log)


def stop(services: list[Service]) -> None:
    """SIGTERM to each group (Celery finishes its tasks, the daemon its code server), then SIGKILL."""
    for service in services:
        if service.proc.poll() is None:
            os.killpg(service.proc.pid, signal.SIGTERM)
    deadline = time.monotonic() + 30
    for service in services:
        try:
            service.proc.wait(timeout=max(1.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            pass
        try:
            os.killpg(service.proc.pid, signal.SIGKILL)  # what is left of the group
        except ProcessLookupError:
            pass
        service.proc.wait(timeout=10)


def wait_for(what: str, ready, timeout: float, services: list[Service]) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ready():
            return
        for service in services:
            service.check_alive()
        time.sleep(1)
    raise AssertionError(f"{what}: not ready after {timeout:.0f} s\n" + "\n".join(f"--- {s.name}\n{s.tail()}" for s in services))


def http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status == 200
    except OSError:
        return False


def graphql(port: int, query: str) -> dict[str, Any]:
    request = urllib.request.Request(f"http://127.0.0.1:{port}/graphql", data=json.dumps({"query": query}).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)["data"]


LOCATION_STATUS = """{ workspaceOrError { ... on Workspace { locationEntries {
    loadStatus locationOrLoadError { __typename ... on PythonError { message } } } } } }"""


def location_loaded(port: int) -> bool:
    """The webserver has loaded every code location of the workspace (fails on a load error)."""
    entries = graphql(port, LOCATION_STATUS)["workspaceOrError"].get("locationEntries", [])
    errors = [e["locationOrLoadError"]["message"] for e in entries if (e["locationOrLoadError"] or {}).get("__typename") == "PythonError"]
    assert not errors, errors
    return bool(entries) and all(e["loadStatus"] == "LOADED" for e in entries)


@dataclass
class Profile:
    """The running profile: its instance, the webserver's GraphQL client, MLflow's database and artifacts."""

    instance: dg.DagsterInstance
    client: DagsterGraphQLClient
    root: Path
    mlflow_db: str
    artifacts: Path
    worker: str
    services: list[Service]

    def run_ids(self) -> set[str]:
        return {r.run_id for r in self.instance.get_runs()}

    def wait_finished(self, run_ids: list[str], timeout: float) -> list[dg.DagsterRun]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            runs = [self.instance.get_run_by_id(run_id) for run_id in run_ids]
            if all(run is not None and run.status in FINISHED for run in runs):
                return runs
            for service in self.services:
                service.check_alive()
            time.sleep(2)
        states = {run_id: getattr(self.instance.get_run_by_id(run_id), "status", None) for run_id in run_ids}
        raise AssertionError(f"runs not finished after {timeout:.0f} s: {states}\n"
                             + "\n".join(f"--- {s.name}\n{s.tail()}" for s in self.services))


@pytest.fixture(scope="module")
def profile(tmp_path_factory) -> Iterator[Profile]:
    for what, address in (("PostgreSQL", (PG["host"], PG["port"])), ("RabbitMQ", RABBITMQ), ("Redis", REDIS)):
        if not reachable(address):
            pytest.skip(f"{what} not reachable at {address[0]}:{address[1]} (the production profile test needs it)")
    if shutil.which("rabbitmqctl") is None:
        pytest.skip("rabbitmqctl not found: the test gives its Celery queue a RabbitMQ virtual host of its own")
    tmp = tmp_path_factory.mktemp("production")
    tag = f"dpf_test_{uuid.uuid4().hex[:10]}"
    dagster_db, mlflow_db, vhost = f"{tag}_dagster", f"{tag}_mlflow", tag
    home, logs, artifacts = tmp / "dagster_home", tmp / "logs", tmp / "mlartifacts"
    for folder in (home, logs, artifacts):
        folder.mkdir()
    shutil.copyfile(INFRA / "dagster.yaml", home / "dagster.yaml")  # as shipped: all set through the environment
    root = make_root(tmp / "project", TINY)
    mlflow_port, web_port = free_port(), free_port()
    mlflow_uri = f"http://127.0.0.1:{mlflow_port}"
    pg_url = f"postgresql+psycopg2://{PG['user']}:{PG['password']}@{PG['host']}:{PG['port']}"
    worker = f"{tag}@{socket.gethostname()}"

    variables = {
        "DAGSTER_HOME": str(home),
        "DAGSTER_POSTGRES_HOSTNAME": PG["host"],
        "DAGSTER_POSTGRES_PORT": str(PG["port"]),
        "DAGSTER_POSTGRES_USER": PG["user"],
        "DAGSTER_POSTGRES_PASSWORD": PG["password"],
        "DAGSTER_POSTGRES_DB": dagster_db,
        "DAGSTER_CELERY_BROKER_URL": f"amqp://guest:guest@{RABBITMQ[0]}:{RABBITMQ[1]}/{vhost}",
        "DAGSTER_CELERY_BACKEND_URL": f"redis://{REDIS[0]}:{REDIS[1]}/0",
        "MLFLOW_TRACKING_URI": mlflow_uri,
        "DPFORECAST_ROOT": str(root),
        # the services' own ledger: this module-scoped profile starts before the per-test isolation
        "DPFORECAST_HOME": str(tmp_path_factory.mktemp("dpforecast-home")),
        "OMP_NUM_THREADS": "1",
    }
    env = {**os.environ, **variables, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}

    with ExitStack() as cleanup:  # undone in reverse: processes, instance, environment, vhost, databases
        pg_admin(f'CREATE DATABASE "{dagster_db}"', f'CREATE DATABASE "{mlflow_db}"')
        cleanup.callback(pg_admin, f'DROP DATABASE IF EXISTS "{dagster_db}" WITH (FORCE)',
                         f'DROP DATABASE IF EXISTS "{mlflow_db}" WITH (FORCE)')
        rabbitmqctl("add_vhost", vhost)
        cleanup.callback(rabbitmqctl, "delete_vhost", vhost)
        rabbitmqctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
        monkeypatch = pytest.MonkeyPatch()
        cleanup.callback(monkeypatch.undo)
        for name, value in variables.items():
            monkeypatch.setenv(name, value)
        # Opening the instance creates Dagster's tables, before the daemon and webserver start.
        instance = dg.DagsterInstance.get()
        cleanup.callback(instance.dispose)
        services: list[Service] = []
        cleanup.callback(stop, services)

        services.append(start("mlflow", [
            str(BIN / "mlflow"), "server",
            "--backend-store-uri", f"{pg_url}/{mlflow_db}",
            "--artifacts-destination", str(artifacts),
            "--host", "127.0.0.1", "--port", str(mlflow_port), "--workers", "2",
        ], {**env, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}, logs))
        services.append(start("celery-worker", [
            str(BIN / "dagster-celery"), "worker", "start", "-A", "dagster_celery.app",
            "-y", str(INFRA / "celery.yaml"), "-n", tag, "-i", "dagster_project.definitions",
            "--", "-c", str(len(MODELS)),
        ], env, logs))
        services.append(start("dagster-daemon", [str(BIN / "dagster-daemon"), "run", "-w", str(INFRA / "workspace.yaml")], env, logs))
        services.append(start("dagster-webserver", [
            str(BIN / "dagster-webserver"), "-h", "127.0.0.1", "-p", str(web_port), "-w", str(INFRA / "workspace.yaml"),
        ], env, logs))

        wait_for("MLflow server", lambda: http_ok(f"{mlflow_uri}/health"), 180, services)
        wait_for("Celery worker", lambda: f"{worker} ready." in services[1].log.read_text(errors="replace"), 180, services)
        wait_for("webserver", lambda: http_ok(f"http://127.0.0.1:{web_port}/server_info"), 180, services)
        wait_for("code location in the webserver", lambda: location_loaded(web_port), 180, services)
        client = DagsterGraphQLClient("127.0.0.1", port_number=web_port)
        yield Profile(instance, client, root, mlflow_db, artifacts, worker, services)


def step_events(instance: dg.DagsterInstance, run_id: str) -> list[dg.EventLogEntry]:
    return [r.event_log_entry for r in instance.get_records_for_run(run_id).records if r.event_log_entry.dagster_event]


@pytest.mark.slow
def test_full_pipeline_celery_trains_the_four_models_in_parallel(profile: Profile):
    started, before = time.monotonic(), profile.run_ids()
    run_id = profile.client.submit_job_execution("full_pipeline_celery")
    [run] = profile.wait_finished([run_id], timeout=400)
    events = step_events(profile.instance, run_id)
    failures = [e.dagster_event.step_failure_data.error.to_string()[-3000:] for e in events
                if e.dagster_event.event_type == dg.DagsterEventType.STEP_FAILURE]
    assert run.status == dg.DagsterRunStatus.SUCCESS, failures or [s.tail() for s in profile.services]
    print(f"full_pipeline_celery: {time.monotonic() - started:.0f} s from submission to success")

    # Every asset materialized once, every step executed by our Celery worker.
    materialized = [e.dagster_event.asset_key.to_user_string() for e in events
                    if e.dagster_event.event_type == dg.DagsterEventType.ASSET_MATERIALIZATION]
    selected = defs.resolve_job_def("full_pipeline_celery").asset_layer.selected_asset_keys
    assert sorted(materialized) == sorted(k.to_user_string() for k in selected)
    start = {e.step_key: (e.timestamp, e.dagster_event.pid) for e in events if e.dagster_event.event_type == dg.DagsterEventType.STEP_START}
    in_worker = {e.step_key: e.dagster_event.engine_event_data.metadata["Celery worker"].value for e in events
                 if e.dagster_event.event_type == dg.DagsterEventType.ENGINE_EVENT
                 and "in celery worker" in (e.dagster_event.message or "")}
    assert set(in_worker) == set(start) and set(in_worker.values()) == {profile.worker}

    # The four training steps ran in parallel, in several worker processes. How many overlap at
    # once depends on how fast the runner starts a worker process (on 2 CPU cores one step
    # started 0.4 s after another had finished), so the check is that the executor ran them
    # side by side at all, not that all four overlapped.
    end = {e.step_key: e.timestamp for e in events if e.dagster_event.event_type == dg.DagsterEventType.STEP_SUCCESS}
    print("training steps (s after the first start): " + ", ".join(
        f"{m} {start[m][0] - min(start[k][0] for k in MODELS):.1f}-{end[m] - min(start[k][0] for k in MODELS):.1f}" for m in MODELS))
    together = max(sum(start[m][0] <= start[k][0] < end[m] for m in MODELS) for k in MODELS)
    assert together >= 2, "no two training steps ran at the same time: the executor ran them one by one"
    # several worker processes (a pool process free again may take the next step: not always four)
    assert len({start[m][1] for m in MODELS}) >= 2
    assert start["evaluation"][0] > max(end[m] for m in MODELS)

    # One finished MLflow run per model in the PostgreSQL backend, the one each asset reports,
    # with its logged model in the server's artifact destination.
    rows = pg_query(profile.mlflow_db, "SELECT t.value, r.run_uuid, r.status FROM runs r "
                    "JOIN tags t ON t.run_uuid = r.run_uuid AND t.key = 'model' WHERE r.lifecycle_stage = 'active'")
    per_model = {arch: [(run_uuid, status) for value, run_uuid, status in rows if value == arch] for arch in ARCHITECTURES}
    reported = {m.asset_key.to_user_string(): m.metadata["mlflow_run_id"].value
                for m in (e.asset_materialization for e in events) if m and m.asset_key.to_user_string() in MODELS}
    for arch in ARCHITECTURES:
        assert per_model[arch] == [(reported[f"model_{arch}"], "FINISHED")], (arch, per_model[arch])
    logged = pg_query(profile.mlflow_db, "SELECT source_run_id, artifact_location FROM logged_models")
    for arch in ARCHITECTURES:
        [location] = [loc for run_uuid, loc in logged if run_uuid == reported[f"model_{arch}"]]
        assert location.startswith("mlflow-artifacts:/")
        assert (profile.artifacts / location.removeprefix("mlflow-artifacts:/") / "MLmodel").is_file()
    assert (profile.root / "metrics" / "rmse.json").is_file()
    assert not (profile.root / "mlflow.db").exists()  # nothing went to the embedded store

    # Dagster's PostgreSQL storage gained this one run, and holds no run queued or in progress.
    assert profile.run_ids() - before == {run_id}
    assert all(r.status in FINISHED for r in profile.instance.get_runs())


@pytest.mark.slow
def test_tag_limit_runs_pipelines_one_at_a_time(profile: Profile):
    """Only ``raw_mobility`` (and its check), to keep the runs short."""
    jobs, before = ["full_pipeline_parallel", "full_pipeline_celery"], profile.run_ids()
    run_ids = [profile.client.submit_job_execution(job, asset_selection=["raw_mobility"]) for job in jobs]
    runs = profile.wait_finished(run_ids, timeout=300)
    assert [r.status for r in runs] == [dg.DagsterRunStatus.SUCCESS] * 2
    assert all(r.tags[k] == v for r in runs for k, v in PIPELINE_TAGS.items())

    records = sorted(profile.instance.get_run_records(dg.RunsFilter(run_ids=run_ids)), key=lambda r: r.start_time)
    intervals = [(r.start_time, r.end_time) for r in records]
    print("queued runs (s): " + ", ".join(f"{s - intervals[0][0]:.1f}-{e - intervals[0][0]:.1f}" for s, e in intervals))
    for (_, end), (next_start, _) in zip(intervals, intervals[1:]):
        assert end <= next_start, f"runs overlapped: {intervals}"

    # The multiprocess run ran its steps in processes of their own, not in its run worker.
    parallel = runs[0]
    pids = {e.dagster_event.pid for e in step_events(profile.instance, parallel.run_id)
            if e.dagster_event.event_type in (dg.DagsterEventType.RUN_START, dg.DagsterEventType.STEP_START)}
    assert len(pids) == 3  # the run worker, raw_mobility, its check

    # The storage gained exactly these runs, and holds none queued, starting or started.
    assert profile.run_ids() - before == set(run_ids)
    assert all(r.status in FINISHED for r in profile.instance.get_runs())
