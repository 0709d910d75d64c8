"""HybridGitLabOAuthenticator: oauthenticator's GitLab login with hybridhub's defaults.

OAuth itself is oauthenticator's (authorize, token, refresh, PKCE); this class only:

- turns the user's GitLab groups into JupyterHub groups (``manage_groups``), so that
  oauthenticator's own ``allowed_groups`` / ``admin_groups`` rules and hybridhub's profile
  group rules work on GitLab group paths;
- keeps the token response in the encrypted auth_state with when it expires, and renews it with
  the refresh token when it expires within ``token_grace_period`` (before each spawn, and when a
  running server asks for a fresh one: :mod:`.tokens`);
- trusts a custom CA bundle for a self-hosted GitLab;
- hands the (refreshed) access token to the user's server in ``HYBRIDHUB_GITLAB_TOKEN`` via
  ``pre_spawn_start`` (the spawner's environment only: never labels, annotations or logs);
- serves the login page in the user's language.
"""

from __future__ import annotations

import asyncio
import json
from inspect import isawaitable
from urllib.parse import urlencode

from oauthenticator.gitlab import GitLabOAuthenticator
from traitlets import Float, Unicode, default

from hybridhub.spawner import envvars

from .login import LocalizedLoginHandler
from .scopes import SCOPES
from . import tokens

GROUPS_PER_PAGE = 100
MAX_GROUP_PAGES = 20


class HybridGitLabOAuthenticator(GitLabOAuthenticator):
    gitlab_ca_bundle = Unicode(
        "",
        config=True,
        help="""Path to a PEM CA bundle the hub trusts for a self-hosted GitLab (a company CA).

        Example: ``c.HybridGitLabOAuthenticator.gitlab_ca_bundle = "/etc/ssl/corp-ca.pem"``.
        The user servers get their own path through ``c.HybridSpawner.gitlab_ca_bundle``.""",
    )
    groups_min_access_level = Unicode(
        "10",
        config=True,
        help="""Minimum GitLab access level (10 guest … 50 owner) for a group to count as the
        user's group in ``allowed_groups`` / ``admin_groups`` and profile rules.""",
    )

    token_grace_period = Float(
        900.0,
        config=True,
        help="""Seconds: a GitLab access token that expires within this time is renewed with the
        refresh token before a server starts with it, and when a running server asks for its token.

        GitLab's tokens live 7,200 s; a server renews its own a few minutes before expiry
        (``c.CodeHomeConfig.gitlab_token_renew_margin``) through the hub.
        Example: ``c.HybridGitLabOAuthenticator.token_grace_period = 1800``.""",
    )

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._refresh_locks: dict[str, asyncio.Lock] = {}
        # user -> (refresh token that was spent, the auth model it gave): a second refresh that
        # still holds the spent token (saved a moment later by the hub) gets the same answer
        self._rotated: dict[str, tuple[str, dict]] = {}

    @default("enable_auth_state")
    def _enable_auth_state(self):
        return True

    @default("manage_groups")
    def _manage_groups(self):
        return True

    @default("refresh_pre_spawn")
    def _refresh_pre_spawn(self):
        return True

    @default("scope")
    def _scope(self):
        return list(SCOPES)  # exactly what the GitLab application is registered with

    @default("http_request_kwargs")
    def _http_request_kwargs(self):
        return {"ca_certs": self.gitlab_ca_bundle} if self.gitlab_ca_bundle else {}

    async def build_auth_state_dict(self, token_info, user_info):
        state = super().build_auth_state_dict(token_info, user_info)
        if isawaitable(state):
            state = await state
        if token_info.get("expires_in"):
            state["expires_at"] = tokens.clock() + float(token_info["expires_in"])
        return state

    async def refresh_user(self, user, handler=None, **kwargs):
        """oauthenticator's refresh (renews only once GitLab refused the token), plus: renew a
        token that expires within ``token_grace_period``, one refresh per user at a time."""
        lock = self._refresh_locks.setdefault(user.name, asyncio.Lock())
        async with lock:
            auth_state = await user.get_auth_state() if self.enable_auth_state else None
            refresh_token = (auth_state or {}).get("refresh_token")
            spent = self._rotated.get(user.name)
            if spent and refresh_token and spent[0] == refresh_token:
                return spent[1]
            if refresh_token and tokens.expires_within(auth_state, self.token_grace_period):
                model = await self._renew(user, refresh_token, handler)
            else:
                model = await super().refresh_user(user, handler, **kwargs)
            if isinstance(model, dict) and refresh_token and model["auth_state"].get("refresh_token") != refresh_token:
                self._rotated[user.name] = (refresh_token, model)
            return model

    async def _renew(self, user, refresh_token: str, handler):
        self.log.info("GitLab token of %s expires soon: renewing it with the refresh token", user.name)
        try:
            token_info = await self.get_token_info(handler, self.build_refresh_token_request_params(refresh_token))
            token_info.setdefault("refresh_token", refresh_token)
            return await self._token_to_auth_model(token_info)  # as oauthenticator's refresh_user
        except Exception as e:  # the message names GitLab's error, never a token
            self.log.warning("GitLab refused to renew %s's token (%s): a new login is needed", user.name, type(e).__name__)
            return False

    async def get_user_groups(self, auth_state: dict) -> set[str]:
        """Full paths of the GitLab groups the user belongs to (``GET /groups``, paginated)."""
        token = auth_state["access_token"]
        groups: set[str] = set()
        for page in range(1, MAX_GROUP_PAGES + 1):
            query = urlencode({"min_access_level": self.groups_min_access_level, "per_page": GROUPS_PER_PAGE, "page": page})
            response = await self.httpfetch(
                f"{self.gitlab_api}/groups?{query}",
                "Fetching the user's GitLab groups",
                parse_json=False,
                method="GET",
                headers=self.build_userdata_request_headers(token, "bearer"),
                validate_cert=self.validate_server_cert,
            )
            groups.update(group["full_path"] for group in json.loads(response.body))
            if not response.headers.get("X-Next-Page"):
                break
        return groups

    async def pre_spawn_start(self, user, spawner) -> None:
        """Put the refreshed GitLab token (and the commit identity) into the server's environment."""
        auth_state = await user.get_auth_state()
        if not auth_state or not auth_state.get("access_token"):
            self.log.warning("No GitLab auth_state for %s: their server starts without a GitLab token", user.name)
            spawner.environment.pop(envvars.GITLAB_TOKEN.name, None)
            return
        env = spawner.environment
        env[envvars.GITLAB_TOKEN.name] = auth_state["access_token"]
        expiry = tokens.expires_at(auth_state)
        if expiry is not None:
            env[envvars.GITLAB_TOKEN_EXPIRES_AT.name] = str(int(expiry))
        env.setdefault(envvars.GITLAB_URL.name, self.gitlab_url.rstrip("/"))
        profile = auth_state.get(self.user_auth_state_key) or {}
        name = profile.get("name") or profile.get("username") or user.name
        email = profile.get("commit_email") or profile.get("email") or profile.get("public_email")
        if email:
            for role in ("AUTHOR", "COMMITTER"):
                env[f"GIT_{role}_NAME"] = name
                env[f"GIT_{role}_EMAIL"] = email
        self.log.info("GitLab token handed to %s's server environment", user.name)

    def get_handlers(self, app):
        # first match wins in tornado: our /login renders the localized page
        return [(r"/login", LocalizedLoginHandler), (tokens.ROUTE, tokens.GitLabTokenHandler), *super().get_handlers(app)]
