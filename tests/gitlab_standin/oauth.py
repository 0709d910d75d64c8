"""GitLab's OAuth 2 provider endpoints: /oauth/authorize and /oauth/token (with refresh, PKCE).

Shapes follow https://docs.gitlab.com/api/oauth2/. The signed-in browser user is the one whose
``_gitlab_session`` cookie the test set with :meth:`World.sign_in`.
"""

from __future__ import annotations

import base64
import secrets
import time
from urllib.parse import urlencode

from .state import s256

SCOPES = {"api", "read_api", "read_user", "read_repository", "write_repository", "openid", "profile", "email"}
_AUTHORIZE_PARAMS = ["client_id", "redirect_uri", "response_type", "scope", "state", "code_challenge", "code_challenge_method"]
# "data" is sent (as "None") by oauthenticator's token request; GitLab ignores it
_TOKEN_FIELDS = {"grant_type", "code", "redirect_uri", "client_id", "client_secret", "code_verifier", "refresh_token", "data"}


def _error(response_cls, error: str, description: str, status: int = 400):
    return response_cls.json({"error": error, "error_description": description}, status)


def authorize(gitlab, request):
    from .server import Response

    world = gitlab.world
    client_id = request.param("client_id")
    if client_id not in world.apps:
        return Response(401, b"Client authentication failed due to unknown client.", {"Content-Type": "text/plain"})
    _, registered_uri = world.apps[client_id]
    redirect_uri = request.param("redirect_uri")
    if redirect_uri != registered_uri:
        return Response(400, b"The redirect URI included is not valid.", {"Content-Type": "text/plain"})
    state = request.param("state")
    if request.param("response_type") != "code":
        return Response.redirect(f"{redirect_uri}?{urlencode({'error': 'unsupported_response_type', 'state': state or ''})}")
    scopes = (request.param("scope") or "").split()
    if not scopes or not set(scopes) <= SCOPES:
        return Response.redirect(f"{redirect_uri}?{urlencode({'error': 'invalid_scope', 'state': state or ''})}")
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
    if client_id not in world.apps or world.apps[client_id][0] != secret:
        return _error(Response, "invalid_client", "Client authentication failed due to unknown client, no client authentication included, or unsupported authentication method.", 401)
    with world.lock:
        grant_type = form.get("grant_type")
        if grant_type == "authorization_code":
            grant = world.grants.pop(form.get("code", ""), None)
            if grant is None or grant.client_id != client_id or grant.redirect_uri != form.get("redirect_uri"):
                return _error(Response, "invalid_grant", "The provided authorization grant is invalid, expired, revoked, does not match the redirection URI used in the authorization request, or was issued to another client.")
            if grant.challenge is not None and s256(form.get("code_verifier", "")) != grant.challenge:
                return _error(Response, "invalid_grant", "The provided authorization grant is invalid, expired, revoked, does not match the redirection URI used in the authorization request, or was issued to another client.")
            issued = world.issue(grant.user, grant.scopes)
        elif grant_type == "refresh_token":
            old = world.refresh_tokens.pop(form.get("refresh_token", ""), None)
            if old is None or old.revoked:
                return _error(Response, "invalid_grant", "The provided authorization grant is invalid, expired, revoked, does not match the redirection URI used in the authorization request, or was issued to another client.")
            old.revoked = True  # GitLab rotates: the old access and refresh tokens stop working
            issued = world.issue(old.user, old.scopes)
        else:
            return _error(Response, "unsupported_grant_type", "The authorization grant type is not supported by the authorization server.")
    return Response.json(
        {
            "access_token": issued.value,
            "token_type": "Bearer",
            "expires_in": round(issued.expires_at - time.time()),
            "refresh_token": issued.refresh,
            "scope": " ".join(issued.scopes),
            "created_at": int(time.time()),
        }
    )


ROUTES = [
    ("GET", r"/oauth/authorize", authorize, _AUTHORIZE_PARAMS),
    ("POST", r"/oauth/token", token, []),
]
