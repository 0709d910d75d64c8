"""A real JupyterHub with the hybridhub culler as a managed service, for the culling tests.

One hub per test module (see ``hub`` fixtures): HybridLocalSpawner user servers, a test
profile catalog with timeouts of seconds, shared-password logins, the culler with the
least-privilege role documented in docs/culling.md and a token the tests know (to look for it
where it must never be). User servers report to the culler every second and record every
request they receive (``header_recorder``). Everything it starts is stopped in ``stop()``
(hub, proxy, culler, user servers), whatever happened.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import requests

from hybridhub.hub_ext.demo.ports import free_ports
from tests.hubclient import HubSession, login

VENV_BIN = Path(sys.executable).parent
CULLER_NAME = "hybridhub-culler"
CULLER_SCOPES = ["list:users", "read:users:name", "read:servers", "delete:servers"]
REPO_ROOT = Path(__file__).resolve().parents[2]

TEST_PROFILES = [
    # cull after 6 s idle (warning 2 s ahead)
    {"slug": "quick", "pool": "cpu", "idle_timeout_seconds": 6, "max_age_seconds": 3600, "default": True},
    # never idle-culled within a test, but at most 12 s old
    {"slug": "short-life", "pool": "cpu", "idle_timeout_seconds": 3600, "max_age_seconds": 12},
    # its start is slowed down by the test hub's pre_spawn_hook
    {"slug": "slow", "pool": "cpu", "idle_timeout_seconds": 2, "max_age_seconds": 3600},
    # never culled within a test
    {"slug": "lab", "pool": "cpu", "idle_timeout_seconds": 3600, "max_age_seconds": 3600},
    # for the browser test's own hub (warnings 45 s ahead): time for JupyterLab to load and a person to act
    {"slug": "lab-warned", "pool": "cpu", "idle_timeout_seconds": 60, "max_age_seconds": 3600},
]


def profile_entries() -> list[dict]:
    common = {"image": "local", "cpu_request": 0.1, "cpu_limit": 1, "memory_request": "256M", "memory_limit": "1G"}
    return [{**common, "display_name": {"en": p["slug"], "ja": p["slug"]}, **p} for p in TEST_PROFILES]


HUB_CONFIG = """
import asyncio, json
c = get_config()  # noqa
settings = json.loads({settings!r})
c.JupyterHub.ip = "127.0.0.1"
c.JupyterHub.port = settings["port"]
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = settings["hub_port"]
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:%d" % settings["proxy_api_port"]
c.ConfigurableHTTPProxy.command = [settings["chp"]]
c.JupyterHub.db_url = "sqlite:///" + settings["dir"] + "/jupyterhub.sqlite"
c.JupyterHub.cookie_secret_file = settings["dir"] + "/cookie_secret"
c.JupyterHub.cleanup_servers = True
c.JupyterHub.last_activity_interval = 2  # so the hub's own (proxy) activity is fresh
c.JupyterHub.allow_named_servers = True
c.JupyterHub.tornado_settings = {{"slow_spawn_timeout": 0}}  # spawn requests answer 202 at once
c.JupyterHub.authenticator_class = "shared-password"
c.SharedPasswordAuthenticator.user_password = settings["user_password"]
c.SharedPasswordAuthenticator.admin_password = settings["admin_password"]
c.Authenticator.allow_all = True
c.Authenticator.admin_users = {{"admin"}}
c.JupyterHub.spawner_class = "hybridhub.spawner.local.HybridLocalSpawner"
c.HybridLocalSpawner.home_dir_template = settings["dir"] + "/users/{{username}}"
c.Spawner.start_timeout = 60
c.Spawner.http_timeout = 60
c.Spawner.args = [
    "--ActivityMonitor.sample_seconds=0.5",
    "--ActivityReporter.report_seconds=1",
    "--ActivityReporter.warning_report_seconds=0.5",
    "--ServerApp.jpserver_extensions=tests.culling.header_recorder=True",
]
c.Spawner.environment = {{
    "HYBRIDHUB_CULLER_URL": "http://127.0.0.1:%d/services/{culler}/" % settings["culler_port"],
    "HYBRIDHUB_TEST_HEADER_LOG": settings["header_log"],
}}
c.ProfileCatalog.profiles = settings["profiles"]

async def slow_start(spawner):
    if (spawner.user_options or {{}}).get("profile") == "slow":
        await asyncio.sleep(6)
c.Spawner.pre_spawn_hook = slow_start

