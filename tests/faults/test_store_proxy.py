"""The fault proxy itself: each mode does what the store suites rely on, against the real store."""

from __future__ import annotations

import io
import socket
import time

import pytest
import urllib3
from minio import Minio

from tests.storage.conftest import new_bucket

pytestmark = pytest.mark.faults


def _client(proxy, object_store, read_timeout: float = 30.0) -> Minio:
    creds = object_store.credentials
    http = urllib3.PoolManager(timeout=urllib3.Timeout(connect=2, read=read_timeout), retries=False)
    return Minio(
        proxy.endpoint.removeprefix("http://"),
        access_key=creds.admin_access_key,
        secret_key=creds.admin_secret_key,
        secure=False,
        http_client=http,
    )


def test_pass_and_throttle_move_the_bytes(store_proxy, object_store):
    client = _client(store_proxy, object_store)
    bucket = new_bucket(client)
    client.put_object(bucket, "a", io.BytesIO(b"x" * 1000), 1000)
    assert client.get_object(bucket, "a").read() == b"x" * 1000
    assert store_proxy.bytes_up > 1000 and store_proxy.bytes_down > 1000

    store_proxy.throttle(down=100_000)
    client.put_object(bucket, "b", io.BytesIO(b"y" * 200_000), 200_000)
    started = time.monotonic()
    assert client.get_object(bucket, "b").read() == b"y" * 200_000
    assert time.monotonic() - started > 1.2  # 200 kB at 100 kB/s, minus the first tenth-second burst


def test_stall_holds_the_connection_and_restore_resumes(store_proxy, object_store):
    client = _client(store_proxy, object_store, read_timeout=0.5)
    bucket = new_bucket(client)
    store_proxy.stall()
    with pytest.raises(urllib3.exceptions.ReadTimeoutError):
        client.bucket_exists(bucket)
    assert store_proxy.open_connections >= 1  # held open, not closed
    store_proxy.restore()
    assert _client(store_proxy, object_store).bucket_exists(bucket)


def test_kill_resets_open_connections_and_refuses_new_ones(store_proxy, object_store):
    raw = socket.create_connection(("127.0.0.1", store_proxy.port))
    store_proxy.wait_until(lambda p: p.open_connections == 1, timeout=5)
    store_proxy.kill()
    raw.settimeout(5)
    with pytest.raises(ConnectionResetError):
        raw.recv(1)
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", store_proxy.port), timeout=2)
    store_proxy.restore()
    client = _client(store_proxy, object_store)
    assert client.bucket_exists(new_bucket(client))
