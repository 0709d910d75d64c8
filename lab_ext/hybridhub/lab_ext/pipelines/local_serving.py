"""Serving for local pipeline runs: MLServer processes behind one stable port on 127.0.0.1.

The deploy job of a local run does not start a server itself (a process started inside a
gitlab-ci-local job would keep the job's pipes and folder). It hands the model over: it
copies its model folder to ``<serving>/requests/<id>/`` and writes ``request.json`` there
last. This supervisor, owned by the local backend (so by the user's server), then

1. starts a new MLServer on free loopback ports with that folder as its model repository,
2. waits until MLServer says that model version is ready (V2 protocol's ``/ready``),
3. switches the stable front port to it (``local_front.py``: each new request goes to it),
4. stops the old server once no request is in flight on it (or after a grace period),

and reports each step in ``<serving>/status/<id>.json``, which the job waits for. A model
that does not become ready is stopped and the old one keeps serving; a serving process that
dies is started again. MLServer children die
with the user's server (parent-death signal, and a kill at interpreter exit).

Each MLServer gets the object-store environment of the local jobs (``env``: S3_ENDPOINT,
AWS_*; process environment only, never a file) and ``PREDICTION_LOG_URI`` (the deploy job's,
from its ``request.json``, else ``env``'s), so the model folder's runtime logs every
prediction to the store (the template's ml/prediction_log.py), spooled in the release folder.
"""

from __future__ import annotations

import asyncio
import atexit
import ctypes
import json
import logging
import os
import shutil
import signal
import socket
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from .local_front import Front

# the runtimes a local deploy may ask for: MLServer's scikit-learn runtime, or the template's
# subclass of it that logs each prediction (ml/serving_runtime.py, in the model folder)
RUNTIMES = ("mlserver_sklearn.SKLearnModel", "serving_runtime.PredictionLoggingModel")
LOOPBACK = "127.0.0.1"
POLL_SECONDS = 0.3
log = logging.getLogger(__name__)
MAX_RESTARTS = 5  # a model server that keeps dying is left down (the front answers 502)


def _die_with_parent() -> None:  # preexec_fn: Linux sends SIGTERM to the child when we die
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM, 0, 0, 0)  # PR_SET_PDEATHSIG


