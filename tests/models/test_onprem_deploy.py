"""The on-prem deploy (the template's ci/deploy.sh + ci/serve_swap.py) as it really runs: `sh
ci/deploy.sh` in a job folder with its model/ and image.json, REAL nginx as the front proxy and
REAL MLServer processes as the model containers, started through the podman stand-in
(tests/podman_standin, a test double of the podman CLI: containers are host processes).

Clients ask for predictions through SERVE_PORT without a pause (on new connections and on
kept-alive ones) while the first deploy's version is replaced by a second and rolled back, and
while a deploy whose model never gets ready fails: zero failed requests, each client sees the
versions in deploy order and never flips back, the old colour is stopped after each swap.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import http.client
import json
import os
import select
import shutil
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from hybridhub.lab_ext.pipelines.template import TEMPLATE_DIR
from tests.models.serving_machine import FRONT_IMAGE, MLSERVER, PROJECT_IMAGE, REGISTRY, ServingMachine, free_port
from tests.pipelines.conftest import infer, sample_data  # noqa: F401 (fixture)
from tests.podman_standin import register_image

pytestmark = [pytest.mark.models, pytest.mark.pipelines]


def train(out: Path, version: str, data: Path, c: str) -> None:
    result = subprocess.run(
        [sys.executable, str(TEMPLATE_DIR / "ml" / "train.py"), "--data", str(data), "--out", str(out), "--c", c],
        env={**os.environ, "MODEL_VERSION": version}, capture_output=True, text=True, timeout=120,
        cwd=out.parent,  # the job's lineage.json is written in its working folder
    )  # fmt: skip
    assert result.returncode == 0, result.stderr


class Site(ServingMachine):
    """The serving machine (tests/models/serving_machine.py) and the job folders (a copy of the
    template with the job's artifacts: model/ and the build's image.json)."""

    def image(self, model: Path) -> str:
        """The build's image of ``model``: MLServer serving /mnt/models (images/model-server's CMD and ENV)."""
        digest = "sha256:" + hashlib.sha256(b"".join(p.read_bytes() for p in sorted(model.rglob("*")) if p.is_file())).hexdigest()
        root = self.base / "images" / digest[7:19]
        if not root.exists():
            shutil.copytree(model, root / "mnt" / "models" / "model")
        register_image(self.state, f"{PROJECT_IMAGE}/model@{digest}", {
            "command": [MLSERVER, "start", str(root / "mnt" / "models")],
            "env": {"MLSERVER_HOST": "127.0.0.1", "MLSERVER_HTTP_PORT": "{port:8080}", "MLSERVER_GRPC_PORT": "{port:8081}",
                    "MLSERVER_METRICS_PORT": "{port:8082}", "MLSERVER_PARALLEL_WORKERS": "0", "MLSERVER_DEBUG": "false"},
        })  # fmt: skip
        return digest

    def job(self, name: str, model: Path, digest: str | None = None) -> Path:
        folder = self.base / "jobs" / name
        shutil.copytree(TEMPLATE_DIR, folder, ignore=shutil.ignore_patterns("__pycache__"))
        shutil.copytree(model, folder / "model")
        digest = digest or self.image(model)
        (folder / "image.json").write_text(json.dumps({"ref": f"{PROJECT_IMAGE}/model", "digest": digest, "job_id": "7"}))
        return folder

    def deploy(self, job: Path, **env: str) -> subprocess.CompletedProcess:
        return subprocess.run(["sh", "ci/deploy.sh"], cwd=job, env={**self.env, **env}, capture_output=True, text=True,
                              timeout=180)  # fmt: skip


class Client(threading.Thread):
    """Predictions without a pause through SERVE_PORT: each on a new connection, or on one
    kept-alive connection that is reused like urllib3 reuses a pooled one (a connection the server
    has closed is noticed before the next request, https://urllib3.readthedocs.io
    is_connection_dropped).

    A kept-alive client retries a request once, on a new connection, only when the REUSED
    connection was closed or reset before any byte of the answer came: RFC 9112 §9.3.1 ("Retrying
    Requests": connections can be closed at any time; a client may retry a request it knows to be
    idempotent, as a prediction is), what Go's net/http does for a replayable request
    (transport.go, errServerClosedIdle / nothing written). nginx before 1.27.4 closes idle
    kept-alive connections at once when its old workers end after a reload
    (ngx_close_idle_connections; https://github.com/nginx/nginx/pull/437 "occasional requests
    getting RESET"), so a request sent at that very moment is reset unread; nginx 1.27.4's
    keepalive_min_timeout, which the deploy sets when the front has it, ends that. This machine's
    nginx is Debian's 1.22: such retries are counted (``retried``), never hidden."""

    BODY = json.dumps({"inputs": [{"name": "sensors", "shape": [1, 3], "datatype": "FP64", "data": [48.0, 4.1, 12.0]}]})

    def __init__(self, port: int, keep_alive: bool) -> None:
        super().__init__(daemon=True)
        self.port, self.keep_alive = port, keep_alive
        self.answers: list[tuple[float, str]] = []
        self.failures: list[str] = []
        self.retried: list[tuple[float, str]] = []  # kept-alive only: reset before any answer, sent again
        self.halt = threading.Event()

    def run(self) -> None:
        connection, deadline = None, time.monotonic() + 170
        while not self.halt.is_set() and time.monotonic() < deadline and len(self.failures) < 20:
            try:
                if not self.keep_alive:
                    self.answers.append((time.monotonic(), infer(f"http://127.0.0.1:{self.port}", [[48.0, 4.1, 12.0]])["model_version"]))
                    continue
                if connection is not None and connection.sock is not None and select.select([connection.sock], [], [], 0)[0]:
                    connection.close()  # closed by the server while idle (or it sent something unasked)
                    connection = None
                reused = connection is not None
                connection = connection or http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
                try:
                    connection.request("POST", "/v2/models/sensor-failure/infer", self.BODY, {"Content-Type": "application/json"})
                    response = connection.getresponse()
                except (ConnectionResetError, BrokenPipeError, http.client.RemoteDisconnected) as unanswered:
                    if not reused:
                        raise
                    self.retried.append((time.monotonic(), repr(unanswered)))
                    connection.close()
                    connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
                    connection.request("POST", "/v2/models/sensor-failure/infer", self.BODY, {"Content-Type": "application/json"})
                    response = connection.getresponse()
                answer = json.loads(response.read())
                assert response.status == 200, answer
                self.answers.append((time.monotonic(), answer["model_version"]))
                if response.will_close:
                    connection.close()
                    connection = None
            except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError, AssertionError) as exc:
                self.failures.append(repr(exc))
                if connection is not None:
                    connection.close()
                    connection = None

    def wait_for_answers(self, count: int, since: float, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while sum(1 for t, _ in self.answers if t > since) < count and not self.failures:
            assert time.monotonic() < deadline, "the client got no answers"
            time.sleep(0.05)


def versions_in_order(answers: list[tuple[float, str]]) -> list[str]:
    """The versions a client saw, each run of equal answers once."""
    seen: list[str] = []
    for _, version in answers:
        if not seen or seen[-1] != version:
            seen.append(version)
    return seen


@pytest.fixture(scope="module")
def models(tmp_path_factory, sample_data) -> dict[str, Path]:  # noqa: F811
    base = tmp_path_factory.mktemp("onprem-models")
    folders = {}
    for version, c in (("1.0.1", "10"), ("1.0.2", "1")):
        train(base / version, version, sample_data["train"], c)
        folders[version] = base / version
    broken = base / "1.0.3"
    shutil.copytree(folders["1.0.2"], broken)
    settings = json.loads((broken / "model-settings.json").read_text())
    settings["parameters"]["version"] = "1.0.3"
    (broken / "model-settings.json").write_text(json.dumps(settings))
    (broken / "model.joblib").write_bytes(b"not a joblib file")  # MLServer never gets this model ready
    folders["1.0.3"] = broken
    return folders


@pytest.fixture
def site(tmp_path):
    made = Site(tmp_path)
    try:
        yield made
    finally:
        made.close()


def stopped_processes(site: Site) -> list[int]:
    """The main pids of removed containers that still run (should be none)."""
    pids = []
    for folder in (site.state / "containers").glob("removed-*"):
        state = json.loads((folder / "state.json").read_text()) if (folder / "state.json").is_file() else {}
        with contextlib.suppress(OSError):
            if state.get("pid"):
                os.kill(state["pid"], 0)
                pids.append(state["pid"])
    return pids


def swap(site: Site, job: Path, clients: list[Client], colour: str, *said: str) -> tuple[float, float]:
    """One deploy while the clients ask; the new colour alone serves after it, the old one is
    stopped and its process gone; each client then gets 10 more answers."""
    started = time.monotonic()
    done = site.deploy(job)
    ended = time.monotonic()
    assert done.returncode == 0, done.stdout + done.stderr
    assert all(text in done.stdout for text in said), done.stdout
    assert site.containers() == {colour: True, "model-front": True} and stopped_processes(site) == []
    for client in clients:
        client.wait_for_answers(10, ended)
    return started, ended


def test_deploy_promote_rollback_and_a_failed_deploy_drop_no_request(site, models):
    first, second = site.job("deploy-1", models["1.0.1"]), site.job("deploy-2", models["1.0.2"])
    broken = site.job("deploy-3", models["1.0.3"])

    # 1. the first deploy: no front yet, it starts one
    done = site.deploy(first)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"serving sensor-failure 1.0.1 on port {site.port} (blue," in done.stdout
    assert site.containers() == {"blue": True, "model-front": True}
    assert f"server 127.0.0.1:{site.blue} max_fails=0;" in (site.serving / "upstream.conf").read_text()

    clients = [Client(site.port, keep_alive) for keep_alive in (False, False, True, True)]
    for client in clients:
        client.start()
    try:
        for client in clients:
            client.wait_for_answers(10, 0)
        # 2. the second version: green takes over, blue is stopped and removed
        started, ended = swap(site, second, clients, "green", "serving sensor-failure 1.0.2", "stopped 1.0.1 (blue)")
        # 3. rollback = the first deploy job run again: blue with the first image
        rolled, rolled_end = swap(site, first, clients, "blue", "serving sensor-failure 1.0.1", "stopped 1.0.2 (green)")
        # 4. a model that never gets ready: the job fails in one line, 1.0.1 keeps answering
        upstream = (site.serving / "upstream.conf").read_text()
        failed_at = time.monotonic()
        done = site.deploy(broken, READY_TIMEOUT="20")
        failed_end = time.monotonic()
        assert done.returncode == 1, done.stdout + done.stderr
        failure = [line for line in done.stderr.splitlines() if line.startswith("deploy failed:")]
        assert len(failure) == 1 and "(green)" in failure[0] and "1.0.1 (blue) keeps serving" in failure[0], done.stderr
        assert (site.serving / "upstream.conf").read_text() == upstream
        assert site.containers() == {"blue": True, "model-front": True}
        for client in clients:
            client.wait_for_answers(10, time.monotonic())
    finally:
        for client in clients:
            client.halt.set()
        for client in clients:
            client.join(30)
    # a request sent again (Client's docstring) only by a kept-alive client, only while a deploy
    # reloaded the front (2 reloads per deploy: 6 at most), and it was answered (no failure)
    deploys = [(started, ended), (rolled, rolled_end), (failed_at, failed_end)]
    for client in clients:
        assert client.keep_alive or client.retried == [], client.retried
        assert len(client.retried) <= 6 and all(any(a <= t <= b for a, b in deploys) for t, _ in client.retried), (
            client.retried, deploys)
    for client in clients:
        assert client.failures == [], client.failures
        assert versions_in_order(client.answers) == ["1.0.1", "1.0.2", "1.0.1"], versions_in_order(client.answers)
        # each answer is the version deployed at that time: the switch happens during the deploy job
        assert all(v == "1.0.1" for t, v in client.answers if t < started)
        assert all(v == "1.0.2" for t, v in client.answers if ended < t < rolled)
        assert all(v == "1.0.1" for t, v in client.answers if t > rolled_end)
        assert any(t > failed_at for t, _ in client.answers)
    assert json.loads((site.serving / "active.json").read_text())["version"] == "1.0.1"


def test_a_second_deploy_at_the_same_time_waits_for_the_first(site, models):
    first, second = site.job("deploy-1", models["1.0.1"]), site.job("deploy-2", models["1.0.2"])
    site.serving.mkdir(parents=True)
    # an image the registry does not have: podman pull fails the job, nothing is started
    unknown = site.deploy(site.job("deploy-x", models["1.0.1"], digest="sha256:" + "0" * 64))
    assert unknown.returncode == 125 and "manifest unknown" in unknown.stderr and site.containers() == {}
    # while another deploy holds the lock, one that may not wait is refused and touches nothing
    with open(site.serving / "deploy.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        done = site.deploy(first, DEPLOY_LOCK_WAIT="1")
    assert done.returncode == 1 and "deploy failed: another deploy is running on this machine" in done.stderr
    assert site.containers() == {} and not (site.serving / "upstream.conf").exists()
    # two at once: the second waits, then swaps; one colour serves, the upstream is the active one
    runs = [subprocess.Popen(["sh", "ci/deploy.sh"], cwd=job, env=site.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True) for job in (first, second)]  # fmt: skip
    outputs = [run.communicate(timeout=180) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs
    assert sum("waiting for the deploy that is running" in out for out, _ in outputs) == 1, outputs
    active = json.loads((site.serving / "active.json").read_text())
    assert f"server 127.0.0.1:{active['port']} max_fails=0;" in (site.serving / "upstream.conf").read_text()
    assert site.containers() == {active["colour"]: True, "model-front": True}
    assert infer(f"http://127.0.0.1:{site.port}", [[48.0, 4.1, 12.0]])["model_version"] == active["version"]


def answers_with(port: int, version: str, timeout: float = 40) -> None:
    deadline = time.monotonic() + timeout
    while True:
        with contextlib.suppress(OSError, ValueError):
            if infer(f"http://127.0.0.1:{port}", [[48.0, 4.1, 12.0]])["model_version"] == version:
                return
        assert time.monotonic() < deadline, f"{version} never answered on {port}"
        time.sleep(0.3)


def start_legacy(site: Site, model: Path) -> None:
    """What the deploy before the front ran: one `model-server` container published on SERVE_PORT."""
    legacy = site.image(model)
    assert site.podman("pull", f"{PROJECT_IMAGE}/model@{legacy}").returncode == 125  # not logged in yet
    login = subprocess.run(["podman", "login", "-u", "gitlab-ci-token", "--password-stdin", REGISTRY], input="job-token-value\n",
                           env=site.env, capture_output=True, text=True)  # fmt: skip
    assert login.returncode == 0 and "Login Succeeded!" in login.stdout
    started = site.podman("run", "-d", "--name", "model-server", "--restart=always", "-p", f"127.0.0.1:{site.port}:8080",
                          f"{PROJECT_IMAGE}/model@{legacy}")  # fmt: skip
    assert started.returncode == 0 and len(started.stdout.strip()) == 64, started.stderr  # podman-run -d prints the id
    answers_with(site.port, "1.0.1")


def test_migration_from_the_single_model_server_container(site, models):
    """The first swap replaces the single container (a gap of about a second, once: not measured)."""
    job = site.job("deploy-2", models["1.0.2"])
    start_legacy(site, models["1.0.1"])
    # with the request log configured (its store down: predictions never wait for it)
    store = {"PREDICTION_LOG_URI": "s3://monitoring/predictions", "S3_ENDPOINT": f"http://127.0.0.1:{free_port()}",
             "AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "key-id-value", "AWS_SECRET_ACCESS_KEY": "secret-key-value"}  # fmt: skip
    done = site.deploy(job, **store)
    assert done.returncode == 0, done.stdout + done.stderr
    assert site.containers() == {"blue": True, "model-front": True}  # model-server stopped and removed
    assert infer(f"http://127.0.0.1:{site.port}", [[48.0, 4.1, 12.0]])["model_version"] == "1.0.2"
    # the settings reached the container by name (-e NAME), no value on any command line
    calls = (site.state / "calls.jsonl").read_text()
    assert "secret-key-value" not in calls and "key-id-value" not in calls and "s3://monitoring" not in calls
    (run,) = [json.loads(line) for line in calls.splitlines() if '"--name", "blue"' in line]
    assert all(["-e", name] == run[i : i + 2] for name in store for i in [run.index(name) - 1])
    (blue,) = [f for f in (site.state / "containers").glob("[0-9]*") if json.loads((f / "config.json").read_text())["name"] == "blue"]
    assert {k: json.loads((blue / "config.json").read_text())["env"][k] for k in store} == store


def test_a_migration_whose_front_cannot_start_gives_the_port_back(site, models):
    job = site.job("deploy-2", models["1.0.2"])
    start_legacy(site, models["1.0.1"])
    done = site.deploy(job, FRONT_IMAGE="docker.io/library/nginx:0.0-missing")
    assert done.returncode == 1, done.stdout + done.stderr
    (failure,) = [line for line in done.stderr.splitlines() if line.startswith("deploy failed:")]
    assert "manifest unknown" in failure and "the earlier model-server container serves again" in failure, failure
    assert site.containers() == {"model-server": True}  # the new colour and the front removed
    answers_with(site.port, "1.0.1")


# -- the stand-in itself keeps podman's documented behaviour (tests/podman_standin/engine.py) --
def test_standin_follows_podman_syntax_and_exit_codes(site):
    # podman.1.md: an unknown subcommand is an error, exit 125
    assert site.podman("frobnicate").returncode == 125
    # cobra flag parsing: an unknown flag is refused, exit 125 (podman-run.1.md.in: "125 The error is with Podman itself")
    wrong = site.podman("run", "-d", "--bogus", FRONT_IMAGE)
    assert wrong.returncode == 125 and "Error: unknown flag: --bogus" in wrong.stderr
    # podman-inspect.1.md.in: an unknown name is an error (the deploy's "does it exist" check)
    inspected = site.podman("inspect", "--format", "{{.State.Running}}", "nothing")
    assert inspected.returncode == 125 and 'no such object: "nothing"' in inspected.stderr
    # podman-stop.1.md.in / podman-rm.1.md.in (Exit Status 1: a container did not exist)
    assert site.podman("stop", "nothing").returncode == 125
    missing = site.podman("rm", "-f", "nothing")
    assert missing.returncode == 1 and 'no container with name or ID "nothing" found' in missing.stderr
    # podman-pull.1.md.in: a registry that needs a login refuses before it; a digest it does not have fails
    unknown = f"{PROJECT_IMAGE}/model@sha256:{'0' * 64}"
    refused = site.podman("pull", unknown)
    assert refused.returncode == 125 and "unauthorized" in refused.stderr
    login = subprocess.run(["podman", "login", "-u", "gitlab-ci-token", "--password-stdin", REGISTRY], input="wrong\n",
                           env=site.env, capture_output=True, text=True)  # fmt: skip
    assert login.returncode == 125 and "invalid username/password" in login.stderr
    login = subprocess.run(["podman", "login", "-u", "gitlab-ci-token", "--password-stdin", REGISTRY], input="job-token-value\n",
                           env=site.env, capture_output=True, text=True)  # fmt: skip
    assert login.returncode == 0 and login.stdout.strip() == "Login Succeeded!"
    missing_image = site.podman("pull", unknown)
    assert missing_image.returncode == 125 and "manifest unknown" in missing_image.stderr
    # podman-stop: SIGTERM first, then SIGKILL after --time; a process that ignores SIGTERM dies after -t
    register_image(site.state, "docker.io/library/busybox:1", {"command": [sys.executable, "-c",
                   "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(600)"]})  # fmt: skip
    assert site.podman("run", "-d", "--name", "stubborn", "docker.io/library/busybox:1").returncode == 0
    conflict = site.podman("run", "-d", "--name", "stubborn", "docker.io/library/busybox:1")
    assert conflict.returncode == 125 and 'the container name "stubborn" is already in use' in conflict.stderr
    assert site.podman("rm", "stubborn").returncode == 2  # running: not without -f
    began = time.monotonic()
    stopped = site.podman("stop", "-t", "1", "stubborn")
    assert stopped.returncode == 0 and stopped.stdout.strip() == "stubborn" and 0.9 < time.monotonic() - began < 10
    assert site.containers() == {"stubborn": False}
    assert site.podman("exec", "stubborn", "true").returncode == 125  # exec needs a running container
    assert site.podman("rm", "stubborn").returncode == 0 and site.containers() == {}


def test_standin_runs_containers_as_podman_run_and_exec_document(site):
    sleeper = "import os, sys, time; print('started', os.environ.get('GIVEN'), 'UNSET_ONE' in os.environ, flush=True); "
    register_image(site.state, "docker.io/library/busybox:1", {"command": [sys.executable, "-c", sleeper + "time.sleep(600)"]})
    register_image(site.state, "docker.io/library/busybox:2", {"command": [sys.executable, "-c", sleeper + "time.sleep(0.2); sys.exit(3)"]})
    env = {**site.env, "GIVEN": "value-from-host"}
    env.pop("UNSET_ONE", None)
    # podman-run --env: a name without a value takes the host's value, and is not set if the host has none
    run = subprocess.run(["podman", "run", "-d", "--name", "envy", "-e", "GIVEN", "-e", "UNSET_ONE", "docker.io/library/busybox:1"],
                         env=env, capture_output=True, text=True)  # fmt: skip
    assert run.returncode == 0, run.stderr
    deadline = time.monotonic() + 10
    while "started" not in site.podman("logs", "--tail", "1", "envy").stdout:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert site.podman("logs", "--tail", "1", "envy").stdout.strip() == "started value-from-host False"
    # podman-exec.1.md.in Exit Status: the command's own code; 127 when it cannot be found
    assert site.podman("exec", "envy", "sh", "-c", "exit 3").returncode == 3
    assert site.podman("exec", "envy", "no-such-program-here").returncode == 127
    # podman-run --restart=always: "Restart containers when they exit, regardless of status";
    # a container stopped by podman stop stays stopped
    assert site.podman("run", "-d", "--name", "flappy", "--restart=always", "docker.io/library/busybox:2").returncode == 0
    deadline = time.monotonic() + 10
    while site.podman("logs", "flappy").stdout.count("started") < 3:
        assert time.monotonic() < deadline, "not restarted"
        time.sleep(0.1)
    assert site.podman("stop", "-t", "1", "flappy").returncode == 0
    starts = site.podman("logs", "flappy").stdout.count("started")
    time.sleep(1)
    assert site.podman("logs", "flappy").stdout.count("started") == starts and site.containers()["flappy"] is False
    # without --restart (podman-run: the default policy is "no"), an exited container stays exited
    assert site.podman("run", "-d", "--name", "once", "docker.io/library/busybox:2").returncode == 0
    deadline = time.monotonic() + 10
    while site.containers()["once"]:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert site.podman("logs", "once").stdout.count("started") == 1


def load_serve_swap():
    """The template's ci/serve_swap.py as the runner's python3 runs it (a script, not a package)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("serve_swap", TEMPLATE_DIR / "ci" / "serve_swap.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(("says", "keeps_idle"), [
    ("nginx version: nginx/1.27.5", True),   # the template's FRONT_IMAGE (nginx:1.27-alpine)
    ("nginx version: nginx/1.27.4", True),   # keepalive_min_timeout appeared in 1.27.4 (nginx CHANGES)
    ("nginx version: nginx/1.29.1", True),
    ("nginx version: nginx/1.27.3", False),
    ("nginx version: nginx/1.22.1", False),  # Debian 12's: the directive would fail `nginx -t`
    ("something else", False),
])
def test_the_front_keeps_idle_connections_through_a_reload_when_its_nginx_can(monkeypatch, tmp_path, says, keeps_idle):
    serve_swap = load_serve_swap()
    monkeypatch.setenv("MODEL_SERVING_DIR", str(tmp_path))
    swap = serve_swap.Swap("registry/model@sha256:" + "0" * 64, "sensor-failure", "1.0.1")
    asked = []

    def engine_run(*args, check=True):
        asked.append(args)
        if args[:2] == ("inspect", "--format"):
            return subprocess.CompletedProcess(args, 0, "true\n", "")
        return subprocess.CompletedProcess(args, 0, "", says + "\n")  # nginx -v writes to stderr

    monkeypatch.setattr(swap, "engine_run", engine_run)
    server = swap.server()
    assert ("keepalive_min_timeout 1s;" in server) is keeps_idle, server
    assert swap.server() == server and asked.count(("exec", "model-front", "nginx", "-v")) == 1  # asked once per deploy
