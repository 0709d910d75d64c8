"""The hub side's OpenAPI descriptions: each service's equals its route table and is served at
``<prefix>openapi.json``; generated requests to the culler service in a real hub (the culling
suite's hub) never get a 5xx, an undocumented status or a non-JSON error."""

from __future__ import annotations

import json
from collections import Counter
from http.cookiejar import DefaultCookiePolicy

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from tornado.httpclient import AsyncHTTPClient, HTTPClientError
from tornado.testing import bind_unused_port

from hybridhub.hub_ext.cost import web as cost_web
from hybridhub.hub_ext.culler.decisions import DecisionLog, make_web_app
from hybridhub.hub_ext.culler.reports import ReportBook
from hybridhub.hub_ext.openapi import cost_description, culler_description, hub_description
from tests.culling.hubproc import CULLER_NAME, running_hub

from .test_fuzz import sent_headers

pytestmark = pytest.mark.api

CULLER_PREFIX = f"/services/{CULLER_NAME}/"
COST_PREFIX = "/services/hybridhub-cost/"
#: routes a service has that are not its API: the OAuth callback, the prefix's redirect
NOT_API = {"oauth_callback"}


def app_paths(app, prefix: str) -> set[str]:
    """The service's routes as description paths (``/decisions``), from its tornado rules."""
    found = set()
    for rule in app.wildcard_router.rules:
        pattern = rule.matcher.regex.pattern.rstrip("$").removesuffix("/?")
        if not pattern.startswith(prefix.rstrip("/")):
            continue
        path = "/" + pattern[len(prefix.rstrip("/")):].lstrip("/")
        if path.strip("/") not in NOT_API:
            found.add(path)
    return found


def test_the_hub_descriptions_are_valid_openapi_3_1():
    for description in (culler_description(CULLER_PREFIX), cost_description(COST_PREFIX), hub_description()):
        schemathesis.openapi.from_dict(description).validate()


def test_the_culler_description_is_its_route_table():
    app = make_web_app(CULLER_PREFIX, DecisionLog(), False, b"x" * 32, ReportBook(lambda: None), None)
    assert app_paths(app, CULLER_PREFIX) == set(culler_description(CULLER_PREFIX)["paths"]) | {"/"}  # "/": a redirect


def test_the_cost_description_is_its_route_table():
    app = cost_web.make_app(COST_PREFIX, dict, b"x" * 32)
    assert app_paths(app, COST_PREFIX) == set(cost_description(COST_PREFIX)["paths"])


def test_the_hub_route_is_the_one_the_authenticator_registers():
    from hybridhub.hub_ext.gitlab import tokens

    assert list(hub_description()["paths"]) == [tokens.ROUTE]


async def test_cost_serves_its_description_to_cost_readers_only(monkeypatch):
    """In-process: the hub's answer about the caller (jupyterhub.services.auth.HubAuth.get_user,
    a user model with ``admin`` and ``scopes``) is replaced by a fixed model per test token."""
    models = {"admin": {"name": "admin", "admin": True, "scopes": []}, "bob": {"name": "bob", "admin": False, "scopes": []}}
    monkeypatch.setattr(cost_web.CostHandler, "get_current_user",
                        lambda self: models.get(self.request.headers.get("Authorization", "").removeprefix("token ")))  # fmt: skip
    sock, port = bind_unused_port()
    server = cost_web.make_app(COST_PREFIX, dict, b"x" * 32)
    from tornado.httpserver import HTTPServer

    http = HTTPServer(server)
    http.add_sockets([sock])
    try:
        url = f"http://127.0.0.1:{port}{COST_PREFIX}openapi.json"
        client = AsyncHTTPClient()
        served = json.loads((await client.fetch(url, headers={"Authorization": "token admin"})).body)
        assert served == cost_description(COST_PREFIX)
        with pytest.raises(HTTPClientError) as info:
            await client.fetch(url, headers={"Authorization": "token bob"})
        assert info.value.code == 403 and json.loads(info.value.response.body)["status"] == 403
    finally:
        http.stop()


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    with running_hub(tmp_path_factory.mktemp("api-hub")) as running:
        yield running


