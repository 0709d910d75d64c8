"""A real JupyterHub (with configurable-http-proxy) on free loopback ports, for tests.

Uses hybridhub's local spawner and shared-password logins; ``extra_config`` is appended to
the generated config file so each suite adds what it tests. Always stopped, with every
process it started.
"""

from __future__ import annotations

import secrets
import subprocess
import sys
import textwrap
import time
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from hybridhub.hub_ext.demo.children import die_with_parent
from hybridhub.hub_ext.demo.ports import free_ports
from hybridhub.hub_ext.demo.preflight import find_binary
from hybridhub.hub_ext.demo.supervisor import stop_process_tree

USER_PASSWORD = "hybridhub-test-pw"
ADMIN_PASSWORD = "hybridhub-test-admin-password-0123456789"


@dataclass
class RunningHub:
    url: str  # public URL with trailing slash
    api_token: str  # a service token with admin scopes, for test set-up
    process: subprocess.Popen
    log_path: Path
    workdir: Path

    def api(self, method: str, path: str, **kwargs):
        import requests

        headers = {"Authorization": f"token {self.api_token}", **kwargs.pop("headers", {})}
        return requests.request(method, self.url + "hub/api/" + path, headers=headers, timeout=30, **kwargs)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def _config(workdir: Path, public: int, proxy_api: int, hub_port: int, token: str, users, admin) -> str:
    return textwrap.dedent(
        f"""
        c.JupyterHub.ip = "127.0.0.1"
        c.JupyterHub.port = {public}
        c.JupyterHub.hub_ip = "127.0.0.1"
        c.JupyterHub.hub_port = {hub_port}
        c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:{proxy_api}"
        c.ConfigurableHTTPProxy.command = [{find_binary("configurable-http-proxy")!r}]
        c.JupyterHub.db_url = "sqlite:///{workdir / 'jupyterhub.sqlite'}"
        c.JupyterHub.cookie_secret_file = "{workdir / 'cookie_secret'}"
        c.JupyterHub.authenticator_class = "shared-password"
        c.SharedPasswordAuthenticator.user_password = {USER_PASSWORD!r}
        c.SharedPasswordAuthenticator.admin_password = {ADMIN_PASSWORD!r}
        c.Authenticator.allowed_users = {set(users)!r}
        c.Authenticator.admin_users = {{{admin!r}}}
        c.JupyterHub.spawner_class = "hybridhub.spawner.local.HybridLocalSpawner"
        c.HybridLocalSpawner.home_dir_template = "{workdir / 'users' / '{username}'}"
        c.Spawner.start_timeout = 120
        c.Spawner.http_timeout = 120
        c.JupyterHub.services = [{{"name": "test-admin", "api_token": {token!r}}}]
        c.JupyterHub.load_roles = [{{
            "name": "test-admin",
            "scopes": ["admin:users", "admin:servers", "admin:groups", "admin:server_state", "list:users"],
            "services": ["test-admin"],
        }}]
        """
    )


@contextmanager
def running_hub(workdir: Path, extra_config: str = "", users=("alice", "bob"), admin: str = "admin", timeout: float = 90):
    workdir.mkdir(parents=True, exist_ok=True)
    public, proxy_api, hub_port = free_ports(3)
    token = secrets.token_hex(16)
    config_path = workdir / "jupyterhub_config.py"
    config_path.write_text(_config(workdir, public, proxy_api, hub_port, token, users, admin) + textwrap.dedent(extra_config))
    log_path = workdir / "jupyterhub.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "jupyterhub", "-f", str(config_path)],
            cwd=workdir,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=die_with_parent,
        )
    hub = RunningHub(f"http://127.0.0.1:{public}/", token, process, log_path, workdir)
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"JupyterHub exited during start-up:\n{hub.log()[-3000:]}")
            try:
                with urllib.request.urlopen(hub.url + "hub/api/", timeout=2):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"JupyterHub did not start:\n{hub.log()[-3000:]}") from None
                time.sleep(0.3)
        yield hub
    finally:
        stop_process_tree(process)
