"""The culler's calls to the hub REST API (and only to the hub: never to user servers).

One small client over tornado's ``AsyncHTTPClient`` (JupyterHub's own HTTP stack, also what
jupyterhub-idle-culler uses). The ``fetch`` coroutine is injectable, so the benchmark and unit
tests can answer without a network. Every call carries the service's own API token in an
``Authorization`` header, except :meth:`HubClient.identify`, which asks the hub who holds a
token a user server presented; tokens never appear in log lines.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Awaitable, Callable
from urllib.parse import quote

from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest, HTTPResponse

Fetch = Callable[[HTTPRequest], Awaitable[HTTPResponse]]


class HubError(RuntimeError):
    """The hub answered a culler request with an error status."""


@dataclass
class HubClient:
    """Hub API calls (``api_url``: $JUPYTERHUB_API_URL)."""

    api_url: str
    token: str
    timeout: float = 10.0
    fetch: Fetch | None = None
    concurrency: int = 10

    def __post_init__(self) -> None:
        self.api_url = self.api_url.rstrip("/")
        self._http = None
        if self.fetch is None:
            self._http = AsyncHTTPClient(force_instance=True, max_clients=self.concurrency)
            self.fetch = self._http.fetch
        self._slots = asyncio.Semaphore(self.concurrency)

    async def aclose(self) -> None:
        if self._http is not None:
            self._http.close()

    async def _request(self, method: str, url: str, body: str | None = None, token: str = "", **headers: str) -> HTTPResponse:
        request = HTTPRequest(
            url,
            method=method,
            body=body,
            headers={"Authorization": f"token {token or self.token}", **headers},
            request_timeout=self.timeout,
            connect_timeout=self.timeout,
            allow_nonstandard_methods=True,
            follow_redirects=False,
        )
        async with self._slots:
            try:
                return await self.fetch(request, raise_error=False)
            except HTTPClientError as error:  # a fetch that raises anyway (e.g. a test double)
                if error.response is None:
                    raise
                return error.response

    async def users(self) -> list[dict]:
        """All users that have a server (ready or pending), following the hub's pagination."""
        users: list[dict] = []
        url: str | None = f"{self.api_url}/users?state=active&limit=200"
        while url:
            response = await self._request("GET", url, Accept="application/jupyterhub-pagination+json")
            if response.code != 200:
                raise HubError(f"listing users: HTTP {response.code}")
            body = json.loads(response.body)
            if isinstance(body, list):  # a hub without pagination
                return body
            users.extend(body["items"])
            following = body.get("_pagination", {}).get("next")
            url = following["url"] if following else None
        return users

    async def identify(self, token: str) -> dict | None:
        """The hub's model of whoever holds ``token`` (with its ``scopes``), None if unknown."""
        response = await self._request("GET", f"{self.api_url}/user", token=token)
        if response.code in (401, 403, 404):
            return None
        if response.code != 200:
            raise HubError(f"identifying a token: HTTP {response.code}")
        return json.loads(response.body)

    async def stop(self, user: str, server_name: str, remove_named: bool = False) -> int:
        """Ask the hub to stop one server; returns the HTTP status (202: stopping, 204: stopped)."""
        if server_name:
            url = f"{self.api_url}/users/{quote(user)}/servers/{quote(server_name)}"
            body = json.dumps({"remove": True}) if remove_named else None
        else:
            url = f"{self.api_url}/users/{quote(user)}/server"
            body = None
        response = await self._request("DELETE", url, body)
        if response.code not in (202, 204, 404):
            raise HubError(f"stopping {user}/{server_name}: HTTP {response.code}")
        return response.code
