"""The REST API through a real jupyter-server with the hybridhub extension enabled."""

from __future__ import annotations

import asyncio
import io
import json
import os

import pytest
from tornado.httpclient import HTTPClientError

from hybridhub.lab_ext.storage import transfers

from .conftest import new_bucket, on_server_loop, server_config
from .test_transfers import pending_uploads

pytestmark = pytest.mark.storage


@pytest.fixture
def jp_server_config(object_store):
    return server_config(object_store, region="us-east-1")


async def fail_with(coro) -> tuple[int, dict]:
    with pytest.raises(HTTPClientError) as info:
        await coro
    body = info.value.response.body
    return info.value.code, json.loads(body) if body else {}


def data(response) -> dict:
    return json.loads(response.body)


@on_server_loop
async def test_config_hides_credentials(jp_fetch, object_store):
    r = await jp_fetch("hybridhub", "storage", "config")
    text = r.body.decode()
    assert data(r)["configured"] is True and data(r)["endpoint"] == object_store.endpoint
    assert object_store.credentials.user_secret_key not in text
    assert object_store.credentials.user_access_key not in text


@on_server_loop
async def test_browse_upload_preview_download_delete(jp_fetch, admin, jp_root_dir):
    bucket = new_bucket(admin)
    assert bucket in [b["name"] for b in data(await jp_fetch("hybridhub", "storage", "buckets"))["buckets"]]
    body = b"col,val\n1,2\n"
    r = await jp_fetch("hybridhub", "storage", "upload", method="PUT", body=body, params={"bucket": bucket, "key": "d/t.csv"})
    assert r.code == 201 and data(r)["size"] == len(body)
    page = data(await jp_fetch("hybridhub", "storage", "list", params={"bucket": bucket, "prefix": "", "limit": "10"}))
    assert page["entries"] == [{"type": "prefix", "key": "d/", "name": "d/"}] and page["next_token"] is None
    p = data(await jp_fetch("hybridhub", "storage", "preview", params={"bucket": bucket, "key": "d/t.csv"}))
    assert p["rows"] == [["col", "val"], ["1", "2"]]
    r = await jp_fetch("hybridhub", "storage", "object", params={"bucket": bucket, "key": "d/t.csv"})
    assert r.body == body and "attachment" in r.headers["Content-Disposition"]
    assert r.headers["Content-Type"] == "application/octet-stream"
    # uploading onto an existing key needs overwrite
    code, err = await fail_with(jp_fetch("hybridhub", "storage", "upload", method="PUT", body=b"x", params={"bucket": bucket, "key": "d/t.csv"}))
    assert code == 409 and err["reason"] == "object_exists"
    await jp_fetch("hybridhub", "storage", "upload", method="PUT", body=b"x", params={"bucket": bucket, "key": "d/t.csv", "overwrite": "1"})
    stat = data(await jp_fetch("hybridhub", "storage", "stat", params={"bucket": bucket, "key": "d/t.csv"}))
    assert stat["size"] == 1
    r = await jp_fetch("hybridhub", "storage", "object", method="DELETE", params={"bucket": bucket, "key": "d/t.csv"})
    assert r.code == 204
    code, err = await fail_with(jp_fetch("hybridhub", "storage", "stat", params={"bucket": bucket, "key": "d/t.csv"}))
    assert code == 404 and err["reason"] == "no_such_key" and err["message"]


@on_server_loop
async def test_large_upload_through_the_server_is_multipart(jp_fetch, admin):
    bucket = new_bucket(admin)
    size = 2 * transfers.PART_SIZE + 10
    body = os.urandom(size)
    r = await jp_fetch("hybridhub", "storage", "upload", method="PUT", body=body, params={"bucket": bucket, "key": "big.bin"}, request_timeout=120)
    assert data(r)["size"] == size
    assert admin.stat_object(bucket, "big.bin").etag.strip('"').endswith("-3")
    r = await jp_fetch("hybridhub", "storage", "object", params={"bucket": bucket, "key": "big.bin"}, request_timeout=120)
    assert r.body == body


@on_server_loop
async def test_image_preview_is_served_inline_with_safe_headers(jp_fetch, admin):
    bucket = new_bucket(admin)
    admin.put_object(bucket, "i/p.png", io.BytesIO(b"\x89PNG...."), 8)
    r = await jp_fetch("hybridhub", "storage", "object", params={"bucket": bucket, "key": "i/p.png", "inline": "1"})
    assert r.headers["Content-Type"] == "image/png" and r.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in r.headers["Content-Security-Policy"]
    admin.put_object(bucket, "i/x.svg", io.BytesIO(b"<svg/>"), 6)
    code, err = await fail_with(jp_fetch("hybridhub", "storage", "object", params={"bucket": bucket, "key": "i/x.svg", "inline": "1"}))
    assert code == 415 and err["reason"] == "preview_unsupported"