c.JupyterHub.services = [{{
    "name": "{culler}",
    "command": settings["culler_command"],
    "url": "http://127.0.0.1:%d" % settings["culler_port"],
    "api_token": settings["culler_token"],
    "oauth_no_confirm": True,
}}]
c.JupyterHub.load_roles = [{{"name": "{culler}", "scopes": settings["culler_scopes"], "services": ["{culler}"]}}]
"""

CULLER_CONFIG = """
import json
c = get_config()  # noqa
c.ProfileCatalog.profiles = json.loads({profiles!r})
c.HybridCuller.interval = 1
c.HybridCuller.report_timeout_seconds = 5
c.HybridCuller.warn_before_seconds = 2
c.HybridCuller.save_grace_seconds = 4
c.HybridCuller.request_timeout = 5
{extra}
"""


@dataclass
class CullingHub:
    directory: Path
    culler_extra: str = ""
    port: int = 0
    user_password: str = field(default_factory=lambda: secrets.token_urlsafe(16))
    admin_password: str = field(default_factory=lambda: secrets.token_urlsafe(40))
    culler_token: str = field(default_factory=lambda: secrets.token_hex(32))
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    @property
    def header_log(self) -> Path:
        return self.directory / "headers"

    def received(self, user: str) -> list[dict]:
        """Every request the user's servers finished (header_recorder), oldest first."""
        path = self.header_log / f"{user}.jsonl"
        return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []

    def report(self, token: str, user: str, server: str = "", report: dict | None = None) -> requests.Response:
        """POST an activity report to the culler through the proxy, as a user server does."""
        body = {"user": user, "server": server, "report": report or {"busy": False}}
        return requests.post(f"{self.url}services/{CULLER_NAME}/report", json=body,
                             headers={"Authorization": f"token {token}"}, timeout=10)

    @property
    def log_path(self) -> Path:
        return self.directory / "hub.log"

    def start(self, timeout: float = 60) -> "CullingHub":
        self.port, hub_port, proxy_api_port, culler_port = free_ports(4)
        profiles = profile_entries()
        culler_config = self.directory / "culler_config.py"
        culler_config.write_text(CULLER_CONFIG.format(profiles=json.dumps(profiles), extra=self.culler_extra))
        self.header_log.mkdir(exist_ok=True)
        settings = {
            "port": self.port,
            "hub_port": hub_port,
            "proxy_api_port": proxy_api_port,
            "culler_port": culler_port,
            "chp": str(VENV_BIN / "configurable-http-proxy"),
            "dir": str(self.directory),
            "user_password": self.user_password,
            "admin_password": self.admin_password,
            "profiles": profiles,
            "culler_command": [sys.executable, "-m", "hybridhub.hub_ext.culler", f"--config={culler_config}"],
            "culler_scopes": CULLER_SCOPES,
            "culler_token": self.culler_token,
            "header_log": str(self.header_log),
        }
        config = self.directory / "jupyterhub_config.py"
        config.write_text(HUB_CONFIG.format(settings=json.dumps(settings), culler=CULLER_NAME))
        log = self.log_path.open("w")
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])))
        self.process = subprocess.Popen(
            [str(VENV_BIN / "jupyterhub"), "-f", str(config)],
            cwd=self.directory,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"hub exited:\n{self.log()}")
            if "JupyterHub is now running" in self.log() and "hybridhub culler: every" in self.log():
                return self
            time.sleep(0.3)
        raise AssertionError(f"hub did not start:\n{self.log()}")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        try:
            tree = [psutil.Process(self.process.pid), *psutil.Process(self.process.pid).children(recursive=True)]
        except psutil.NoSuchProcess:
            tree = []
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        _, alive = psutil.wait_procs(tree, timeout=10)
        for process in alive:  # a user server or kernel the hub did not stop
            process.kill()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def culler_lines(self, action: str, key: str) -> list[str]:
        pattern = re.compile(rf"HybridCuller\] (\[dry run\] )?{re.escape(action)} {re.escape(key)}: ")
        return [line for line in self.log().splitlines() if pattern.search(line)]

    def login(self, user: str) -> HubSession:
        return login(self.url, user, self.admin_password if user == "admin" else self.user_password)

    def token(self, session: HubSession, user: str, scopes: list[str] | None = None) -> str:
        body = {"note": "culling test", "expires_in": 600, **({"scopes": scopes} if scopes is not None else {})}
        response = session.api("POST", f"users/{user}/tokens", json=body)
        assert response.status_code == 201, response.text
        return response.json()["token"]

    def server(self, session: HubSession, user: str, name: str = "") -> dict | None:
        return session.api("GET", f"users/{user}").json().get("servers", {}).get(name)

    def user_get(self, token: str, user: str, path: str, **kwargs) -> requests.Response:
        return requests.get(f"{self.url}user/{user}/{path}", headers={"Authorization": f"token {token}"}, timeout=10, **kwargs)

    def user_post(self, token: str, user: str, path: str, **kwargs) -> requests.Response:
        return requests.post(f"{self.url}user/{user}/{path}", headers={"Authorization": f"token {token}"}, timeout=10, **kwargs)

    def decisions(self, token: str) -> requests.Response:
        return requests.get(
            f"{self.url}services/{CULLER_NAME}/decisions", headers={"Authorization": f"token {token}"}, timeout=10, allow_redirects=False
        )


@contextmanager
def running_hub(directory: Path, culler_extra: str = ""):
    """A started CullingHub with an admin session (``hub.admin``); always stopped."""
    hub = CullingHub(directory, culler_extra=culler_extra)
    try:
        hub.start()
        hub.admin = hub.login("admin")
        yield hub
    finally:
        hub.stop()
