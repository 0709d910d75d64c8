"""The direct-upload routes through a real jupyter-server: the flow a browser follows, access,
bad bodies (400 with a catalog reason, never 5xx) and unknown ids (404 no_such_upload)."""

from __future__ import annotations

import json
import os

import pytest
from jupyter_server.auth.authorizer import Authorizer

from tests.gitlab.test_bad_input import fetch_json

from .conftest import new_bucket, on_server_loop, server_config
from .test_direct_downloads import browser_endpoint
from .test_direct_uploads import put_part
from .test_transfers import pending_uploads

pytestmark = pytest.mark.storage

PART = 6 * 1024 * 1024


class NoHybridhub(Authorizer):
    def is_authorized(self, handler, user, action, resource):
        return resource != "hybridhub"


@pytest.fixture
def jp_server_config(object_store, request):
    """With a browser endpoint, unless the test's ``setup`` parameter is ``no_browser_endpoint``;
    ``no_hybridhub`` denies the extension to the caller."""
    setup = getattr(request.node, "callspec", None) and request.node.callspec.params.get("setup")
    extra = {} if setup == "no_browser_endpoint" else {"browser_endpoint": browser_endpoint(object_store)}
    config = server_config(object_store, **extra)
    if setup == "no_hybridhub":
        config["ServerApp"]["authorizer_class"] = NoHybridhub
    return config


async def call(fetch, method: str, *route: str, body=None, **kwargs) -> tuple[int, dict | None]:
    kwargs["method"] = method
    if method != "DELETE":
        kwargs["body"] = body if isinstance(body, (bytes, str)) else json.dumps(body if body is not None else {})
    if method == "DELETE":
        try:
            response = await fetch("hybridhub", "storage", *route, **kwargs)
            return response.code, None
        except Exception:  # noqa: BLE001 - an error answer: read below as JSON
            pass
    return await fetch_json(fetch, "storage", *route, **kwargs)


@on_server_loop
async def test_a_browser_uploads_through_the_routes_and_the_object_appears_on_complete(jp_fetch, admin, object_store):
    bucket = new_bucket(admin)
    body = os.urandom(PART + 4321)
    config = json.loads((await jp_fetch("hybridhub", "storage", "config")).body)
    assert config["direct_uploads"] is True
    code, plan = await call(jp_fetch, "POST", "direct-uploads",
                            body={"bucket": bucket, "key": "in/two.bin", "size": len(body), "content_type": "text/csv"})
    assert code == 201 and (plan["part_size"], plan["parts"]) == (PART, 2), plan
    assert set(plan) == {"id", "part_size", "parts", "part_expiry", "idle_timeout"}
    code, urls = await call(jp_fetch, "POST", "direct-uploads", plan["id"], "parts", body={"numbers": [1, 2]})
    assert code == 200 and sorted(urls["urls"]) == ["1", "2"] and urls["expires_in"] == 300
    parts = []
    for number, chunk in ((1, body[:PART]), (2, body[PART:])):
        response = put_part(urls["urls"][str(number)], chunk)
        assert response.status == 200
        parts.append({"number": number, "etag": response.headers["ETag"]})
    assert list(admin.list_objects(bucket, recursive=True)) == []
    code, done = await call(jp_fetch, "POST", "direct-uploads", plan["id"], "complete", body={"parts": parts})
    assert code == 201 and done["size"] == len(body) and done["key"] == "in/two.bin" and done["etag"].endswith("-2")
    stored = admin.get_object(bucket, "in/two.bin")
    assert stored.read() == body and stored.headers["Content-Type"] == "text/csv"
    secret = object_store.credentials.user_secret_key
    assert all(secret not in json.dumps(answer) for answer in (config, plan, urls, done))
    # a browser that lost the answer asks again: the same answer (complete is idempotent); the upload
    # itself is gone (no part URLs for it any more)
    assert await call(jp_fetch, "POST", "direct-uploads", plan["id"], "complete", body={"parts": parts}) == (201, done)
    code, error = await call(jp_fetch, "POST", "direct-uploads", plan["id"], "parts", body={"numbers": [1]})
    assert (code, error["reason"]) == (404, "no_such_upload")


@on_server_loop
async def test_delete_cancels_and_unknown_ids_are_404(jp_fetch, admin):
    bucket = new_bucket(admin)
    code, plan = await call(jp_fetch, "POST", "direct-uploads", body={"bucket": bucket, "key": "c.bin", "size": 2 * PART})
    assert code == 201 and len(pending_uploads(admin, bucket)) == 1
    code, _ = await call(jp_fetch, "DELETE", "direct-uploads", plan["id"])
    assert code == 204 and pending_uploads(admin, bucket) == []
    for upload_id in (plan["id"], "nope", "x y", "0" * 300):
        for method, route, body in (("DELETE", (), None), ("POST", ("parts",), {"numbers": [1]}),
                                    ("POST", ("complete",), {"parts": []})):  # fmt: skip
            code, error = await call(jp_fetch, method, "direct-uploads", upload_id, *route, body=body)
            assert (code, error["reason"]) == (404, "no_such_upload"), (upload_id, route)