@pytest.mark.parametrize(
    "params, status, reason",
    [
        ({"bucket": "Bad_Bucket", "prefix": ""}, 400, "invalid_bucket"),
        ({"bucket": "no-such-bucket-x1", "prefix": ""}, 404, "no_such_bucket"),
        ({"bucket": "abc", "prefix": "../"}, 400, "invalid_key"),
        ({"prefix": ""}, 400, "invalid_request"),
    ],
)
@on_server_loop
async def test_bad_listing_input(jp_fetch, params, status, reason):
    code, err = await fail_with(jp_fetch("hybridhub", "storage", "list", params=params))
    assert (code, err["reason"]) == (status, reason) and err["message"]


@on_server_loop
async def test_bad_keys_and_paths_are_refused(jp_fetch, admin, jp_root_dir):
    bucket = new_bucket(admin)
    code, err = await fail_with(jp_fetch("hybridhub", "storage", "upload", method="PUT", body=b"x", params={"bucket": bucket, "key": "a/../b"}))
    assert code == 400 and err["reason"] == "invalid_key"
    admin.put_object(bucket, "k.txt", io.BytesIO(b"k"), 1)
    for path in ["../escape.txt", "/etc/passwd", "a/../../x"]:
        body = json.dumps({"direction": "download", "bucket": bucket, "key": "k.txt", "path": path})
        code, err = await fail_with(jp_fetch("hybridhub", "storage", "transfers", method="POST", body=body))
        assert code == 400 and err["reason"] == "invalid_path", path
    assert not (jp_root_dir.parent / "escape.txt").exists()
    code, err = await fail_with(jp_fetch("hybridhub", "storage", "transfers", method="POST", body="{not json"))
    assert code == 400 and err["reason"] == "invalid_request"


@on_server_loop
async def test_workspace_transfers_and_cancel(jp_fetch, admin, jp_root_dir):
    bucket = new_bucket(admin)
    (jp_root_dir / "train.csv").write_text("a,b\n1,2\n")
    body = json.dumps({"direction": "upload", "bucket": bucket, "key": "ws/train.csv", "path": "train.csv"})
    job = data(await jp_fetch("hybridhub", "storage", "transfers", method="POST", body=body))
    assert job["state"] == "running" or job["state"] == "done"
    for _ in range(200):
        job = data(await jp_fetch("hybridhub", "storage", "transfers", job["id"]))
        if job["state"] != "running":
            break
        await asyncio.sleep(0.05)
    assert job["state"] == "done" and job["done"] == job["total"] == 8
    body = json.dumps({"direction": "download", "bucket": bucket, "key": "ws/train.csv", "path": "copy.csv"})
    job = data(await jp_fetch("hybridhub", "storage", "transfers", method="POST", body=body))
    for _ in range(200):
        job = data(await jp_fetch("hybridhub", "storage", "transfers", job["id"]))
        if job["state"] != "running":
            break
        await asyncio.sleep(0.05)
    assert (jp_root_dir / "copy.csv").read_text() == "a,b\n1,2\n"
    listed = data(await jp_fetch("hybridhub", "storage", "transfers"))["transfers"]
    assert {j["id"] for j in listed} >= {job["id"]}
    r = await jp_fetch("hybridhub", "storage", "transfers", job["id"], method="DELETE")
    assert data(r)["state"] == "done"
    code, err = await fail_with(jp_fetch("hybridhub", "storage", "transfers", "0123456789abcdef"))
    assert code == 404 and err["reason"] == "no_such_transfer"


@on_server_loop
async def test_presign_versions_and_pins(jp_fetch, admin, jp_root_dir):
    bucket = new_bucket(admin, versioned=True)
    v1 = admin.put_object(bucket, "m.bin", io.BytesIO(b"1"), 1).version_id
    admin.put_object(bucket, "m.bin", io.BytesIO(b"2"), 1)
    versions = data(await jp_fetch("hybridhub", "storage", "versions", params={"bucket": bucket, "key": "m.bin"}))["versions"]
    assert len(versions) == 2
    r = await jp_fetch("hybridhub", "storage", "object", params={"bucket": bucket, "key": "m.bin", "version": v1})
    assert r.body == b"1"
    pin = data(await jp_fetch("hybridhub", "storage", "pins", method="POST", body=json.dumps({"bucket": bucket, "key": "m.bin", "version_id": v1})))
    assert pin["version_id"] == v1
    assert data(await jp_fetch("hybridhub", "storage", "pins"))["pins"] == [pin]
    r = await jp_fetch("hybridhub", "storage", "pins", method="DELETE", params={"bucket": bucket, "key": "m.bin"})
    assert r.code == 204
    link = data(await jp_fetch("hybridhub", "storage", "presign", method="POST", body=json.dumps({"bucket": bucket, "key": "m.bin", "expires": 600})))
    assert link["url"].startswith("http") and link["expires_in"] == 600
    code, err = await fail_with(jp_fetch("hybridhub", "storage", "presign", method="POST", body=json.dumps({"bucket": bucket, "key": "m.bin", "expires": "1h"})))
    assert code == 400 and err["reason"] == "invalid_request"
    r = await jp_fetch("hybridhub", "storage", "folder", method="POST", body=json.dumps({"bucket": bucket, "prefix": "new/"}))
    assert r.code == 201


