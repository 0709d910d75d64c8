"""A user without the hybridhub permission gets 403 from every storage route, before any body."""

from __future__ import annotations

import pytest
from jupyter_server.auth.authorizer import Authorizer
from tornado.httpclient import HTTPClientError

from .conftest import new_bucket, on_server_loop, server_config
from .test_transfers import pending_uploads

pytestmark = pytest.mark.storage


class NoHybridhub(Authorizer):
    def is_authorized(self, handler, user, action, resource):
        return resource != "hybridhub"


@pytest.fixture
def jp_server_config(object_store):
    config = server_config(object_store)
    config["ServerApp"]["authorizer_class"] = NoHybridhub
    return config


@pytest.mark.parametrize(
    "method, path, body",
    [
        ("GET", "storage/buckets", None),
        ("GET", "storage/list?bucket=abc", None),
        ("GET", "storage/object?bucket=abc&key=x", None),
        ("PUT", "storage/upload?bucket=BUCKET&key=denied.bin", b"x" * 1000),
        ("POST", "storage/transfers", b"{}"),
        ("POST", "storage/presign", b"{}"),
        ("GET", "storage/pins", None),
        ("DELETE", "storage/object?bucket=abc&key=x", None),
    ],
)
@on_server_loop
async def test_forbidden_without_the_hybridhub_permission(jp_fetch, admin, method, path, body):
    bucket = new_bucket(admin)
    path = path.replace("BUCKET", bucket)
    route, _, query = path.partition("?")
    params = dict(p.split("=") for p in query.split("&")) if query else None
    with pytest.raises(HTTPClientError) as info:
        await jp_fetch("hybridhub", *route.split("/"), method=method, body=body, params=params)
    assert info.value.code == 403
    assert list(admin.list_objects(bucket)) == [] and pending_uploads(admin, bucket) == []
