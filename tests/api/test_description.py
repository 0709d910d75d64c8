"""The OpenAPI description: built from the route table and the reason catalogs, served behind
the routes' own authentication; and the errors tornado and jupyter-server answer themselves
(no login, a method a route lacks, an address under the namespace that is no route) carry a
reason code from the catalog too."""

from __future__ import annotations

import json
import re

import pytest
import schemathesis
from tornado.httpclient import HTTPClientError

from hybridhub.lab_ext.activity.errors import REASONS as ACTIVITY_REASONS
from hybridhub.lab_ext.git.errors import REASONS as GIT_REASONS
from hybridhub.lab_ext.models.errors import ModelsError
from hybridhub.lab_ext.openapi import OPERATIONS, build_description
from hybridhub.lab_ext.pipelines.errors import REASONS as PIPELINE_REASONS
from hybridhub.lab_ext.reasons import RequestError
from hybridhub.lab_ext.routes import ROUTES
from hybridhub.lab_ext.storage.errors import REASONS as STORAGE_REASONS

pytestmark = pytest.mark.api

DESCRIPTION = build_description(ROUTES)


def route_of(path: str) -> str:
    """``/pipelines/runs/{pipeline_id}`` -> the regular expression it stands for (``{x}`` -> a group)."""
    return re.sub(r"\{[a-z_]+\}", "(X)", path.lstrip("/"))


def test_the_description_is_valid_openapi_3_1():
    schemathesis.openapi.from_dict(DESCRIPTION).validate()  # the OAS 3.1 meta-schema
    broken = {**DESCRIPTION, "paths": {"/status": {"get": {"responses": "none"}}}}
    with pytest.raises(Exception, match="responses"):
        schemathesis.openapi.from_dict(broken).validate()


def test_the_paths_are_exactly_the_route_table():
    documented = sorted(route_of(path) for path in DESCRIPTION["paths"])
    routes = sorted(re.sub(r"\([^()]*\)", "(X)", route) for route, _ in ROUTES)
    assert documented == routes and len(set(routes)) == len(ROUTES)
    assert sorted(OPERATIONS) == sorted(route for route, _ in ROUTES)  # no description of a route that is gone


def test_each_path_has_the_methods_its_handler_implements_and_its_regex_as_pattern():
    for (route, handler), (path, item) in zip(ROUTES, DESCRIPTION["paths"].items()):
        assert sorted(item) == sorted(m.lower() for m in handler.allowed_methods()), path
        for operation in item.values():
            groups = [p["schema"]["pattern"] for p in operation["parameters"] if p["in"] == "path"]
            assert groups == [f"^(?:{g})$" for g in re.findall(r"\(([^()]*)\)", route)], path


def test_reason_enums_are_the_catalogs():
    codes = set(DESCRIPTION["components"]["schemas"]["Error"]["properties"]["reason"]["enum"])
    catalogs = [RequestError.REASONS, STORAGE_REASONS, GIT_REASONS, PIPELINE_REASONS, ACTIVITY_REASONS, ModelsError.REASONS]
    assert codes == set().union(*catalogs)
    commit = DESCRIPTION["paths"]["/git/commit"]["post"]["responses"]
    assert commit["409"]["content"]["application/json"]["schema"]["allOf"][1]["properties"]["reason"]["enum"] == sorted(
        code for code, (status, _) in {**RequestError.REASONS, **GIT_REASONS}.items() if status == 409
    )
    assert "no_such_bucket" not in json.dumps(commit)  # each route lists its own area's codes


def test_a_route_left_out_of_the_operations_table_is_refused():
    with pytest.raises(ValueError, match="must describe exactly"):
        build_description([*ROUTES, ("storage/new-route", ROUTES[1][1])])


@pytest.fixture
def jp_server_config(monkeypatch):
    for name in ("HYBRIDHUB_GITLAB_URL", "HYBRIDHUB_GITLAB_TOKEN", "HYBRIDHUB_S3_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)
    return {"ServerApp": {"jpserver_extensions": {"hybridhub.lab_ext": True}}}


async def error_of(fetch, *parts, **kwargs) -> tuple[int, dict, object]:
    with pytest.raises(HTTPClientError) as info:
        await fetch(*parts, **kwargs)
    response = info.value.response
    assert response.headers["Content-Type"].startswith("application/json")
    return info.value.code, json.loads(response.body), response.headers


async def test_the_description_is_served_behind_the_same_authentication(jp_fetch, jp_base_url):
    served = json.loads((await jp_fetch("hybridhub", "openapi.json")).body)
    assert served["paths"] == DESCRIPTION["paths"]
    assert served["servers"] == [{"url": jp_base_url.rstrip("/") + "/hybridhub"}]
    code, body, _ = await error_of(jp_fetch, "hybridhub", "openapi.json", headers={"Authorization": "token wrong"})
    assert (code, body["reason"]) == (403, "forbidden")


async def test_a_method_a_route_lacks_is_405_with_a_reason_and_allow(jp_fetch):
    """tornado's own 405 answered ``"reason": null`` (issue 17)."""
    code, body, headers = await error_of(jp_fetch, "hybridhub", "storage", "config", method="DELETE")
    assert (code, body["reason"]) == (405, "method_not_allowed") and headers["Allow"] == "GET"
    code, body, headers = await error_of(jp_fetch, "hybridhub", "storage", "pins", method="PATCH", body="{}")
    assert (code, body["reason"]) == (405, "method_not_allowed") and headers["Allow"] == "GET, POST, DELETE"


async def test_an_address_under_the_namespace_that_is_no_route_is_a_json_404(jp_fetch):
    code, body, _ = await error_of(jp_fetch, "hybridhub", "storage", "transfers", "not-a-job-id")
    assert (code, body["reason"]) == (404, "no_such_route")
    code, body, _ = await error_of(jp_fetch, "hybridhub", "nothing", method="POST", body="{}")
    assert (code, body["reason"]) == (404, "no_such_route")
    code, body, _ = await error_of(jp_fetch, "hybridhub", "nothing", headers={"Authorization": "token wrong"})
    assert (code, body["reason"]) == (403, "forbidden")  # no hint to an anonymous caller


async def test_no_xsrf_and_no_login_are_403_forbidden_with_a_reason(jp_fetch):
    code, body, _ = await error_of(jp_fetch, "hybridhub", "git", "commit", method="POST", body="{}",
                                   headers={"Authorization": "", "Cookie": "x=1"})  # fmt: skip
    assert (code, body["reason"]) == (403, "forbidden")
