"""GitLab access tokens that stay valid: when they expire, and the hub API route through which
a running user server gets a fresh one.

GitLab's OAuth access tokens live 7,200 s. The hub keeps the token response in the encrypted
auth_state with ``expires_at`` (hub clock: obtained + ``expires_in``); the authenticator renews
it with the refresh token before it gets close to that (``token_grace_period``).

A running server asks ``POST /hub/api/hybridhub/gitlab-token`` with its own
``JUPYTERHUB_API_TOKEN`` (the token the hub gave that one server). The answer holds only that
user's access token and when it expires, never the refresh token; any other credential (another
user's server, a service, a browser cookie) is refused.
"""

from __future__ import annotations

import hmac
import json
import time

from jupyterhub.apihandlers.base import APIHandler
from jupyterhub.user import User
from tornado import web

ROUTE = r"/api/hybridhub/gitlab-token"


def clock() -> float:
    """Wall time; the one function tests patch."""
    return time.time()


def expires_at(auth_state: dict | None) -> float | None:
    """When the access token in ``auth_state`` expires (hub clock), or None if unknown."""
    if not auth_state:
        return None
    if auth_state.get("expires_at"):
        return float(auth_state["expires_at"])
    response = auth_state.get("token_response") or {}
    if response.get("expires_in") and response.get("created_at"):
        return float(response["created_at"]) + float(response["expires_in"])  # GitLab's own clock
    return None


def expires_within(auth_state: dict | None, seconds: float) -> bool:
    when = expires_at(auth_state)
    return when is not None and clock() >= when - seconds


def server_of(user: User, token: str, orm_token) -> object | None:
    """The active spawner of ``user`` whose own API token is ``token``, else None."""
    if orm_token is None or orm_token.user is None or orm_token.user.id != user.id or orm_token.service:
        return None
    for spawner in user.spawners.values():
        if not spawner.active:
            continue
        if spawner.api_token:
            if hmac.compare_digest(spawner.api_token, token):
                return spawner
        elif spawner.server is not None and orm_token.note == f"Server at {spawner.server.base_url}":
            return spawner  # the hub restarted: it names the tokens it gave servers by this note
    return None


class GitLabTokenHandler(APIHandler):
    """``POST {"stale": "<token GitLab refused>"}`` → ``{"access_token", "expires_at"}``."""

    def check_xsrf_cookie(self):
        pass  # token-authenticated only (checked below): a cookie never gets an answer

    async def post(self):
        user = self.current_user
        token = self.get_auth_token()
        if not isinstance(user, User) or not token or not getattr(self, "_token_authenticated", False):
            raise web.HTTPError(403, "only a user server, with its own API token, may ask for its GitLab token")
        if server_of(user, token, self.get_token()) is None:
            raise web.HTTPError(403, "only a user server, with its own API token, may ask for its GitLab token")
        try:
            body = json.loads(self.request.body or b"{}")
        except ValueError:
            body = None
        stale = body.get("stale") if isinstance(body, dict) else None
        if stale is not None and not isinstance(stale, str):
            raise web.HTTPError(400, "'stale' must be a string")
        auth_state = await user.get_auth_state()
        if not auth_state or not auth_state.get("access_token"):
            raise web.HTTPError(404, "no GitLab login for this user")
        grace = self.authenticator.token_grace_period
        if auth_state["access_token"] == stale or expires_within(auth_state, grace):
            self.log.info("Renewing %s's GitLab token for their server", user.name)
            await self.refresh_auth(user, force=True)
            auth_state = await user.get_auth_state() or {}
            if not auth_state.get("access_token") or auth_state["access_token"] == stale:
                raise web.HTTPError(401, "GitLab refused to renew the token: the user must log in again")
        self.set_header("Cache-Control", "no-store")
        self.write({"access_token": auth_state["access_token"], "expires_at": expires_at(auth_state)})
