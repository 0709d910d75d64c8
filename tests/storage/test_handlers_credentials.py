"""Wrong storage credentials reach the browser as a clear 4xx with a stable reason, no secret."""

from __future__ import annotations

import json

import pytest
from tornado.httpclient import HTTPClientError

from .conftest import on_server_loop, server_config

pytestmark = pytest.mark.storage

WRONG_SECRET = "definitely-not-the-secret-key"


@pytest.fixture
def jp_server_config(object_store):
    return server_config(object_store, secret_key=WRONG_SECRET)


@on_server_loop
async def test_wrong_credentials_are_a_clear_403(jp_fetch):
    for route, params in [("buckets", None), ("list", {"bucket": "some-bucket", "prefix": ""})]:
        with pytest.raises(HTTPClientError) as info:
            await jp_fetch("hybridhub", "storage", route, params=params)
        body = info.value.response.body.decode()
        err = json.loads(body)
        assert info.value.code == 403 and err["reason"] == "bad_credentials", body
        assert "secret key" in err["message"] and WRONG_SECRET not in body
