"""The Dagster and MLflow UIs in a real browser, used the way the README tells a user to.

Dagster: ``dagster dev`` (the README's command, run from the repository root so pyproject's
``[tool.dagster]`` names the code location ``dpforecast``) on a free port, with a throw-away
``DAGSTER_HOME`` and a throw-away project root (``tests/project_roots.TINY``: two epochs,
eight units). Headless Chromium opens the asset catalog and finds our assets, clicks
"Materialize all" on the ``full_pipeline`` job page, follows the "Launched run" toast to the
run page, and waits for the run to end; then the run page says "Success" and ``model_gru``'s
page shows the ``test_rmse_mean`` the training step wrote to ``models/gru/metrics.json``.

MLflow: ``mlflow ui`` over the same root's ``mlflow.db``, after that run. The Models page lists
``mobility-<arch>`` for the four architectures and ``mobility-gru``'s page shows its
``champion`` and ``challenger`` aliases. Nothing here registers a model: the pipeline's
``registered_models`` asset must have done it.

Why Selenium, not Playwright: both drive Debian's ``chromium`` (Playwright 1.65 launches
Chromium 156 through ``executable_path`` without ``playwright install``), but Debian ships
``chromium-driver`` built from the same source as ``chromium``, so the WebDriver side always
matches the browser apt installed; Playwright supports only the Chromium revision it was
built for, anything else is best effort, and its wheel carries a 165 MB Node.js driver.
Selenium Manager, which could download drivers and browsers, never runs: the driver's path
is given to ``Service`` (which skips it) and ``SE_OFFLINE`` forbids downloads anyway.

Why the waits look like this: both UIs are React apps that render after their GraphQL/REST
calls return, so every check is an explicit wait for an element (never a fixed sleep); on
timeout the screenshot and HTML are saved under the test's tmp folder and named in the
failure. The run itself is awaited by polling ``runOrError`` on ``/graphql``, the API the
run page reads. Servers are found ready by polling ``/server_info`` and ``/health``, started
in their own sessions and stopped by signalling the whole process group (``dagster dev``
spawns a webserver, a daemon, a code server and the run's worker).

Slow: a training run, two servers and a browser take about two minutes on 2 cores, so the
module is marked ``slow`` (``bash scripts/test.sh -m slow``, run by ``.ci/run``). It is
skipped where ``/usr/bin/chromium`` or ``/usr/bin/chromedriver`` is missing
(``apt-get install chromium chromium-driver``) or Selenium is not installed.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import pytest

from dpforecast.config import ARCHITECTURES
from tests.project_roots import REPO, TINY, make_root

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not (CHROMIUM.is_file() and CHROMEDRIVER.is_file()),
        reason=f"{CHROMIUM} or {CHROMEDRIVER} missing: apt-get install -y chromium chromium-driver",
    ),
]

pytest.importorskip("selenium", reason="selenium is not installed (pip install -e '.[test]')")
from selenium import webdriver  # noqa: E402
from selenium.common.exceptions import TimeoutException  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.remote.webelement import WebElement  # noqa: E402
from selenium.webdriver.support import expected_conditions as EC  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

BIN = Path(sys.executable).parent  # the venv's dagster and mlflow
LOCATION = "dpforecast"  # pyproject's [tool.dagster] code_location_name
# Asserted as a subset: other assets (the registry's, the data drop's) may join them.
CATALOG_ASSETS = [
    "raw_mobility", "validated_series", "released_series", "features",
    *(f"model_{arch}" for arch in ARCHITECTURES), "evaluation", "model_variant",
]
REGISTERED = [f"mobility-{arch}" for arch in ARCHITECTURES]  # registry.name_prefix, privacy.mode none
SERVER_START_S = 120
RUN_TIMEOUT_S = 300
UI_WAIT_S = 60
TERMINAL = {"SUCCESS", "FAILURE", "CANCELED"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def log_tail(log: Path, lines: int = 60) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])


@contextmanager
def server(cmd: list[str], env: dict[str, str], cwd: Path, log: Path, ready_url: str) -> Iterator[None]:
    """Run ``cmd`` in its own process group until ``ready_url`` answers 200; kill the group after."""
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True, preexec_fn=default_sigint)
    try:
        deadline = time.monotonic() + SERVER_START_S
        while True:
            if proc.poll() is not None:
                pytest.fail(f"{cmd[0]} exited with {proc.returncode}:\n{log_tail(log)}")
            try:
                with urllib.request.urlopen(ready_url, timeout=5) as resp:
                    if resp.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"{ready_url} not up after {SERVER_START_S}s:\n{log_tail(log)}")
            time.sleep(0.5)
        yield
    finally:
        stop_group(proc)


def default_sigint() -> None:
    """In the child, before exec: SIGINT back to its default. A job started in the background
    by a non-interactive shell (CI runners, ``cmd &``) inherits SIGINT ignored; Python then
    installs no KeyboardInterrupt handler, and ``dagster dev``, which maps SIGTERM to its
    SIGINT handler, would ignore SIGTERM too."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def stop_group(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM the process group (graceful shutdown), SIGKILL whatever is left after 30 s."""
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
    except ProcessLookupError:
        return
    except subprocess.TimeoutExpired:
        pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)  # children the leader left behind
    except ProcessLookupError:
        return
    proc.wait(timeout=10)