def hub_problem(operation: dict, response: requests.Response) -> str | None:
    status = response.status_code
    if status >= 500:
        return f"server error {status}"
    if str(status) not in operation["responses"] and not (300 <= status < 400):  # 302: to the hub's login
        return f"status {status} is not in the description"
    if status >= 400:
        try:
            error = response.json()
        except ValueError:
            return f"error {status} is not JSON"
        if error.get("status") != status or not isinstance(error.get("message"), str):
            return f"error {status} is not {{status, message}}: {error}"
    return None


def fuzz(description: dict, base: str, token: str, examples: int = 60) -> Counter[str]:
    """Valid and invalid generated requests for every operation of ``description``, with ``token``."""
    schema = schemathesis.openapi.from_dict(description)
    session = requests.Session()
    session.cookies.set_policy(DefaultCookiePolicy(allowed_domains=[]))
    counts: Counter[str] = Counter()
    for result in schema.get_all_operations():
        operation = result.ok()
        described = description["paths"][operation.path][operation.method.lower()]
        for mode in (schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE):

            @settings(max_examples=examples, derandomize=True, database=None, deadline=None, phases=[Phase.generate],
                      suppress_health_check=list(HealthCheck))  # fmt: skip
            @given(case=operation.as_strategy(generation_mode=mode))
            def check(case):
                request = case.as_transport_kwargs(base_url=base)
                request["headers"] = sent_headers(request["headers"], token)
                response = session.request(**request, timeout=30, allow_redirects=False)
                counts[f"{response.status_code}"] += 1
                wrong = hub_problem(described, response)
                assert wrong is None, f"{wrong}\nrequest: {request['method']} {request['url']}\nanswer: {response.text[:300]}"

            check()
    return counts


def test_generated_requests_to_the_culler_never_fail_it(hub):
    token = hub.token(hub.login("admin"), "admin")
    base = f"{hub.url.rstrip('/')}{CULLER_PREFIX}".rstrip("/")
    served = requests.get(f"{base}/openapi.json", headers={"Authorization": f"token {token}"}, timeout=30)
    assert served.json() == culler_description(CULLER_PREFIX)
    assert requests.get(f"{base}/openapi.json", headers={"Authorization": "token wrong"}, timeout=30,
                        allow_redirects=False).status_code in (302, 403)  # fmt: skip
    counts = fuzz(served.json(), base, token)
    print(f"\nculler: {sum(counts.values())} generated requests, statuses {dict(counts)}")
    assert "Traceback" not in hub.log()  # the hub's and its services' output
    assert sum(counts.values()) >= 300, counts


def test_generated_requests_to_the_gitlab_token_route_never_fail_the_hub(tmp_path_factory):
    """With a running server's own token (the one credential the route serves), through a real
    hub logged in with the GitLab stand-in."""
    from tests.gitlab.hub import clone_home, serving, server_environ, stop_server
    from tests.gitlab.test_tokens_hub import start_server
    from tests.gitlab_standin import GitLabStandIn
    from tests.gitlab_standin.state import DEVELOPER

    root = tmp_path_factory.mktemp("api-gitlab")
    gitlab = GitLabStandIn(root / "gitlab").start()
    alice = gitlab.world.add_user("alice")
    gitlab.world.add_group("ml-team", {alice: DEVELOPER})  # the hub lets ml-team in
    project = gitlab.world.add_project("ml-team", "notebooks", {alice: DEVELOPER})
    clone_home(root, gitlab, project, "alice")
    with serving(root, gitlab) as hub:
        start_server(hub, gitlab, alice)
        try:
            token = server_environ(hub, "alice")["JUPYTERHUB_API_TOKEN"]
            counts = fuzz(hub_description(), hub.url.rstrip("/") + "/hub", token)
        finally:
            stop_server(hub, "alice")
        assert "Traceback" not in hub.log()
    print(f"\ngitlab-token: {sum(counts.values())} generated requests, statuses {dict(counts)}")
    assert sum(counts.values()) >= 100 and counts["200"] > 0, counts
