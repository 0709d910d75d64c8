"""Talking to the hub REST API and to user servers (through the proxy) for the culler.

One small client over ``httpx.AsyncClient``; the transport is injectable, so the benchmark
and unit tests can answer without a network. Every call carries the service's own API token
in an ``Authorization`` header and nothing else; tokens never appear in log lines.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from urllib.parse import quote

import httpx

from .policy import ActivityReport


@dataclass
class HubClient:
    """Hub API calls (``api_url``: $JUPYTERHUB_API_URL) and user-server calls (``proxy_url``)."""

    api_url: str
    proxy_url: str
    token: str
    timeout: float = 10.0
    transport: httpx.AsyncBaseTransport | None = None
    concurrency: int = 10

    def __post_init__(self) -> None:
        self.api_url = self.api_url.rstrip("/")
        self.proxy_url = self.proxy_url.rstrip("/")
        self._client = httpx.AsyncClient(
            headers={"Authorization": f"token {self.token}"},
            timeout=self.timeout,
            transport=self.transport,
            limits=httpx.Limits(max_connections=self.concurrency),
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    async def users(self) -> list[dict]:
        """All users that have a server (ready or pending), following the hub's pagination."""
        users: list[dict] = []
        url: str | None = f"{self.api_url}/users?state=active&limit=200"
        while url:
            response = await self._client.get(url, headers={"Accept": "application/jupyterhub-pagination+json"})
            response.raise_for_status()
            body = response.json()
            if isinstance(body, list):  # a hub without pagination
                return body
            users.extend(body["items"])
            following = body.get("_pagination", {}).get("next")
            url = following["url"] if following else None
        return users

    def _server_url(self, server: dict, path: str) -> str:
        return f"{self.proxy_url}{server['url'].rstrip('/')}/hybridhub/{path}"

    async def activity(self, server: dict) -> ActivityReport:
        """The server's activity report; an unavailable report says why in one line."""
        try:
            response = await self._client.get(self._server_url(server, "activity"))
        except httpx.HTTPError as error:
            return ActivityReport.unavailable(f"{type(error).__name__}")
        if response.status_code != 200:
            return ActivityReport.unavailable(f"HTTP {response.status_code}")
        try:
            return ActivityReport.from_json(response.json())
        except (ValueError, TypeError, AttributeError) as error:
            return ActivityReport.unavailable(f"unreadable report: {error}")

    async def warn(self, server: dict, body: dict) -> bool:
        """Tell the server (and so the user's browser) that a cull is coming."""
        try:
            response = await self._client.post(self._server_url(server, "activity/warning"), content=json.dumps(body))
        except httpx.HTTPError:
            return False
        return response.status_code == 200

    async def stop(self, user: str, server_name: str, remove_named: bool = False) -> int:
        """Ask the hub to stop one server; returns the HTTP status (202: stopping, 204: stopped)."""
        if server_name:
            url = f"{self.api_url}/users/{quote(user)}/servers/{quote(server_name)}"
            content = json.dumps({"remove": True}) if remove_named else None
        else:
            url = f"{self.api_url}/users/{quote(user)}/server"
            content = None
        response = await self._client.request("DELETE", url, content=content)
        if response.status_code not in (202, 204, 404):
            response.raise_for_status()
        return response.status_code
