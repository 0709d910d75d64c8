"""Downloads straight from the store when browsers can reach it (``browser_endpoint``).

The extension looks the object up, then redirects to a short-lived presigned URL signed for
the browser's host name; the bytes never pass through the user server.
"""

from __future__ import annotations

import http.client
import io
import json
import urllib.parse

import pytest
from tornado.httpclient import HTTPClientError

from hybridhub.lab_ext.storage.errors import StorageError
from hybridhub.lab_ext.storage.service import StorageService

from .conftest import new_bucket, on_server_loop, server_config, storage_config

pytestmark = pytest.mark.storage


def browser_endpoint(store) -> str:
    """The same store under another host name, as a browser in the office might know it."""
    return f"http://localhost:{urllib.parse.urlsplit(store.endpoint).port}"


def fetch_as_browser(url: str, host_header: str | None = None) -> http.client.HTTPResponse:
    """GET ``url`` over loopback with the Host header a browser would send (no credentials)."""
    parts = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection("127.0.0.1", parts.port, timeout=30)
    conn.request("GET", f"{parts.path}?{parts.query}", headers={"Host": host_header or parts.netloc})
    response = conn.getresponse()
    response.body = response.read()
    conn.close()
    return response


@pytest.fixture
def direct_service(object_store, workspace):
    svc = StorageService(storage_config(object_store, browser_endpoint=browser_endpoint(object_store), prefix="team/"), workspace)
    yield svc
    svc.jobs.shutdown()


def test_links_are_signed_for_the_browser_host(direct_service, object_store, bucket, admin):
    admin.put_object(bucket, "team/データ.csv", io.BytesIO(b"a,b\n1,2\n"), 8)
    url = direct_service.download_link(bucket, "team/データ.csv")
    parts = urllib.parse.urlsplit(url)
    assert parts.netloc == urllib.parse.urlsplit(browser_endpoint(object_store)).netloc
    query = urllib.parse.parse_qs(parts.query)
    assert query["X-Amz-Expires"] == ["120"]
    assert object_store.credentials.user_secret_key not in url
    got = fetch_as_browser(url)
    assert got.status == 200 and got.body == b"a,b\n1,2\n"
    assert got.getheader("Content-Disposition") == "attachment; filename*=UTF-8''%E3%83%87%E3%83%BC%E3%82%BF.csv"
    # SigV4 binds the host: the same link presented under the server's host name is refused
    assert fetch_as_browser(url, host_header=urllib.parse.urlsplit(object_store.endpoint).netloc).status == 403
    # shared presigned links use the browser host too
    shared = direct_service.presign(bucket, "team/データ.csv", 60)["url"]
    assert fetch_as_browser(shared).body == b"a,b\n1,2\n"


def test_no_link_for_a_missing_or_confined_object(direct_service, bucket):
    with pytest.raises(StorageError) as info:
        direct_service.download_link(bucket, "team/missing.csv")
    assert info.value.reason == "no_such_key"
    with pytest.raises(StorageError) as info:
        direct_service.download_link(bucket, "elsewhere/x.csv")
    assert info.value.reason == "outside_prefix"


@pytest.fixture
def jp_server_config(object_store):
    return server_config(object_store, browser_endpoint=browser_endpoint(object_store))


@on_server_loop
async def test_download_redirects_to_the_store(jp_fetch, admin, object_store):
    bucket = new_bucket(admin)
    body = b"0123456789" * 1000
    admin.put_object(bucket, "d/big.bin", io.BytesIO(body), len(body))
    config = json.loads((await jp_fetch("hybridhub", "storage", "config")).body)
    assert config["direct_downloads"] is True
    with pytest.raises(HTTPClientError) as info:
        await jp_fetch("hybridhub", "storage", "object", params={"bucket": bucket, "key": "d/big.bin"}, follow_redirects=False)
    redirect = info.value.response
    assert redirect.code == 307
    assert redirect.headers["Cache-Control"] == "no-store" and redirect.headers["Referrer-Policy"] == "no-referrer"
    location = redirect.headers["Location"]
    assert location.startswith(browser_endpoint(object_store) + f"/{bucket}/d/big.bin?")
    assert object_store.credentials.user_secret_key not in location
    got = fetch_as_browser(location)
    assert got.status == 200 and got.body == body and got.getheader("Content-Disposition").startswith("attachment;")


@on_server_loop
async def test_previews_and_proxy_requests_still_stream_through_the_server(jp_fetch, admin):
    bucket = new_bucket(admin)
    admin.put_object(bucket, "i/p.png", io.BytesIO(b"\x89PNG...."), 8)
    r = await jp_fetch("hybridhub", "storage", "object", params={"bucket": bucket, "key": "i/p.png", "inline": "1"}, follow_redirects=False)
    assert r.code == 200 and r.body == b"\x89PNG...." and r.headers["Content-Type"] == "image/png"
    r = await jp_fetch("hybridhub", "storage", "object", params={"bucket": bucket, "key": "i/p.png", "proxy": "1"}, follow_redirects=False)
    assert r.code == 200 and r.body == b"\x89PNG...." and r.headers["Content-Type"] == "application/octet-stream"


@on_server_loop
async def test_missing_object_is_a_clear_404_not_a_redirect(jp_fetch, admin):
    bucket = new_bucket(admin)
    with pytest.raises(HTTPClientError) as info:
        await jp_fetch("hybridhub", "storage", "object", params={"bucket": bucket, "key": "nope.bin"}, follow_redirects=False)
    assert info.value.code == 404
    assert json.loads(info.value.response.body)["reason"] == "no_such_key"


def test_a_link_for_an_older_version_sends_that_version(object_store, workspace, admin):
    bucket = new_bucket(admin, versioned=True)
    first = admin.put_object(bucket, "team/model.bin", io.BytesIO(b"v1"), 2)
    admin.put_object(bucket, "team/model.bin", io.BytesIO(b"v2 bytes"), 8)
    svc = StorageService(storage_config(object_store, browser_endpoint=browser_endpoint(object_store)), workspace)
    try:
        assert fetch_as_browser(svc.download_link(bucket, "team/model.bin", first.version_id)).body == b"v1"
        assert fetch_as_browser(svc.download_link(bucket, "team/model.bin")).body == b"v2 bytes"
        with pytest.raises(StorageError) as info:
            svc.download_link(bucket, "team/model.bin", "not-a-version")
        assert info.value.reason == "no_such_version"
    finally:
        svc.jobs.shutdown()
