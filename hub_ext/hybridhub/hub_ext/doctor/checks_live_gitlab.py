"""Live checks of GitLab: its API answers over the configured TLS, and its OAuth provider is there.

Both without a token: GitLab's ``GET /api/v4/version`` "responds with 200 OK for authenticated
users" (doc/api/version.md) and with its JSON ``{"message": "401 Unauthorized"}`` to anyone else
(lib/api/helpers.rb ``unauthorized!``), which proves the API is reachable; and
Doorkeeper answers a token request without a grant with an OAuth error document (400
``invalid_request``, or 401 ``invalid_client`` — RFC 6749 section 5.2), where a URL without
GitLab behind it answers 404 or HTML.
"""

from __future__ import annotations

import json

from .check import FAIL, PASS, WARN, Context, Result, configured
from .checks_live import connection_failure, pool, spawner_setting, tls_settings
from .classes import hub_class

API_STATUSES = {200, 401}  # 200 from a GitLab that lets anyone read the version, 401 otherwise
OAUTH_STATUSES = {400, 401}


def _ask(context: Context, name: str, method: str, path: str, **options):
    """GitLab's answer to ``method path`` without a token, with ``(base URL, tls text)``; or the
    verdict why there is none (not configured, unreachable, TLS refused)."""
    url = (spawner_setting(context, "gitlab_url", "") or "").rstrip("/")
    if not url:
        return Result(name, WARN, "saw_live_skipped", {"setting": "HybridSpawner.gitlab_url"})
    tls, tls_text = tls_settings(context, None, "gitlab_ca_bundle", _login_ca(context))
    try:
        return pool(tls).request(method, url + path, **options), url, tls_text
    except Exception as e:  # noqa: BLE001 - a connection error is the verdict; others are the check's own
        failure = connection_failure(name, url + path, e, "gitlab")
        if failure is None:
            raise
        return failure


def _login_ca(context: Context) -> str:
    """The CA the hub's GitLab login trusts (``HybridGitLabOAuthenticator.gitlab_ca_bundle``): the
    doctor runs in the hub, so it asks GitLab as the hub's own login does."""
    authenticator = hub_class(context, "authenticator_class", "jupyterhub.authenticators")
    if "gitlab_ca_bundle" not in authenticator.class_trait_names():
        return ""
    return configured(context.config, authenticator, "gitlab_ca_bundle", "") or ""


def gitlab_answers(context: Context) -> Result:
    name = "gitlab-answers"
    asked = _ask(context, name, "GET", "/api/v4/version")
    if isinstance(asked, Result):
        return asked
    answer, url, tls_text = asked
    seen = {"url": url, "status": answer.status, "tls": tls_text}
    if answer.status not in API_STATUSES or _json(answer.data) is None:  # not a proxy's page
        return Result(name, FAIL, "saw_gitlab_no_api", seen, "fix_gitlab_no_api")
    return Result(name, PASS, "saw_gitlab_answers", seen)


def gitlab_oauth(context: Context) -> Result:
    name = "gitlab-oauth"
    asked = _ask(context, name, "POST", "/oauth/token", body="",
                 headers={"Content-Type": "application/x-www-form-urlencoded"})
    if isinstance(asked, Result):
        return asked
    answer, url, _ = asked
    seen = {"url": f"{url}/oauth/token", "status": answer.status}
    if answer.status in OAUTH_STATUSES and isinstance((_json(answer.data) or {}).get("error"), str):
        return Result(name, PASS, "saw_gitlab_oauth", seen)
    return Result(name, FAIL, "saw_gitlab_no_oauth", seen, "fix_gitlab_no_api")


def _json(body: bytes, kind: type = dict):
    """The body as JSON when it is a ``kind`` (GitLab's API answers), else None (a proxy's page)."""
    try:
        value = json.loads(body)
    except ValueError:
        return None
    return value if isinstance(value, kind) else None
