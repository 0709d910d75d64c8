"""The GitLab stand-in itself: strict about what it does not know, GitLab's answers to bad
tokens, PKCE and rotating refresh tokens."""

from __future__ import annotations

import base64
import hashlib
import secrets
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from hybridhub.hub_ext.gitlab import HybridGitLabOAuthenticator

pytestmark = pytest.mark.gitlab


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def test_unknown_paths_parameters_and_methods_fail_loudly(world):
    gitlab = world.gitlab
    assert requests.get(f"{gitlab.url}/api/v4/runners", headers=bearer(world.token)).status_code == 404
    assert requests.get(f"{gitlab.url}/api/v4/user?with_custom_attributes=true", headers=bearer(world.token)).status_code == 400
    assert requests.delete(f"{gitlab.url}/api/v4/user", headers=bearer(world.token)).status_code == 405
    assert requests.get(f"{gitlab.url}/ml-team/notebooks.git/info/refs").status_code == 400  # dumb HTTP
    assert len(gitlab.violations) == 4 and "unknown path GET /api/v4/runners" in gitlab.violations[0]
    gitlab.violations.clear()


def test_tokens_are_checked_like_gitlab(world):
    gitlab = world.gitlab
    me = requests.get(f"{gitlab.url}/api/v4/user", headers=bearer(world.token))
    assert me.status_code == 200 and me.json()["username"] == "alice" and me.json()["id"] == world.alice.id
    assert requests.get(f"{gitlab.url}/api/v4/user").json() == {"message": "401 Unauthorized"}
    narrow = gitlab.world.issue(world.alice, ["read_user"]).value
    denied = requests.get(f"{gitlab.url}/api/v4/projects", headers=bearer(narrow))
    assert denied.status_code == 403 and denied.json()["error"] == "insufficient_scope"
    gitlab.world.expire(world.token)
    expired = requests.get(f"{gitlab.url}/api/v4/user", headers=bearer(world.token))
    assert expired.status_code == 401 and expired.json()["error"] == "invalid_token"
    assert "expired" in expired.headers["WWW-Authenticate"]


def test_git_over_http_checks_the_token(world, workspace):
    url = f"{world.gitlab.url}/ml-team/notebooks.git/info/refs?service=git-upload-pack"
    assert requests.get(url).status_code == 401  # asks for credentials
    assert requests.get(url, auth=("oauth2", "wrong")).status_code == 401
    assert requests.get(url, auth=("alice", world.token)).status_code == 401  # username must be oauth2
    ok = requests.get(url, auth=("oauth2", world.token))
    assert ok.status_code == 200 and ok.headers["Content-Type"] == "application/x-git-upload-pack-advertisement"
    bob = world.gitlab.world.issue(world.bob, ["api"]).value
    assert requests.get(url, auth=("oauth2", bob)).status_code == 404  # not a member


def test_oauth_code_flow_with_pkce_and_rotating_refresh(world):
    gitlab = world.gitlab
    redirect = "http://127.0.0.1:1/hub/oauth_callback"
    client_id, secret = gitlab.world.register_app(redirect)
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    session = requests.Session()
    session.cookies.set("_gitlab_session", gitlab.world.sign_in(world.alice))
    params = {"client_id": client_id, "redirect_uri": redirect, "response_type": "code", "scope": "read_user api",
              "state": "s1", "code_challenge": challenge, "code_challenge_method": "S256"}  # fmt: skip
    answer = session.get(f"{gitlab.url}/oauth/authorize", params=params, allow_redirects=False)
    assert answer.status_code == 302
    query = parse_qs(urlsplit(answer.headers["Location"]).query)
    assert query["state"] == ["s1"]
    form = {"grant_type": "authorization_code", "code": query["code"][0], "redirect_uri": redirect,
            "client_id": client_id, "client_secret": secret}  # fmt: skip
    wrong = requests.post(f"{gitlab.url}/oauth/token", data={**form, "code_verifier": "not-it"})
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_grant"  # and the code is spent
    again = session.get(f"{gitlab.url}/oauth/authorize", params=params, allow_redirects=False)
    form["code"] = parse_qs(urlsplit(again.headers["Location"]).query)["code"][0]
    token = requests.post(f"{gitlab.url}/oauth/token", data={**form, "code_verifier": verifier}).json()
    assert token["token_type"] == "Bearer" and token["expires_in"] == 7200 and token["scope"] == "read_user api"
    refresh = {"grant_type": "refresh_token", "refresh_token": token["refresh_token"], "client_id": client_id, "client_secret": secret}
    renewed = requests.post(f"{gitlab.url}/oauth/token", data=refresh).json()
    assert renewed["access_token"] != token["access_token"]
    # GitLab revokes the old token when the new one is first used (test_tokens_standin.py)
    assert requests.get(f"{gitlab.url}/api/v4/user", headers=bearer(renewed["access_token"])).status_code == 200
    assert requests.get(f"{gitlab.url}/api/v4/user", headers=bearer(token["access_token"])).status_code == 401
    assert requests.post(f"{gitlab.url}/oauth/token", data=refresh).status_code == 400  # rotated
    no_session = requests.get(f"{gitlab.url}/oauth/authorize", params=params, allow_redirects=False)
    assert no_session.status_code == 401


async def test_oauthenticators_own_gitlab_group_rule_works_against_the_standin(world):
    """``allowed_gitlab_groups`` (oauthenticator's members API) alongside hybridhub's group sync."""
    auth = HybridGitLabOAuthenticator(gitlab_url=world.gitlab.url, allowed_gitlab_groups={"ml-team"})
    def model(user, token):
        return {"name": user.username, "admin": None, "auth_state": {"token_response": {"access_token": token}, "gitlab_user": {"id": user.id}}}
    assert await auth.check_allowed("alice", model(world.alice, world.token))
    bob_token = world.gitlab.world.issue(world.bob, ["api"]).value
    assert not await auth.check_allowed("bob", model(world.bob, bob_token))
