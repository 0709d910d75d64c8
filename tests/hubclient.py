"""A browser-like client of a real JupyterHub: login form, XSRF, spawning, reaching JupyterLab."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

import requests


@dataclass
class HubSession:
    base_url: str  # e.g. http://127.0.0.1:8000/
    session: requests.Session

    @property
    def xsrf(self) -> str:
        return self.session.cookies.get("_xsrf", path="/hub/") or self.session.cookies.get("_xsrf") or ""

    def api(self, method: str, path: str, **kwargs) -> requests.Response:
        headers = kwargs.pop("headers", {})
        headers["X-XSRFToken"] = self.xsrf
        return self.session.request(method, self.base_url + "hub/api/" + path, headers=headers, timeout=30, **kwargs)


def login(base_url: str, username: str, password: str) -> HubSession:
    """Log in through the hub's login form, as a browser does."""
    session = requests.Session()
    page = session.get(base_url + "hub/login", timeout=30)
    page.raise_for_status()
    match = re.search(r'name="_xsrf"[^>]*value="([^"]+)"', page.text)
    data = {"username": username, "password": password}
    if match:
        data["_xsrf"] = match.group(1)
    response = session.post(base_url + "hub/login", data=data, timeout=30, allow_redirects=False)
    if response.status_code != 302:
        raise AssertionError(f"login as {username} failed: HTTP {response.status_code}")
    return HubSession(base_url, session)


def start_server(hub: HubSession, username: str, timeout: float = 120, options: dict | None = None) -> dict:
    """Ask the hub to start the user's server and wait until it is ready."""
    response = hub.api("POST", f"users/{username}/server", json=options or {})
    if response.status_code not in (201, 202):
        raise AssertionError(f"spawn request failed: HTTP {response.status_code} {response.text}")
    return wait_ready(hub, username, timeout)


def open_lab(base_url: str, username: str, password: str, extension_route: str) -> tuple[HubSession, str, str]:
    """Log in, start the server, load JupyterLab once (which sets the server's XSRF cookie).

    Returns the session, the URL of ``<server>/hybridhub/<extension_route>/`` and the XSRF token
    to send with that server's non-GET requests.
    """
    hub = login(base_url, username, password)
    start_server(hub, username)
    server = f"{base_url}user/{username}/"
    lab = hub.session.get(server + "lab", timeout=60)
    if lab.status_code != 200:
        raise AssertionError(f"JupyterLab of {username}: HTTP {lab.status_code}")
    xsrf = hub.session.cookies.get("_xsrf", path=f"/user/{username}/")
    return hub, f"{server}hybridhub/{extension_route}/", xsrf


def wait_ready(hub, username: str, timeout: float = 120, failure=lambda model: str(model)) -> dict:
    """Wait for a spawn under way (``hub`` has ``api(method, path)``); ``failure`` describes a
    spawn that ended without a server."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        model = hub.api("GET", f"users/{username}").json()
        server = model.get("servers", {}).get("")
        if server and server.get("ready"):
            return server
        if not model.get("pending") and not server:
            raise AssertionError(f"spawn of {username} failed: {failure(model)}")
        time.sleep(0.3)
    raise AssertionError(f"{username}'s server was not ready within {timeout} s")


def stop_server(hub: HubSession, username: str, timeout: float = 60) -> None:
    response = hub.api("DELETE", f"users/{username}/server")
    if response.status_code not in (202, 204):
        raise AssertionError(f"stop request failed: HTTP {response.status_code} {response.text}")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        model = hub.api("GET", f"users/{username}").json()
        if not model.get("servers"):
            return
        time.sleep(0.5)
    raise AssertionError(f"{username}'s server did not stop within {timeout} s")