def server_env(**extra: str) -> dict[str, str]:
    """This environment without a tracking URI (the store is the root's sqlite), one BLAS
    thread, and no MLflow usage telemetry (Dagster's is off in the instance's dagster.yaml)."""
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    env.update(OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1", MLFLOW_DISABLE_TELEMETRY="true", **extra)
    return env


def graphql(base: str, query: str, **variables: Any) -> dict[str, Any]:
    body = json.dumps({"query": query, "variables": variables}).encode()
    req = urllib.request.Request(f"{base}/graphql", data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        answer = json.load(resp)
    assert "errors" not in answer, answer["errors"]
    return answer["data"]


LOCATIONS_QUERY = """
query { workspaceOrError { __typename ... on Workspace { locationEntries {
  name loadStatus locationOrLoadError { __typename ... on PythonError { message } } } } } }
"""
RUN_STATUS_QUERY = "query ($id: ID!) { runOrError(runId: $id) { __typename ... on Run { status } } }"


def wait_for_location(base: str, log: Path) -> None:
    """Until the code location is loaded; its import error (if any) is the failure."""
    deadline = time.monotonic() + SERVER_START_S
    while time.monotonic() < deadline:
        entries = graphql(base, LOCATIONS_QUERY)["workspaceOrError"]["locationEntries"]
        entry = next((e for e in entries if e["name"] == LOCATION), None)
        if entry and entry["loadStatus"] == "LOADED":
            loaded = entry["locationOrLoadError"]
            if loaded["__typename"] == "PythonError":
                pytest.fail(f"code location {LOCATION} failed to load: {loaded['message']}")
            return
        time.sleep(1)
    pytest.fail(f"code location {LOCATION} not loaded after {SERVER_START_S}s:\n{log_tail(log)}")


@dataclass
class Browser:
    """The headless browser, with waits that leave a screenshot behind when they time out."""

    driver: webdriver.Chrome
    debug_dir: Path

    def open(self, url: str) -> None:
        self.driver.get(url)

    def wait(self, xpath: str, what: str, timeout: float = UI_WAIT_S, clickable: bool = False) -> WebElement:
        condition = EC.element_to_be_clickable if clickable else EC.visibility_of_element_located
        try:
            return WebDriverWait(self.driver, timeout).until(condition((By.XPATH, xpath)))
        except TimeoutException:
            self.fail(f"{what} not shown within {timeout:.0f}s")

    def wait_url(self, pattern: str, what: str) -> re.Match[str]:
        try:
            WebDriverWait(self.driver, UI_WAIT_S).until(lambda d: re.search(pattern, d.current_url))
        except TimeoutException:
            self.fail(f"{what}: URL never matched {pattern!r}")
        match = re.search(pattern, self.driver.current_url)
        assert match is not None
        return match

    def fail(self, message: str) -> NoReturn:
        stem = self.debug_dir / re.sub(r"\W+", "_", message)[:80]
        self.driver.save_screenshot(str(stem.with_suffix(".png")))
        stem.with_suffix(".html").write_text(self.driver.page_source)
        pytest.fail(f"{message} on {self.driver.current_url}; screenshot and HTML: {stem}.png/.html")


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    # --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start; a small
    # container /dev/shm would crash tabs, hence --disable-dev-shm-usage.
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1600,1000"):
        options.add_argument(arg)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SE_OFFLINE", "true")
        driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    try:
        yield Browser(driver, tmp_path_factory.mktemp("screenshots"))
    finally:
        driver.quit()


@dataclass
class Dagster:
    url: str
    root: Path
    log: Path


@pytest.fixture(scope="module")
def dagster(tmp_path_factory: pytest.TempPathFactory, raw_csv_path: Path) -> Iterator[Dagster]:
    """``dagster dev`` over a fresh TINY project root and a fresh instance."""
    tmp = tmp_path_factory.mktemp("dagster_ui")
    # One data set: the catalog then lists the project's graph alone, as the assertions expect.
    root = make_root(tmp / "root", TINY, raw_csv=raw_csv_path, datasets=("montreuil",))
    home = tmp / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    # The instance's "community" sign-up dialog (covering the page on first visit) counts
    # as dismissed once this file exists; it is what clicking "Skip" writes.
    (home / ".nux").mkdir()
    (home / ".nux" / "nux.yaml").write_text("seen: 1\n")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = tmp / "dagster_dev.log"
    env = server_env(DAGSTER_HOME=str(home), DPFORECAST_ROOT=str(root))
    cmd = [str(BIN / "dagster"), "dev", "-h", "127.0.0.1", "-p", str(port)]
    with server(cmd, env, REPO, log, f"{url}/server_info"):
        wait_for_location(url, log)
        yield Dagster(url, root, log)


@pytest.fixture(scope="module")
def pipeline_run(dagster: Dagster, browser: Browser) -> tuple[str, str]:
    """Click "Materialize all" on ``full_pipeline``, follow the toast to the run page, wait
    for the run to end; ``(run id, final status)``."""
    browser.open(f"{dagster.url}/locations/{LOCATION}/jobs/full_pipeline")
    browser.wait("//button[normalize-space()='Materialize all']", '"Materialize all"', clickable=True).click()
    view = "//*[starts-with(normalize-space(), 'Launched run')]//a[normalize-space()='View' and starts-with(@href, '/runs/')]"
    browser.wait(view, 'the "Launched run ... View" toast', clickable=True).click()
    run_id = browser.wait_url(r"/runs/([0-9a-f-]{36})", "the run page").group(1)
    deadline = time.monotonic() + RUN_TIMEOUT_S
    status = ""
    while time.monotonic() < deadline:
        status = graphql(dagster.url, RUN_STATUS_QUERY, id=run_id)["runOrError"]["status"]
        if status in TERMINAL:
            return run_id, status
        time.sleep(2)
    pytest.fail(f"run {run_id} still {status} after {RUN_TIMEOUT_S}s:\n{log_tail(dagster.log)}")


def test_catalog_lists_the_pipeline_assets(dagster: Dagster, browser: Browser) -> None:
    browser.open(f"{dagster.url}/assets")
    for name in CATALOG_ASSETS:
        link = browser.wait(f"//a[@href='/assets/{name}']", f"asset {name} in the catalog")
        assert link.text == name


def test_materialize_all_succeeds_and_the_run_page_says_so(
    dagster: Dagster, browser: Browser, pipeline_run: tuple[str, str]
) -> None:
    run_id, status = pipeline_run
    assert status == "SUCCESS", f"run {run_id} ended {status}:\n{log_tail(dagster.log)}"
    browser.open(f"{dagster.url}/runs/{run_id}")
    browser.wait("//div[div[@aria-label='run_success'] and div[normalize-space()='Success']]", "the run's Success tag")


def test_model_asset_page_shows_the_trained_models_error(
    dagster: Dagster, browser: Browser, pipeline_run: tuple[str, str]
) -> None:
    assert pipeline_run[1] == "SUCCESS"
    browser.open(f"{dagster.url}/assets/model_gru")
    row = browser.wait("//tr[.//span[normalize-space()='test_rmse_mean']]", "model_gru's test_rmse_mean metadata")
    shown = float(row.text.split()[-1])  # key, materialization time, value
    written = json.loads((dagster.root / "models" / "gru" / "metrics.json").read_text())["rmse"]["mean"]
    assert shown == pytest.approx(written, rel=1e-9)


@pytest.fixture(scope="module")
def mlflow_ui(dagster: Dagster, pipeline_run: tuple[str, str]) -> Iterator[str]:
    """``mlflow ui`` over the store the pipeline run tracked into."""
    assert pipeline_run[1] == "SUCCESS"
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    cmd = [str(BIN / "mlflow"), "ui", "--backend-store-uri", f"sqlite:///{dagster.root / 'mlflow.db'}",
           "--host", "127.0.0.1", "--port", str(port), "--workers", "1"]
    # No job runner: its half-dozen huey consumers serve GenAI features, not the registry pages.
    env = server_env(MLFLOW_SERVER_ENABLE_JOB_EXECUTION="false")
    with server(cmd, env, dagster.root, dagster.root.parent / "mlflow_ui.log", f"{url}/health"):
        yield url


def test_mlflow_models_page_shows_the_registered_models_and_aliases(mlflow_ui: str, browser: Browser) -> None:
    browser.open(f"{mlflow_ui}/#/models")
    links = {name: browser.wait(f"//a[@href='#/models/{name}']", f"registered model {name}") for name in REGISTERED}
    # Opened by its link's URL rather than a click: the Models page may raise a "new Model
    # Registry UI" announcement over the list.
    browser.open(links["mobility-gru"].get_attribute("href"))
    for alias in ("champion", "challenger"):
        tag = browser.wait(f"//*[@role='status' and @title='{alias}']", f"mobility-gru's alias {alias}")
        assert alias in tag.text
