"""Store faults seen through a real jupyter-server with the extension: a browser upload gets its
error while it is still sending (the rest of its body is not read), and the local routes answer
while every store thread waits on a stalled store.
"""

from __future__ import annotations

import asyncio
import http.client
import io
import json
import os
import select
import socket
import time
from urllib.parse import urlencode

import pytest
from tornado.httpclient import HTTPClientError

from tests.storage.conftest import new_bucket, on_server_loop, server_config

from .conftest import FIRST_BYTE, SLACK, STALL

pytestmark = pytest.mark.faults

MiB = 1024 * 1024
UPLOAD = 192 * MiB
#: more than the 8 store threads, fewer than the 10 connections of the tests' HTTP client
STALLED_CALLS = 9


@pytest.fixture
def jp_server_config(object_store, store_proxy, request):
    first_byte, stall = getattr(request, "param", (FIRST_BYTE, STALL))
    return server_config(object_store, endpoint=store_proxy.endpoint, first_byte_timeout=first_byte, stall_timeout=stall)


def browser_upload(port: int, path: str, headers: dict, sent: list[int], rate: float | None = None) -> tuple[int, dict]:
    """A browser-like PUT of ``UPLOAD`` bytes sent as fast as the server takes them (or at
    ``rate`` bytes per second). Like a browser it watches for an answer while it sends, stops
    sending once one comes (RFC 9112, 9.6) and reads it; the server must then close cleanly
    (FIN), not reset the connection, which can destroy the answer before it is read."""
    head = f"PUT {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
    head += "".join(f"{name}: {value}\r\n" for name, value in {**headers, "Content-Length": str(UPLOAD)}.items())
    block = memoryview(os.urandom(256 * 1024))
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
        sock.sendall(head.encode() + b"\r\n")
        while sent[0] < UPLOAD:
            readable, writable, _ = select.select([sock], [sock], [], 60)
            if readable:
                break  # the answer came before the body's end
            sent[0] += sock.send(block[: UPLOAD - sent[0]])
            if rate:
                time.sleep(max(0.0, started + sent[0] / rate - time.monotonic()))
        answer = b""
        while chunk := sock.recv(65536):  # a reset raises here: the test fails
            answer += chunk
    status_line, _, rest = answer.partition(b"\r\n")
    body = rest.partition(b"\r\n\r\n")[2]
    return int(status_line.split()[1]), json.loads(body or b"{}")


async def _upload_while(fault, store_proxy, admin, jp_http_port, jp_base_url, jp_auth_header):
    bucket = new_bucket(admin)
    path = f"{jp_base_url}hybridhub/storage/upload?" + urlencode({"bucket": bucket, "key": "big.bin"})
    sent = [0]
    loop = asyncio.get_running_loop()
    store_proxy.throttle(up=8 * MiB)  # a store a bit slower than the browser: the body queues up
    upload = loop.run_in_executor(None, browser_upload, jp_http_port, path, jp_auth_header, sent)
    while store_proxy.bytes_up < 7 * MiB:  # the first part is on its way to the store
        assert not upload.done(), upload.result()
        await asyncio.sleep(0.01)
    fault()
    faulted = time.monotonic()
    status, answer = await asyncio.wait_for(upload, timeout=60)
    return bucket, status, answer, time.monotonic() - faulted, sent[0]


@pytest.mark.parametrize("fault", ["stall", "kill"])
@on_server_loop
async def test_a_browser_upload_gets_the_store_error_at_once_without_sending_the_rest(
    fault, store_proxy, admin, jp_http_port, jp_base_url, jp_auth_header, jp_fetch
):
    bucket, status, answer, took, sent = await _upload_while(
        getattr(store_proxy, fault), store_proxy, admin, jp_http_port, jp_base_url, jp_auth_header
    )
    assert status == 503 and answer["reason"] == "storage_unreachable", answer
    assert took <= max(STALL, FIRST_BYTE) + SLACK
    # the server stopped reading: the browser sent no more than what the server's bounded
    # buffers and the sockets' kernel buffers (several MiB each on loopback) took in
    assert sent < UPLOAD / 2
    store_proxy.restore()
    with pytest.raises(HTTPClientError) as info:
        await jp_fetch("hybridhub", "storage", "stat", params={"bucket": bucket, "key": "big.bin"})
    assert info.value.code == 404  # no partial object
    # the store is back: a retry ends what the failed attempt could not abort, and succeeds. This
    # server's first-byte deadline is the test's tight 1 s (the fault above is what is measured): on
    # a loaded 2-core machine the store's first answer after the fault can take longer, which the
    # server rightly reports as 503 storage_unreachable; the person retries, so does the test (3 at most)
    for attempt in range(3):
        try:
            r = await jp_fetch(
                "hybridhub", "storage", "upload", method="PUT", body=b"x" * (7 * MiB), request_timeout=60,
                params={"bucket": bucket, "key": "big.bin", "overwrite": "1"},
            )  # fmt: skip
            break
        except HTTPClientError as error:
            assert error.code == 503 and attempt < 2, error
    assert r.code == 201
    assert [u.object_name for u in admin._list_multipart_uploads(bucket).uploads] == []


