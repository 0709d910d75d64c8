"""A browser upload refused before its body (bad bucket, bad parameter) is answered cleanly.

Found by tests/api/test_fuzz.py: the refusal was answered at once and the connection closed with
the body's bytes unread, so the kernel reset it and the client often saw "connection reset"
instead of the JSON error; and every refusal before the upload began logged a traceback
("Exception in exception handler": on_finish used an event that did not exist yet).
"""

from __future__ import annotations

import asyncio
import json
import logging

import pytest

from .conftest import on_server_loop, server_config

pytestmark = pytest.mark.storage


@pytest.fixture
def jp_server_config(object_store):
    return server_config(object_store)


async def read_within(reader: asyncio.StreamReader, seconds: float) -> bytes:
    """What arrives within ``seconds`` (b"": nothing)."""
    try:
        return await asyncio.wait_for(reader.read(65536), seconds)
    except asyncio.TimeoutError:
        return b""


async def exchange(port: int, head: bytes, body: bytes) -> tuple[bytes, bytes]:
    """Send ``head``, note what is answered within 0.5 s, then send ``body`` and read the answer."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        sent = [head, body]
        answers = []
        for part, wait in zip(sent, (0.5, 10)):
            writer.write(part)
            await writer.drain()
            answers.append(await read_within(reader, wait))
        return answers[0], answers[1]
    finally:
        writer.close()


@on_server_loop
async def test_a_small_refused_upload_is_answered_after_its_body(jp_fetch, jp_http_port, jp_base_url, jp_auth_header, caplog):
    assert (await jp_fetch("hybridhub", "storage", "config")).code == 200  # the server is up
    body = b"x" * 1000
    head = (f"PUT {jp_base_url}hybridhub/storage/upload?bucket=%C3%B7&key=a.bin HTTP/1.1\r\n"
            f"Host: 127.0.0.1\r\nAuthorization: {jp_auth_header['Authorization']}\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode()  # fmt: skip
    with caplog.at_level(logging.ERROR):
        early, rest = await exchange(jp_http_port, head, body)
    assert early == b""  # nothing answered (and closed) while the body was still on its way
    status, _, payload = rest.partition(b"\r\n\r\n")
    assert status.startswith(b"HTTP/1.1 400") and json.loads(payload)["reason"] == "invalid_bucket"
    assert "Exception in exception handler" not in caplog.text and "Traceback" not in caplog.text
