"""GitLab's OAuth 2 provider endpoints: /oauth/authorize and /oauth/token (with refresh, PKCE).

Shapes follow https://docs.gitlab.com/api/oauth2/. The signed-in browser user is the one whose
``_gitlab_session`` cookie the test set with :meth:`World.sign_in`.

Behaviour reproduced from GitLab's ``config/initializers/doorkeeper.rb`` (``use_refresh_token``,
``access_token_expires_in 7200``, no ``reuse_access_token``) and Doorkeeper's source:

- ``lib/doorkeeper/oauth/pre_authorization.rb`` + ``helpers/scope_checker.rb``: the requested
  scopes must be a subset of the application's registered scopes (the server's when it has
  none), else a redirect back with ``error=invalid_scope``; no ``scope`` means the server's
  default scopes common to the application's (``build_scopes``);
- ``lib/doorkeeper/oauth/error_response.rb``: error redirects carry ``error``,
  ``error_description`` (``config/locales/en.yml``) and ``state``;
- ``lib/doorkeeper/oauth/refresh_token_request.rb``: GitLab's ``oauth_access_tokens`` has a
  ``previous_refresh_token`` column, so refresh tokens are *revoked on use*: a refresh creates a
  new token that remembers the old refresh token, and the old one (access and refresh) is
  revoked when the new access token is first used on the API (``revoke_previous_refresh_token!``
  in GitLab's API auth finder). A refresh token that is revoked answers ``invalid_grant``
  (``Errors::InvalidGrantReuse``), as does one issued to another application.
"""

from __future__ import annotations

import base64
import secrets
from urllib.parse import urlencode

from .state import DEFAULT_SCOPES, SERVER_SCOPES, s256

SCOPES = SERVER_SCOPES
DESCRIPTIONS = {  # Doorkeeper's config/locales/en.yml
    "invalid_scope": "The requested scope is invalid, unknown, or malformed.",
    "unsupported_response_type": "The authorization server does not support this response type.",
    "invalid_grant": "The provided authorization grant is invalid, expired, revoked, does not match the redirection URI used in the authorization request, or was issued to another client.",
    "invalid_client": "Client authentication failed due to unknown client, no client authentication included, or unsupported authentication method.",
    "unsupported_grant_type": "The authorization grant type is not supported by the authorization server.",
}  # fmt: skip
_AUTHORIZE_PARAMS = ["client_id", "redirect_uri", "response_type", "scope", "state", "code_challenge", "code_challenge_method"]
# "data" is sent (as "None") by oauthenticator's token request; GitLab ignores it
_TOKEN_FIELDS = {"grant_type", "code", "redirect_uri", "client_id", "client_secret", "code_verifier", "refresh_token", "data"}


def _error(response_cls, error: str, status: int = 400):
    return response_cls.json({"error": error, "error_description": DESCRIPTIONS[error]}, status)


def _error_redirect(redirect_uri: str, error: str, state: str | None):
    from .server import Response

    query = {"error": error, "error_description": DESCRIPTIONS[error]}
    if state:
        query["state"] = state
    return Response.redirect(f"{redirect_uri}?{urlencode(query)}")


def _requested_scopes(raw: str | None, app) -> list[str] | None:
    """The scopes granted for ``raw``, or None for ``invalid_scope`` (scope_checker.rb)."""
    allowed = set(app.scopes) or SERVER_SCOPES  # valid_scopes: app_scopes.presence || server_scopes
    if not raw:  # PreAuthorization#scope: the server's default scopes common to the app's
        defaults = [s for s in DEFAULT_SCOPES if s in allowed]
        return defaults or None
    if any(c in raw for c in "\n\r\t"):
        return None
    scopes = raw.split()
    return scopes if scopes and set(scopes) <= allowed and set(scopes) <= SERVER_SCOPES else None


def authorize(gitlab, request):
    from .server import Response

    world = gitlab.world
    client_id = request.param("client_id")
    if client_id not in world.apps:
        return Response(401, b"Client authentication failed due to unknown client.", {"Content-Type": "text/plain"})
    app = world.apps[client_id]
    redirect_uri = request.param("redirect_uri")
    if redirect_uri != app.redirect_uri:
        return Response(400, b"The redirect URI included is not valid.", {"Content-Type": "text/plain"})
    state = request.param("state")
    if request.param("response_type") != "code":
        return _error_redirect(redirect_uri, "unsupported_response_type", state)
    scopes = _requested_scopes(request.param("scope"), app)
    if scopes is None:
        return _error_redirect(redirect_uri, "invalid_scope", state)
    challenge = request.param("code_challenge")
    if challenge is not None and request.param("code_challenge_method") != "S256":
        raise gitlab.violation(400, "only the S256 PKCE method is expected")
    user = world.sessions.get(request.cookies.get("_gitlab_session", ""))
    if user is None:
        return Response(401, b"You need to sign in to GitLab before continuing.", {"Content-Type": "text/plain"})
    code = secrets.token_hex(32)
    from .state import Grant

    world.grants[code] = Grant(user, client_id, redirect_uri, scopes, challenge)
    query = {"code": code}
    if state is not None:
        query["state"] = state
    return Response.redirect(f"{redirect_uri}?{urlencode(query)}")


def _client(request, form) -> tuple[str | None, str | None]:
    header = request.headers.get("authorization", "")
    if header.startswith("Basic "):
        client_id, _, secret = base64.b64decode(header[6:]).decode().partition(":")
        return client_id, secret
    return form.get("client_id"), form.get("client_secret")


def token(gitlab, request):
    from .server import Response

    world = gitlab.world
    if not request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        raise gitlab.violation(400, "token request must be form encoded")
    form = request.form()
    unknown = set(form) - _TOKEN_FIELDS
    if unknown:
        raise gitlab.violation(400, f"unsupported token request field(s) {sorted(unknown)}")
    client_id, secret = _client(request, form)
    if client_id not in world.apps or world.apps[client_id].secret != secret:
        return _error(Response, "invalid_client", 401)
    with world.lock:
        grant_type = form.get("grant_type")
        if grant_type == "authorization_code":
            grant = world.grants.pop(form.get("code", ""), None)
            if grant is None or grant.client_id != client_id or grant.redirect_uri != form.get("redirect_uri"):
                return _error(Response, "invalid_grant")
            if grant.challenge is not None and s256(form.get("code_verifier", "")) != grant.challenge:
                return _error(Response, "invalid_grant")
            issued = world.issue(grant.user, grant.scopes, app=client_id)
        elif grant_type == "refresh_token":
            old = world.refresh_tokens.get(form.get("refresh_token", ""))
            # validate_token (present, not revoked) and validate_client_match; a revoked one is
            # InvalidGrantReuse, also answered invalid_grant
            if old is None or old.revoked or old.app != client_id:
                return _error(Response, "invalid_grant")
            # revoked on use: the old token lives until the new access token is first used
            issued = world.issue(old.user, old.scopes, app=client_id, previous_refresh=old.refresh)
        else:
            return _error(Response, "unsupported_grant_type")
    return Response.json(
        {
            "access_token": issued.value,
            "token_type": "Bearer",
            "expires_in": issued.expires_in,
            "refresh_token": issued.refresh,
            "scope": " ".join(issued.scopes),
            "created_at": int(issued.created_at),
        }
    )


ROUTES = [
    ("GET", r"/oauth/authorize", authorize, _AUTHORIZE_PARAMS),
    ("POST", r"/oauth/token", token, []),
]