@pytest.mark.parametrize("jp_server_config", [(4.0, 4.0)], indirect=True)
@on_server_loop
async def test_local_routes_answer_while_every_store_thread_waits_on_a_stalled_store(
    jp_server_config, store_proxy, admin, jp_fetch, jp_root_dir
):
    bucket = new_bucket(admin)
    (jp_root_dir / ".hybridhub").mkdir()
    pin = {"bucket": bucket, "key": "k", "uri": f"s3://{bucket}/k", "version_id": "v1"}
    (jp_root_dir / ".hybridhub" / "data-pins.json").write_text(json.dumps({"pins": [pin]}))
    store_proxy.stall()
    stalled = [
        asyncio.ensure_future(jp_fetch("hybridhub", "storage", "stat", params={"bucket": bucket, "key": f"k{i}"}))
        for i in range(STALLED_CALLS)
    ]
    deadline = time.monotonic() + 10
    while store_proxy.open_connections < 8:  # every store thread waits on the store
        assert time.monotonic() < deadline, store_proxy.open_connections
        await asyncio.sleep(0.02)

    async def timed(*parts, **kwargs) -> tuple[float, dict]:
        started = time.monotonic()
        r = await jp_fetch("hybridhub", "storage", *parts, **kwargs)
        return time.monotonic() - started, json.loads(r.body) if r.body else {}

    took, answer = await timed("pins")
    assert took < 1.0 and answer["pins"][0]["version_id"] == "v1"
    took, _ = await timed("config")
    assert took < 1.0
    body = json.dumps({"direction": "download", "bucket": bucket, "key": "k", "path": "k.bin"})
    took, job = await timed("transfers", method="POST", body=body)
    assert took < 1.0 and job["state"] == "running"
    took, listed = await timed("transfers")
    assert took < 1.0 and job["id"] in [j["id"] for j in listed["transfers"]]
    took, _ = await timed("transfers", job["id"], method="DELETE")
    assert took < 1.0
    took, _ = await timed("pins", method="DELETE", params={"bucket": bucket, "key": "k"})
    assert took < 1.0
    assert all(not call.done() for call in stalled)  # still waiting on the store meanwhile
    results = await asyncio.gather(*stalled, return_exceptions=True)
    assert {(r.code, json.loads(r.response.body)["reason"]) for r in results} == {(503, "storage_unreachable")}
    took, job = await timed("transfers", job["id"])
    assert job["state"] == "cancelled" and job["reason"] == "cancelled"


def browser_download(port: int, path: str, headers: dict) -> tuple[int, int, float]:
    """GET an object as a browser does; (bytes announced, bytes received, when the body ended)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    received = 0
    try:
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        announced = int(response.headers["Content-Length"])
        try:
            while chunk := response.read(64 * 1024):
                received += len(chunk)
        except (http.client.IncompleteRead, OSError):
            pass  # the server broke the connection: the browser shows a failed download
        return announced, received, time.monotonic()
    finally:
        conn.close()


@on_server_loop
async def test_a_download_through_the_server_breaks_at_the_stall_deadline(
    store_proxy, admin, http_server_client, jp_http_port, jp_base_url, jp_auth_header
):  # http_server_client: the fixture that makes the jupyter server listen on jp_http_port
    bucket = new_bucket(admin)
    admin.put_object(bucket, "big.bin", io.BytesIO(os.urandom(32 * MiB)), 32 * MiB)
    store_proxy.throttle(down=4 * MiB)
    path = f"{jp_base_url}hybridhub/storage/object?" + urlencode({"bucket": bucket, "key": "big.bin"})
    download = asyncio.get_running_loop().run_in_executor(None, browser_download, jp_http_port, path, jp_auth_header)
    while store_proxy.bytes_down < 6 * MiB:  # the server passed its first 4 MiB on to the browser
        assert not download.done(), download.result()
        await asyncio.sleep(0.01)
    store_proxy.stall()
    stalled = time.monotonic()
    announced, received, ended = await asyncio.wait_for(download, timeout=60)
    assert announced == 32 * MiB and 0 < received < announced  # never a short file that looks whole
    assert STALL * 0.9 <= ended - stalled <= STALL + SLACK


@pytest.mark.parametrize("fault", ["stall", "kill"])
@on_server_loop
async def test_a_slow_browser_upload_learns_of_a_store_fault_between_parts(
    fault, store_proxy, admin, http_server_client, jp_http_port, jp_base_url, jp_auth_header
):
    """The browser sends 1 MiB/s: after the first part the upload waits 6 s for the next one
    and sends nothing to the store meanwhile; a store that hangs or dies then is still noticed
    within the stall deadline."""
    bucket = new_bucket(admin)
    path = f"{jp_base_url}hybridhub/storage/upload?" + urlencode({"bucket": bucket, "key": "slow.bin"})
    sent = [0]
    upload = asyncio.get_running_loop().run_in_executor(None, browser_upload, jp_http_port, path, jp_auth_header, sent, MiB)
    while sent[0] < 7 * MiB:  # the first part went to the store; the next is 5 s away
        assert not upload.done(), upload.result()
        await asyncio.sleep(0.01)
    assert store_proxy.bytes_up > 6 * MiB
    getattr(store_proxy, fault)()
    faulted = time.monotonic()
    status, answer = await asyncio.wait_for(upload, timeout=60)
    assert status == 503 and answer["reason"] == "storage_unreachable", answer
    assert time.monotonic() - faulted <= STALL + SLACK