@on_server_loop
async def test_bad_bodies_are_400_with_a_reason_and_start_nothing(jp_fetch, admin):
    bucket = new_bucket(admin)
    ok = {"bucket": bucket, "key": "b.bin", "size": 10}
    starts = [
        {**ok, "size": None}, {**ok, "size": "10"}, {**ok, "size": -1}, {**ok, "size": 1.5}, {**ok, "size": 0},
        {**ok, "size": 10**30}, {**ok, "bucket": None}, {**ok, "key": ""}, {**ok, "overwrite": "yes"},
        {**ok, "content_type": 5}, {**ok, "content_type": "a\nb"}, {**ok, "content_type": "テキスト"},
        "[1]", "{", '{"bucket": "\\ud800", "key": "k", "size": 5}',
    ]
    for body in starts:
        code, error = await call(jp_fetch, "POST", "direct-uploads", body=body)
        assert (code, error["reason"]) in {(400, "invalid_request"), (400, "invalid_key")}, (body, error)
        assert error["message"]
    code, error = await call(jp_fetch, "POST", "direct-uploads", body={**ok, "key": "../b.bin"})
    assert (code, error["reason"]) == (400, "invalid_key")
    assert pending_uploads(admin, bucket) == []
    code, plan = await call(jp_fetch, "POST", "direct-uploads", body={**ok, "size": 3 * PART})
    for body in ({}, {"numbers": "1"}, {"numbers": [0]}, {"numbers": [4]}, {"numbers": [1.0]}, {"numbers": [1] * 101}, "x"):
        code, error = await call(jp_fetch, "POST", "direct-uploads", plan["id"], "parts", body=body)
        assert (code, error["reason"]) == (400, "invalid_request"), body
    for body in ({}, {"parts": {"1": "e"}}, {"parts": [{"number": "1", "etag": "e"}]}, {"parts": [{"number": 1, "etag": ""}]}):
        code, error = await call(jp_fetch, "POST", "direct-uploads", plan["id"], "complete", body=body)
        assert (code, error["reason"]) == (400, "invalid_request"), body
    code, error = await call(jp_fetch, "POST", "direct-uploads", plan["id"], "complete",
                             body={"parts": [{"number": 1, "etag": '"abc"'}]})  # fmt: skip
    assert (code, error["reason"]) == (400, "incomplete_upload") and "2, 3" in error["message"]
    code, _ = await call(jp_fetch, "DELETE", "direct-uploads", plan["id"])
    assert code == 204 and pending_uploads(admin, bucket) == []


@on_server_loop
async def test_without_a_token_nothing_starts(jp_fetch, admin):
    bucket = new_bucket(admin)
    code, plan = await call(jp_fetch, "POST", "direct-uploads", body={"bucket": bucket, "key": "t.bin", "size": 2 * PART})
    assert code == 201
    anonymous = {"headers": {"Authorization": ""}}
    cases = [("POST", ("direct-uploads",), {"bucket": bucket, "key": "u.bin", "size": 2 * PART}),
             ("POST", ("direct-uploads", plan["id"], "parts"), {"numbers": [1]}),
             ("POST", ("direct-uploads", plan["id"], "complete"), {"parts": []}),
             ("DELETE", ("direct-uploads", plan["id"]), None)]  # fmt: skip
    for method, route, body in cases:
        code, error = await call(jp_fetch, method, *route, body=body, **anonymous)
        assert (code, error["reason"]) == (403, "forbidden"), route
    assert [u.object_name for u in pending_uploads(admin, bucket)] == ["t.bin"]  # still there, not cancelled
    code, _ = await call(jp_fetch, "DELETE", "direct-uploads", plan["id"])
    assert code == 204


@pytest.mark.parametrize("setup", ["no_hybridhub"])
@on_server_loop
async def test_forbidden_without_the_hybridhub_permission(jp_fetch, admin, setup):
    bucket = new_bucket(admin)
    for method, route, body in (("POST", ("direct-uploads",), {"bucket": bucket, "key": "d.bin", "size": 2 * PART}),
                                ("POST", ("direct-uploads", "x", "parts"), {"numbers": [1]}),
                                ("POST", ("direct-uploads", "x", "complete"), {"parts": []}),
                                ("DELETE", ("direct-uploads", "x"), None)):  # fmt: skip
        code, error = await call(jp_fetch, method, *route, body=body)
        assert (code, error["reason"]) == (403, "forbidden"), route
    assert pending_uploads(admin, bucket) == []


@pytest.mark.parametrize("setup", ["no_browser_endpoint"])
@on_server_loop
async def test_without_a_browser_endpoint_the_browser_is_told_to_stream(jp_fetch, admin, setup):
    bucket = new_bucket(admin)
    config = json.loads((await jp_fetch("hybridhub", "storage", "config")).body)
    assert config["direct_uploads"] is False
    code, error = await call(jp_fetch, "POST", "direct-uploads", body={"bucket": bucket, "key": "s.bin", "size": 10})
    assert (code, error["reason"]) == (409, "direct_uploads_off")
    assert pending_uploads(admin, bucket) == []