@on_server_loop
async def test_browser_going_away_mid_upload_leaves_nothing(jp_fetch, jp_http_port, jp_base_url, jp_auth_header, admin):
    bucket = new_bucket(admin)
    declared = 4 * transfers.PART_SIZE
    path = f"{jp_base_url}hybridhub/storage/upload?bucket={bucket}&key=gone.bin"
    head = (
        f"PUT {path} HTTP/1.1\r\nHost: 127.0.0.1:{jp_http_port}\r\n"
        f"Authorization: {jp_auth_header['Authorization']}\r\nContent-Length: {declared}\r\n\r\n"
    ).encode()
    reader, writer = await asyncio.open_connection("127.0.0.1", jp_http_port)
    writer.write(head)
    await writer.drain()
    try:
        early = await asyncio.wait_for(reader.read(2000), 1.0)
    except asyncio.TimeoutError:
        early = b""
    assert early == b"", early
    chunk = os.urandom(1024 * 1024)
    for _ in range(2 * transfers.PART_SIZE // len(chunk) + 2):  # more than two parts, then vanish
        writer.write(chunk)
        await writer.drain()
    await asyncio.sleep(0.5)
    writer.transport.abort()
    for _ in range(100):
        await asyncio.sleep(0.1)
        if not pending_uploads(admin, bucket):
            break
    assert pending_uploads(admin, bucket) == []
    assert not transfers.object_exists(admin, bucket, "gone.bin")


@on_server_loop
async def test_unauthenticated_requests_are_refused(jp_fetch, jp_http_port, jp_base_url):
    from tornado.httpclient import AsyncHTTPClient

    client = AsyncHTTPClient()
    base = f"http://127.0.0.1:{jp_http_port}{jp_base_url}hybridhub/storage/"
    for method, path, body in [("GET", "buckets", None), ("PUT", "upload?bucket=abc&key=x", b"x" * 10), ("POST", "presign", b"{}")]:
        with pytest.raises(HTTPClientError) as info:
            await client.fetch(base + path, method=method, body=body, raise_error=True)
        assert info.value.code in {401, 403}, (method, path)


@on_server_loop
async def test_empty_file_upload_and_download(jp_fetch, admin):
    bucket = new_bucket(admin)
    r = await jp_fetch("hybridhub", "storage", "upload", method="PUT", body=b"", params={"bucket": bucket, "key": "empty.txt"}, allow_nonstandard_methods=True)
    assert r.code == 201 and data(r)["size"] == 0
    assert admin.stat_object(bucket, "empty.txt").size == 0
    r = await jp_fetch("hybridhub", "storage", "object", params={"bucket": bucket, "key": "empty.txt"})
    assert r.body == b""
    p = data(await jp_fetch("hybridhub", "storage", "preview", params={"bucket": bucket, "key": "empty.txt"}))
    assert p["kind"] == "text" and p["text"] == "" and p["truncated"] is False


@on_server_loop
async def test_download_sends_the_bytes_as_stored_even_when_content_encoded(jp_fetch, admin):
    """An object uploaded with Content-Encoding: gzip is sent as stored (its Content-Length),
    never silently decompressed on the way."""
    import gzip

    bucket = new_bucket(admin)
    stored = gzip.compress(b"label,value\n" * 5000)
    admin.put_object(bucket, "logs/a.csv.gz", io.BytesIO(stored), len(stored), metadata={"Content-Encoding": "gzip"})
    assert admin.stat_object(bucket, "logs/a.csv.gz").metadata.get("Content-Encoding") == "gzip"
    r = await jp_fetch("hybridhub", "storage", "object", params={"bucket": bucket, "key": "logs/a.csv.gz"}, decompress_response=False)
    assert r.body == stored and int(r.headers["Content-Length"]) == len(stored)
    assert "Content-Encoding" not in r.headers


@on_server_loop
async def test_next_page_with_the_authorization_header(jp_fetch, admin):
    # jupyter-server takes ?token= as the login credential before the Authorization header
    # (IdentityProvider.get_token), so the page parameter must not be called "token"
    bucket = new_bucket(admin)
    for name in ("a.txt", "b.txt"):
        admin.put_object(bucket, name, io.BytesIO(b"x"), 1)
    first = data(await jp_fetch("hybridhub", "storage", "list", params={"bucket": bucket, "limit": "1"}))
    assert [e["name"] for e in first["entries"]] == ["a.txt"] and first["next_token"]
    params = {"bucket": bucket, "limit": "1", "continuation": first["next_token"]}
    second = data(await jp_fetch("hybridhub", "storage", "list", params=params))
    assert [e["name"] for e in second["entries"]] == ["b.txt"]