def _free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind((LOOPBACK, 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def _write_json(path: Path, data: dict) -> None:
    """Atomically: a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    part = path.with_name(path.name + ".part")
    part.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    os.replace(part, path)


class ServingRefused(Exception):
    """A deployment request that cannot be served; the message goes to the deploy job."""


@dataclass
class Instance:
    """One MLServer process serving one model version."""

    name: str
    version: str
    folder: Path
    http: int
    grpc: int
    metrics: int
    process: asyncio.subprocess.Process | None = None
    prediction_log: str = ""  # PREDICTION_LOG_URI of its process ("" = no request log)
    connections: int = 0  # requests in flight through the front
    restarts: int = 0  # times its process died and was started again
    started: float = field(default_factory=time.time)

    def describe(self) -> dict:
        return {"name": self.name, "version": self.version, "pid": self.process.pid if self.process else None,
                "backend_url": f"http://{LOOPBACK}:{self.http}", "metrics_url": f"http://{LOOPBACK}:{self.metrics}/metrics",
                "log": str(self.folder / "mlserver.log"), "prediction_log": self.prediction_log or None}  # fmt: skip


def mlserver_command() -> str:
    """MLServer beside this interpreter (the server's venv), else on PATH."""
    beside = Path(sys.executable).with_name("mlserver")
    found = str(beside) if beside.is_file() else shutil.which("mlserver")
    if not found:
        raise ServingRefused("MLServer is not installed here (pip install 'hybridhub[demo]')")
    return found


def read_request(folder: Path) -> tuple[str, str]:
    """The model's name and version from its MLServer settings; only the known runtimes."""
    try:
        settings = json.loads((folder / "model-settings.json").read_text(encoding="utf-8"))
        name, version = settings["name"], settings["parameters"]["version"]
    except (OSError, ValueError, KeyError, TypeError):
        raise ServingRefused("the model folder has no valid model-settings.json (name, parameters.version)") from None
    if settings.get("implementation") not in RUNTIMES:
        raise ServingRefused(f"only the {' or '.join(RUNTIMES)} runtime is served locally")
    if not all(isinstance(v, str) and v and v.replace(".", "").replace("-", "").isalnum() for v in (name, version)):
        raise ServingRefused("the model name and version must be short words (letters, digits, '.', '-')")
    return name, version


def prediction_log_uri(folder: Path, env: dict) -> str:
    """Where the model server logs predictions: the deploy job's PREDICTION_LOG_URI (request.json),
    else the local jobs' environment; "" for none. An s3:// URI only (the runtime checks the rest)."""
    try:
        asked = json.loads((folder / "request.json").read_text(encoding="utf-8")).get("prediction_log_uri")
    except (OSError, ValueError, AttributeError):
        asked = None
    uri = asked if isinstance(asked, str) and asked.strip() else env.get("PREDICTION_LOG_URI", "")
    uri = uri.strip()
    if uri and (not uri.startswith("s3://") or any(c.isspace() or c in "@?#" for c in uri) or len(uri) > 512):
        raise ServingRefused("PREDICTION_LOG_URI must be s3://bucket/prefix")
    return uri


class LocalServing:
    """The stable front port, the request watcher and the MLServer processes of one workspace."""

    def __init__(self, folder: str | os.PathLike, port: int = 0, ready_timeout: float = 90.0, grace: float = 10.0,
                 env: dict | None = None):  # fmt: skip
        self.dir = Path(folder)  # made by the caller, symbolic-link safe (the local backend's store)
        self.port, self.ready_timeout, self.grace = port, ready_timeout, grace
        self.env = dict(env or {})  # the local jobs' object-store env (+ PREDICTION_LOG_URI): children only
        self.current: Instance | None = None
        self.instances: list[Instance] = []
        self._front: Front | None = None
        self._watch: asyncio.Task | None = None
        atexit.register(self._kill_all_now)

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    async def start(self) -> None:
        """Listen on the front port and watch for requests (idempotent)."""
        if self._front is None:
            (self.dir / "requests").mkdir(parents=True, exist_ok=True)
            self._front = Front(lambda: self.current)
            self.port = self._front.start(self.port or self._last_port())
            _write_json(self.dir / "front.json", {"url": self.url})
        if self._watch is None or self._watch.done():
            self._watch = asyncio.create_task(self._watch_requests())

    def _last_port(self) -> int:
        """The port of this workspace's previous front, so the URL stays the same across restarts."""
        try:
            port = int(json.loads((self.dir / "front.json").read_text(encoding="utf-8"))["url"].rsplit(":", 1)[1])
        except (OSError, ValueError, KeyError, TypeError, IndexError):
            return 0
        return port if 1024 <= port <= 65535 else 0

    async def close(self) -> None:
        if self._watch is not None:
            self._watch.cancel()
            await asyncio.gather(self._watch, return_exceptions=True)
        if self._front is not None:
            await self._front.stop()
            self._front = None
        for instance in list(self.instances):
            await self._stop(instance)
        self.current = None
        (self.dir / "current.json").unlink(missing_ok=True)

    def _kill_all_now(self) -> None:
        for instance in self.instances:
            if instance.process is not None and instance.process.returncode is None:
                try:
                    os.killpg(instance.process.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass

    # ---- requests ----------------------------------------------------------------------
    async def _watch_requests(self) -> None:
        while True:
            try:
                await self._watch_once()
            except Exception:  # noqa: BLE001 - the watch must go on: the next request still gets served
                log.exception("local serving: watching %s failed", self.dir)
            await asyncio.sleep(POLL_SECONDS)

    async def _watch_once(self) -> None:
        dead = self.current
        if dead is not None and dead.process.returncode is not None and dead.restarts < MAX_RESTARTS:
            await self._revive(dead)
        found = []
        for marker in (self.dir / "requests").glob("*/request.json"):
            try:
                found.append((marker.stat().st_mtime, marker.parent))
            except FileNotFoundError:
                continue
        for _, request in sorted(found):
            try:
                await self.deploy(request)
            except OSError as exc:  # a request moved or unreadable: the next one still gets served
                _write_json(self.dir / "status" / f"{request.name}.json",
                            {"id": request.name, "state": "failed", "reason": str(exc)})  # fmt: skip

    async def _revive(self, dead: Instance) -> None:
        """The serving model's process died: start it again from its folder (the front answers
        502 meanwhile); a failed try counts, and after MAX_RESTARTS the next deploy decides."""
        if dead in self.instances:
            self.instances.remove(dead)
        dead.restarts += 1
        try:
            instance = await self._start_instance(dead.name, dead.version, dead.folder, dead.prediction_log)
            await self._wait_ready(instance)
        except ServingRefused:
            return
        instance.restarts = dead.restarts
        if self.current is dead:
            self.current = instance
            _write_json(self.dir / "current.json", {**instance.describe(), "url": self.url, "restarts": instance.restarts})
        else:
            await self._stop(instance)

    async def deploy(self, request: Path) -> dict:
        """Serve the model folder handed over at ``requests/<id>/``; returns the final status."""
        request_id = request.name
        release = self.dir / "releases" / request_id
        release.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.replace(request, release)  # taken: the watcher never sees it twice
        except FileNotFoundError:
            return {"id": request_id, "state": "taken"}  # another deploy() took it first
        status_path = self.dir / "status" / f"{request_id}.json"
        status = {"id": request_id, "state": "starting", "url": self.url}
        _write_json(status_path, status)
        try:
            name, version = read_request(release)
            instance = await self._start_instance(name, version, release, prediction_log_uri(release, self.env))
            status.update(state="checking", **instance.describe())
            _write_json(status_path, status)
            await self._wait_ready(instance)
        except ServingRefused as exc:
            status.update(state="failed", reason=str(exc))
            _write_json(status_path, status)
            return status
        old, self.current = self.current, instance
        _write_json(self.dir / "current.json", {**instance.describe(), "url": self.url, "request": request_id})
        status.update(state="serving", previous=old.version if old else None)
        _write_json(status_path, status)
        if old is not None:
            await self._drain_and_stop(old)
        self._prune_releases()
        return status

    def _prune_releases(self, keep: int = 3) -> None:
        """The newest few model folders stay (with their logs); those no server uses go."""
        in_use = {i.folder for i in self.instances}
        folders = sorted((p for p in (self.dir / "releases").iterdir() if p.is_dir()), key=lambda p: p.stat().st_mtime)
        for folder in folders[:-keep]:
            if folder not in in_use:
                shutil.rmtree(folder, ignore_errors=True)

    async def _start_instance(self, name: str, version: str, folder: Path, log_uri: str = "") -> Instance:
        http, grpc, metrics = _free_ports(3)
        instance = Instance(name, version, folder, http, grpc, metrics, prediction_log=log_uri)
        # MLServer's settings from the environment (pydantic settings, prefix MLSERVER_):
        # https://mlserver.readthedocs.io/en/stable/reference/settings.html
        env = {k: os.environ[k] for k in ("PATH", "HOME", "LANG", "LC_ALL", "TZ") if k in os.environ}
        env.update(MLSERVER_HOST=LOOPBACK, MLSERVER_HTTP_PORT=str(http), MLSERVER_GRPC_PORT=str(grpc),
                   MLSERVER_METRICS_PORT=str(metrics), MLSERVER_PARALLEL_WORKERS="0",
                   MLSERVER_DEBUG="false")  # debug (its default) sends tracebacks to clients  # fmt: skip
        env.update({k: v for k, v in self.env.items() if k != "PREDICTION_LOG_URI"})
        if log_uri:  # the runtime's spool: beside the model, so a revived process finds its lines
            env.update(PREDICTION_LOG_URI=log_uri, PREDICTION_LOG_SPOOL_DIR=str(folder / "prediction-log"))
        with open(folder / "mlserver.log", "ab") as log:
            instance.process = await asyncio.create_subprocess_exec(
                mlserver_command(), "start", str(folder), cwd=folder, env=env, stdin=asyncio.subprocess.DEVNULL,
                stdout=log, stderr=asyncio.subprocess.STDOUT, start_new_session=True, preexec_fn=_die_with_parent,
            )  # fmt: skip
        self.instances.append(instance)
        return instance

    async def _wait_ready(self, instance: Instance) -> None:
        url = f"http://{LOOPBACK}:{instance.http}/v2/models/{instance.name}/versions/{instance.version}/ready"
        deadline = time.monotonic() + self.ready_timeout
        while time.monotonic() < deadline:
            if instance.process.returncode is not None:
                await self._stop(instance)
                raise ServingRefused(f"MLServer exited (code {instance.process.returncode}); see {instance.folder / 'mlserver.log'}")
            if await asyncio.to_thread(_answers_200, url):
                return
            await asyncio.sleep(0.3)
        await self._stop(instance)
        raise ServingRefused(f"the model was not ready within {self.ready_timeout:.0f} s; see {instance.folder / 'mlserver.log'}")

    async def _drain_and_stop(self, instance: Instance) -> None:
        deadline = time.monotonic() + self.grace
        while instance.connections and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        await self._stop(instance)

    async def _stop(self, instance: Instance) -> None:
        """SIGTERM to its process group (MLServer stops cleanly on it), SIGKILL after 10 s."""
        process = instance.process
        if process is not None and process.returncode is None:
            for sig in (signal.SIGTERM, signal.SIGKILL):
                try:
                    os.killpg(process.pid, sig)
                except ProcessLookupError:
                    break
                try:
                    await asyncio.wait_for(process.wait(), 10)
                    break
                except asyncio.TimeoutError:
                    continue
        if instance in self.instances:
            self.instances.remove(instance)


def _answers_200(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False
