"""The GitLab stand-in's tokens behave as GitLab's: they age on the stand-in's clock and die at
7,200 s, refresh tokens are revoked on use, and an application gets only the scopes it was
registered with. Each test names the GitLab / Doorkeeper source it reproduces."""

from __future__ import annotations

import secrets
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

pytestmark = pytest.mark.gitlab

REDIRECT = "http://127.0.0.1:1/hub/oauth_callback"
EXPIRED = {
    "error": "invalid_token",
    "error_description": "Token is expired. You can either do re-authorization or token refresh.",
}
REVOKED = {"error": "invalid_token", "error_description": "Token was revoked. You have to re-authorize from the user."}


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def authorize(gitlab, user, client_id: str, scope: str | None, state: str = "s1") -> requests.Response:
    session = requests.Session()
    session.cookies.set("_gitlab_session", gitlab.world.sign_in(user))
    params = {"client_id": client_id, "redirect_uri": REDIRECT, "response_type": "code", "state": state}
    if scope is not None:
        params["scope"] = scope
    return session.get(f"{gitlab.url}/oauth/authorize", params=params, allow_redirects=False, timeout=10)


def login(gitlab, user, client_id: str, secret: str, scope: str = "read_user api write_repository") -> dict:
    answer = authorize(gitlab, user, client_id, scope)
    code = parse_qs(urlsplit(answer.headers["Location"]).query)["code"][0]
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT,
            "client_id": client_id, "client_secret": secret}  # fmt: skip
    return requests.post(f"{gitlab.url}/oauth/token", data=form, timeout=10).json()


def refresh(gitlab, client_id: str, secret: str, refresh_token: str) -> requests.Response:
    form = {"grant_type": "refresh_token", "refresh_token": refresh_token, "client_id": client_id, "client_secret": secret}
    return requests.post(f"{gitlab.url}/oauth/token", data=form, timeout=10)


def me(gitlab, token: str) -> requests.Response:
    return requests.get(f"{gitlab.url}/api/v4/user", headers=bearer(token), timeout=10)


def test_access_tokens_die_at_7200_seconds_of_the_standins_clock(world):
    """GitLab config/initializers/doorkeeper.rb: ``access_token_expires_in 7200``; the 401 body is
    lib/api/api_guard.rb's ExpiredError answer (Rack::OAuth2 Bearer Unauthorized)."""
    gitlab = world.gitlab
    client_id, secret = gitlab.world.register_app(REDIRECT)
    token = login(gitlab, world.alice, client_id, secret)
    assert token["expires_in"] == 7200 and token["token_type"] == "Bearer"
    assert abs(token["created_at"] - gitlab.world.clock.now()) < 5
    gitlab.world.clock.advance(7199)
    assert me(gitlab, token["access_token"]).status_code == 200
    git_url = f"{gitlab.url}/ml-team/notebooks.git/info/refs?service=git-upload-pack"
    assert requests.get(git_url, auth=("oauth2", token["access_token"]), timeout=10).status_code == 200
    gitlab.world.clock.advance(2)  # 7,201 s: past created_at + expires_in (Doorkeeper Expirable#expired?)
    expired = me(gitlab, token["access_token"])
    assert expired.status_code == 401 and expired.json() == EXPIRED
    assert 'error="invalid_token"' in expired.headers["WWW-Authenticate"]
    assert requests.get(git_url, auth=("oauth2", token["access_token"]), timeout=10).status_code == 401
    # the refresh token outlives its access token (Doorkeeper refresh tokens do not expire)
    renewed = refresh(gitlab, client_id, secret, token["refresh_token"])
    assert renewed.status_code == 200 and renewed.json()["expires_in"] == 7200
    assert me(gitlab, renewed.json()["access_token"]).status_code == 200


def test_a_refresh_token_is_revoked_when_its_successor_is_first_used(world):
    """Doorkeeper lib/doorkeeper/oauth/refresh_token_request.rb with GitLab's
    ``previous_refresh_token`` column (refresh_token_revoked_on_use?): the new token remembers
    the old refresh token; GitLab's API auth finder calls ``revoke_previous_refresh_token!`` on
    the new token's first use; a revoked refresh token is ``InvalidGrantReuse`` → invalid_grant."""
    gitlab = world.gitlab
    client_id, secret = gitlab.world.register_app(REDIRECT)
    first = login(gitlab, world.alice, client_id, secret)
    second = refresh(gitlab, client_id, secret, first["refresh_token"]).json()
    assert second["access_token"] != first["access_token"] and second["refresh_token"] != first["refresh_token"]
    assert second["scope"] == "read_user api write_repository"  # default_scopes: the refresh token's
    # until the new token is used, the old one still works (the transition period)
    assert me(gitlab, first["access_token"]).status_code == 200
    assert me(gitlab, second["access_token"]).status_code == 200  # first use: the old token is revoked
    revoked = me(gitlab, first["access_token"])
    assert revoked.status_code == 401 and revoked.json() == REVOKED
    again = refresh(gitlab, client_id, secret, first["refresh_token"])
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
    # a refresh token works only for the application it was issued to (validate_client_match)
    other_id, other_secret = gitlab.world.register_app(REDIRECT)
    stolen = refresh(gitlab, other_id, other_secret, second["refresh_token"])
    assert stolen.status_code == 400 and stolen.json()["error"] == "invalid_grant"
    assert refresh(gitlab, client_id, secret, secrets.token_hex(32)).json()["error"] == "invalid_grant"


def test_an_application_gets_only_the_scopes_it_was_registered_with(world):
    """Doorkeeper lib/doorkeeper/oauth/pre_authorization.rb (validate_scopes) and
    helpers/scope_checker.rb (``app_scopes.presence || server_scopes``); the refusal redirects
    back with ``error=invalid_scope`` (oauth/error_response.rb, config/locales/en.yml)."""
    gitlab = world.gitlab
    client_id, _ = gitlab.world.register_app(REDIRECT, scopes=("read_user", "api", "write_repository"))
    more = authorize(gitlab, world.alice, client_id, "read_user api write_repository read_repository", state="xyz")
    assert more.status_code == 302
    location = urlsplit(more.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT
    assert parse_qs(location.query) == {
        "error": ["invalid_scope"],
        "error_description": ["The requested scope is invalid, unknown, or malformed."],
        "state": ["xyz"],
    }
    for scope in ("read_user api", "api write_repository read_user"):  # a subset is granted
        assert "code" in parse_qs(urlsplit(authorize(gitlab, world.alice, client_id, scope).headers["Location"]).query)
    for scope in ("unknown_scope", "api\tread_user"):
        assert "invalid_scope" in authorize(gitlab, world.alice, client_id, scope).headers["Location"]
    # no scope: the server's default scopes (api) the application also holds (build_scopes)
    assert "code" in parse_qs(urlsplit(authorize(gitlab, world.alice, client_id, None).headers["Location"]).query)
    narrow_id, _ = gitlab.world.register_app(REDIRECT, scopes=("read_user",))
    assert "error=invalid_scope" in authorize(gitlab, world.alice, narrow_id, None).headers["Location"]
    assert "error=invalid_scope" in authorize(gitlab, world.alice, narrow_id, "api").headers["Location"]
    with pytest.raises(ValueError):  # GitLab refuses to register an application without scopes
        gitlab.world.register_app(REDIRECT, scopes=())
