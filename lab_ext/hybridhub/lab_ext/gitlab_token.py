"""The server's GitLab access token, renewed through the hub before it expires or when GitLab
refused it — without restarting the server.

GitLab's OAuth tokens live two hours. The hub holds the refresh token; this server holds only
the access token (``HYBRIDHUB_GITLAB_TOKEN``) and when it expires
(``HYBRIDHUB_GITLAB_TOKEN_EXPIRES_AT``). To renew, it calls
``POST {JUPYTERHUB_API_URL}/hybridhub/gitlab-token`` with its own ``JUPYTERHUB_API_TOKEN``, which
the hub accepts from this one server only and answers with this user's access token.

The token is kept in memory only: never logged (log lines name the event, not the value),
never written to a file, never sent anywhere but the hub and the configured GitLab.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from collections.abc import Callable

from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest

HUB_ROUTE = "hybridhub/gitlab-token"  # under JUPYTERHUB_API_URL; hub_ext.gitlab.tokens.ROUTE
log = logging.getLogger("hybridhub.gitlab_token")


def clock() -> float:
    """Wall time; the one function tests patch."""
    return time.time()


class GitLabTokenSource:
    """``current()`` is the token to use now; ``await renew(...)`` asks the hub for a fresh one."""

    def __init__(
        self,
        token: str,
        expires_at: float = 0.0,
        *,
        hub_api_url: str = "",
        hub_api_token: str = "",
        margin: float = 300.0,
        timeout: float = 20.0,
        on_renew: Callable[[str], None] | None = None,
        logger: logging.Logger | None = None,
    ) -> None:
        self.log = logger or log
        self._token = token
        self.expires_at = expires_at
        self._hub_url = f"{hub_api_url.rstrip('/')}/{HUB_ROUTE}" if hub_api_url else ""
        self._hub_token = hub_api_token
        self.margin = margin
        self.timeout = timeout
        self._on_renew = on_renew
        self._lock = asyncio.Lock()

    def __repr__(self) -> str:
        return f"GitLabTokenSource(token={'<set>' if self._token else '<unset>'}, expires_at={self.expires_at})"

    def current(self) -> str:
        return self._token

    @property
    def can_renew(self) -> bool:
        return bool(self._hub_url and self._hub_token)

    def expiring(self) -> bool:
        return bool(self.expires_at) and clock() >= self.expires_at - self.margin

    async def renew(self, rejected: str | None = None) -> bool:
        """Ask the hub for a fresh token when this one expires within ``margin`` or GitLab
        refused ``rejected``. True when the token to use changed (a retry may succeed)."""
        async with self._lock:
            if rejected is not None and rejected != self._token:
                return True  # renewed meanwhile by another call
            if rejected is None and not self.expiring():
                return False
            if not self.can_renew:
                return False
            fresh = await self._ask_hub(self._token if rejected is not None else None)
            if fresh is None or fresh[0] == self._token:
                return False
            self._token, self.expires_at = fresh
            self.log.info("GitLab token renewed through the hub")
            if self._on_renew is not None:
                self._on_renew(self._token)
            return True

    async def _ask_hub(self, stale: str | None) -> tuple[str, float] | None:
        body = json.dumps({"stale": stale} if stale is not None else {})
        request = HTTPRequest(
            self._hub_url, method="POST", body=body, request_timeout=self.timeout,
            headers={"Authorization": f"token {self._hub_token}", "Content-Type": "application/json"},
            **_hub_tls(),
        )  # fmt: skip
        try:
            response = await AsyncHTTPClient().fetch(request)
            data = json.loads(response.body)
            return str(data["access_token"]), float(data.get("expires_at") or 0.0)
        except HTTPClientError as e:
            self.log.warning("The hub did not renew the GitLab token (HTTP %s)", e.code)
        except (OSError, ValueError, KeyError, TypeError) as e:
            self.log.warning("The hub could not be asked for a fresh GitLab token (%s)", type(e).__name__)
        return None


def _hub_tls() -> dict:
    """JupyterHub's internal TLS, when the hub uses it (JUPYTERHUB_SSL_* in the server's env)."""
    files = {
        "ca_certs": os.environ.get("JUPYTERHUB_SSL_CAFILE"),
        "client_cert": os.environ.get("JUPYTERHUB_SSL_CERTFILE"),
        "client_key": os.environ.get("JUPYTERHUB_SSL_KEYFILE"),
    }
    return {key: value for key, value in files.items() if value}


def from_environment(token: str, expires_at: float, margin: float, on_renew=None, logger=None) -> GitLabTokenSource:
    return GitLabTokenSource(
        token, expires_at,
        hub_api_url=os.environ.get("JUPYTERHUB_API_URL", ""),
        hub_api_token=os.environ.get("JUPYTERHUB_API_TOKEN", ""),
        margin=margin, on_renew=on_renew, logger=logger,
    )  # fmt: skip
