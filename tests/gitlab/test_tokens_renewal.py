"""The hub side of tokens that stay valid, in-process against the GitLab stand-in: a token that
expires within ``token_grace_period`` is renewed before a server starts with it (oauthenticator
alone renews only after GitLab refused the token), one refresh per user at a time, and the
server gets the expiry with the token."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest

from hybridhub.hub_ext.gitlab import HybridGitLabOAuthenticator
from hybridhub.hub_ext.gitlab import tokens
from hybridhub.lab_ext import gitlab_token

from .test_tokens_standin import REDIRECT, login

pytestmark = pytest.mark.gitlab


class StoredUser:
    """What refresh_user reads: the name and the saved auth_state (JupyterHub saves it later)."""

    def __init__(self, name: str, auth_state: dict):
        self.name = name
        self.auth_state = auth_state

    async def get_auth_state(self):
        return self.auth_state


@pytest.fixture
def hub_clock(monkeypatch):
    now = SimpleNamespace(value=1_000_000.0)
    monkeypatch.setattr(tokens, "clock", lambda: now.value)
    return now


@pytest.fixture
def logged_in(world, hub_clock):
    gitlab = world.gitlab
    client_id, secret = gitlab.world.register_app(REDIRECT)
    auth = HybridGitLabOAuthenticator(
        gitlab_url=gitlab.url, client_id=client_id, client_secret=secret, oauth_callback_url=REDIRECT
    )
    token_info = login(gitlab, world.alice, client_id, secret)
    state = asyncio.run(auth.build_auth_state_dict(token_info, {"username": "alice", "email": "alice@example.com"}))
    return auth, StoredUser("alice", state)


def test_the_hub_records_when_the_token_expires(logged_in, hub_clock):
    _, user = logged_in
    assert user.auth_state["expires_at"] == hub_clock.value + 7200
    assert tokens.expires_at(user.auth_state) == hub_clock.value + 7200
    legacy = {"token_response": {"expires_in": 7200, "created_at": 5}}  # saved before expires_at existed
    assert tokens.expires_at(legacy) == 7205 and tokens.expires_at({"access_token": "x"}) is None


async def test_a_token_expiring_within_the_grace_period_is_renewed_before_a_spawn(world, logged_in, hub_clock):
    auth, user = logged_in
    first = user.auth_state["access_token"]
    hub_clock.value += 7200 - 1800  # 30 minutes left: outside the 15-minute grace period
    kept = await auth.refresh_user(user)
    assert kept["auth_state"]["access_token"] == first  # still valid: no refresh
    hub_clock.value += 1800 - 600  # 10 minutes left: GitLab still accepts it, but a server would not last
    assert not world.gitlab.world.tokens[first].expired
    renewed = await auth.refresh_user(user)
    fresh = renewed["auth_state"]["access_token"]
    assert fresh != first and renewed["auth_state"]["expires_at"] == hub_clock.value + 7200
    assert renewed["auth_state"]["refresh_token"] != user.auth_state["refresh_token"]
    assert world.gitlab.world.tokens[fresh].user is world.alice
    assert world.gitlab.world.tokens[first].revoked  # GitLab revoked it when the new one was used

    # the spawn hands the server the renewed token and when it expires, nothing more
    from hybridhub.spawner.local import HybridLocalSpawner

    spawner = HybridLocalSpawner(
        user=SimpleNamespace(name="alice", id=1, url="/user/alice/", escaped_name="alice", server=None),
        hub=SimpleNamespace(api_url="http://127.0.0.1:8081/hub/api", base_url="/hub/"),
    )
    user.auth_state = renewed["auth_state"]
    await auth.pre_spawn_start(user, spawner)
    assert spawner.environment["HYBRIDHUB_GITLAB_TOKEN"] == fresh
    assert spawner.environment["HYBRIDHUB_GITLAB_TOKEN_EXPIRES_AT"] == str(int(hub_clock.value + 7200))
    assert user.auth_state["refresh_token"] not in repr(spawner.environment)


async def test_concurrent_refreshes_of_one_user_spend_the_refresh_token_once(world, logged_in, hub_clock):
    auth, user = logged_in
    hub_clock.value += 7200 - 60
    before = len(world.gitlab.world.tokens)
    # the hub saves auth_state after refresh_user returns: both calls see the same refresh token
    one, two = await asyncio.gather(auth.refresh_user(user), auth.refresh_user(user))
    assert one is two and one["auth_state"]["access_token"] != user.auth_state["access_token"]
    assert len(world.gitlab.world.tokens) == before + 1


async def test_a_refused_refresh_asks_for_a_new_login(world, logged_in, hub_clock):
    auth, user = logged_in
    world.gitlab.world.refresh_tokens[user.auth_state["refresh_token"]].revoked = True  # e.g. revoked in GitLab
    hub_clock.value += 7200 - 60
    assert await auth.refresh_user(user) is False


async def test_the_servers_token_source_without_a_hub_keeps_its_token(monkeypatch):
    """A server started outside JupyterHub (no JUPYTERHUB_API_TOKEN) cannot renew: no retry."""
    monkeypatch.setattr(gitlab_token, "clock", lambda: 10_000.0)
    source = gitlab_token.GitLabTokenSource("t0", 10_100.0, margin=300)
    assert source.expiring() and not source.can_renew
    assert await source.renew() is False and await source.renew(rejected="t0") is False
    assert await source.renew(rejected="older") is True  # renewed meanwhile: retry with t0
    assert "t0" not in repr(source)
    assert not gitlab_token.GitLabTokenSource("t0", 10_301.0, margin=300).expiring()
