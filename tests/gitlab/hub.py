"""A real JupyterHub (subprocess) logging in through the GitLab stand-in, for the login tests."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin

import requests

from hybridhub.hub_ext.demo.ports import free_ports
from tests import hubclient

CONFIG = """
from hybridhub.hub_ext.gitlab import TEMPLATE_DIR
c = get_config()
c.JupyterHub.ip = "127.0.0.1"
c.JupyterHub.port = {port}
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = {hub_port}
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:{proxy_port}"
c.JupyterHub.db_url = "sqlite:///{root}/jupyterhub.sqlite"
c.JupyterHub.cookie_secret_file = "{root}/cookie_secret"
c.JupyterHub.pid_file = "{root}/jupyterhub.pid"
c.JupyterHub.cleanup_servers = True
c.JupyterHub.template_paths = [TEMPLATE_DIR]

# --- what an admin writes for GitLab login (docs/gitlab.md) ---
c.JupyterHub.authenticator_class = "hybridhub.hub_ext.gitlab.HybridGitLabOAuthenticator"
c.HybridGitLabOAuthenticator.gitlab_url = "{gitlab_url}"
c.HybridGitLabOAuthenticator.client_id = "{client_id}"
c.HybridGitLabOAuthenticator.client_secret = "{client_secret}"
c.HybridGitLabOAuthenticator.oauth_callback_url = "{callback}"
c.HybridGitLabOAuthenticator.allowed_groups = {{"ml-team"}}
c.HybridGitLabOAuthenticator.admin_groups = {{"hub-admins"}}
c.HybridSpawner.gitlab_url = "{gitlab_url}"
# ---

c.JupyterHub.spawner_class = "hybridhub.spawner.local.HybridLocalSpawner"
c.HybridLocalSpawner.home_dir_template = "{root}/users/{{username}}"
c.Spawner.start_timeout = 60
c.Spawner.http_timeout = 60
c.JupyterHub.services = [{{"name": "tester", "api_token": "{service_token}"}}]
c.JupyterHub.load_roles = [
    {{"name": "tester", "services": ["tester"],
      "scopes": ["admin:users", "admin:servers", "admin:auth_state", "tokens", "access:servers", "list:users"]}},
]
"""


@dataclass
class Hub:
    url: str  # public URL, e.g. http://127.0.0.1:8000/
    root: Path
    process: subprocess.Popen
    service_token: str
    log_path: Path

    def api(self, method: str, path: str, **kwargs) -> requests.Response:
        headers = {"Authorization": f"token {self.service_token}", **kwargs.pop("headers", {})}
        return requests.request(method, urljoin(self.url, "hub/api/" + path), headers=headers, timeout=30, **kwargs)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def start_hub(root: Path, gitlab, extra_config: str = "") -> Hub:
    root.mkdir(parents=True, exist_ok=True)
    port, hub_port, proxy_port = free_ports(3)
    url = f"http://127.0.0.1:{port}/"
    client_id, client_secret = gitlab.world.register_app(f"{url}hub/oauth_callback")
    service_token = secrets.token_hex(16)
    (root / "jupyterhub_config.py").write_text(
        CONFIG.format(
            port=port, hub_port=hub_port, proxy_port=proxy_port, root=root, gitlab_url=gitlab.url,
            client_id=client_id, client_secret=client_secret, callback=f"{url}hub/oauth_callback",
            service_token=service_token,
        ) + extra_config
    )  # fmt: skip
    env = {**os.environ, "JUPYTERHUB_CRYPT_KEY": secrets.token_hex(32)}
    env["PATH"] = f"{Path(sys.executable).parent}:{env['PATH']}"
    log_path = root / "hub.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "jupyterhub", "-f", str(root / "jupyterhub_config.py"), "--debug"],
            cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    hub = Hub(url, root, process, service_token, log_path)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the hub exited:\n{hub.log()[-4000:]}")
        try:
            if requests.get(urljoin(url, "hub/api/"), timeout=2).status_code == 200:
                return hub
        except requests.RequestException:
            pass
        time.sleep(0.3)
    hub.stop()
    raise AssertionError(f"the hub did not start:\n{hub.log()[-4000:]}")


def clone_home(root: Path, gitlab, project, username: str) -> Path:
    """``username``'s home folder under the hub root: a clone of ``project`` with its GitLab remote."""
    home = root / "hub" / "users" / username
    home.parent.mkdir(parents=True, exist_ok=True)
    for args in (["clone", "-q", str(project.repo), str(home)], ["-C", str(home), "remote", "set-url", "origin",
                 f"{gitlab.url}/{project.path_with_namespace}.git"]):  # fmt: skip
        subprocess.run(["git", *args], check=True, capture_output=True)
    return home


@contextmanager
def serving(root: Path, gitlab, extra_config: str = ""):
    """A hub in ``root/hub`` for the running stand-in; both stop at the end, and the stand-in
    must have seen no request it does not understand."""
    hub = start_hub(root / "hub", gitlab, extra_config)
    try:
        yield hub
    finally:
        hub.stop()
        gitlab.stop()
    assert gitlab.violations == []


def gitlab_login(hub: Hub, gitlab, user) -> tuple[requests.Session, requests.Response]:
    """The browser's OAuth dance, one redirect at a time: hub → GitLab authorize → hub callback."""
    session = requests.Session()
    session.cookies.set("_gitlab_session", gitlab.world.sign_in(user), domain="127.0.0.1", path="/")
    start = session.get(urljoin(hub.url, "hub/oauth_login"), allow_redirects=False, timeout=30)
    assert start.status_code == 302, start.text
    assert start.headers["Location"].startswith(f"{gitlab.url}/oauth/authorize?")
    authorize = session.get(start.headers["Location"], allow_redirects=False, timeout=30)
    assert authorize.status_code == 302, authorize.text
    callback = session.get(authorize.headers["Location"], allow_redirects=False, timeout=30)
    return session, callback


def wait_ready(hub: Hub, username: str, timeout: float = 60) -> dict:
    return hubclient.wait_ready(hub, username, timeout, failure=lambda model: "\n" + hub.log()[-3000:])


def server_environ(hub: Hub, username: str) -> dict[str, str]:
    """The process environment of ``username``'s running server (a child of this hub), read
    from /proc as code running in that server would see it."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            raw = (entry / "environ").read_bytes()
        except (OSError, ValueError, IndexError):
            continue
        env = dict(item.split("=", 1) for item in raw.decode(errors="replace").split("\0") if "=" in item)
        if parent == hub.process.pid and env.get("JUPYTERHUB_USER") == username:
            return env
    raise AssertionError(f"no running server process of {username}")


def stop_server(hub: Hub, username: str, timeout: float = 30) -> None:
    hub.api("DELETE", f"users/{username}/server")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not hub.api("GET", f"users/{username}").json().get("servers"):
            return
        time.sleep(0.3)
    raise AssertionError(f"{username}'s server did not stop")
