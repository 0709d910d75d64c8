"""A store of our own that we can stop mid-transfer and restart; and a read-only identity.

The object store killed mid-upload gives an error and leaves no object (the dangling
multipart upload is aborted by the retry once the store is back); killed mid-download it
gives an error and the workspace file is untouched; restarted, the retry works.
"""

from __future__ import annotations

import io
import os
import secrets
import threading

import pytest

from hybridhub.hub_ext.demo.objectstore import EmbeddedObjectStore, StoreCredentials, StorePorts, s3_identities
from hybridhub.lab_ext.storage import transfers
from hybridhub.lab_ext.storage.errors import StorageError
from hybridhub.lab_ext.storage.service import StorageService
from hybridhub.lab_ext.storage.streams import BytePipe, Progress

from .conftest import minio_for, new_bucket, on_server_loop, server_config, storage_config

pytestmark = pytest.mark.storage

READER_KEY, READER_SECRET = "reader" + secrets.token_hex(4), secrets.token_urlsafe(18)


class StoreWithReader(EmbeddedObjectStore):
    """The embedded store plus an identity that may only read and list."""

    def _write_config(self) -> None:
        super()._write_config()
        config = s3_identities(self.credentials)
        config["identities"].append(
            {"name": "reader", "credentials": [{"accessKey": READER_KEY, "secretKey": READER_SECRET}], "actions": ["Read", "List"]}
        )
        import json

        (self.data_dir / "s3.json").write_text(json.dumps(config))


@pytest.fixture(scope="module")
def own_store(tmp_path_factory):
    creds = StoreCredentials("admin" + secrets.token_hex(4), secrets.token_urlsafe(18), "user" + secrets.token_hex(4), secrets.token_urlsafe(18))
    store = StoreWithReader(tmp_path_factory.mktemp("own-store"), StorePorts.free(), creds)
    store.start()
    yield store
    store.stop()


@pytest.fixture
def own_admin(own_store):
    c = own_store.credentials
    return minio_for(own_store, c.admin_access_key, c.admin_secret_key)


def test_read_only_identity_gets_access_denied(own_store, own_admin, workspace):
    bucket = new_bucket(own_admin)
    own_admin.put_object(bucket, "r/data.txt", io.BytesIO(b"readable"), 8)
    svc = StorageService(storage_config(own_store, access=READER_KEY, secret=READER_SECRET), workspace)
    assert [e["key"] for e in svc.list(bucket, "r/")["entries"]] == ["r/data.txt"]
    with pytest.raises(StorageError) as info:
        svc.upload_reader(bucket, "r/new.txt", io.BytesIO(b"no"), 2)
    assert info.value.reason == "access_denied" and info.value.status == 403
    with pytest.raises(StorageError) as info:
        svc.delete(bucket, "r/data.txt")
    assert info.value.reason == "access_denied"


def test_store_killed_mid_transfer_then_restarted(own_store, own_admin, workspace):
    bucket = new_bucket(own_admin)
    svc = StorageService(storage_config(own_store), workspace)
    data = os.urandom(48 * 1024 * 1024)
    own_admin.put_object(bucket, "big/data.bin", io.BytesIO(data), len(data))
    (workspace / "data.bin").write_text("the old local copy")

    # download into the workspace; the store dies after the first chunk
    killed = threading.Event()
    progress = Progress()
    original = Progress.check

    def kill_after_first_chunk(self):
        if self.done > 0 and not killed.is_set():
            own_store.stop()
            killed.set()
        original(self)

    Progress.check = kill_after_first_chunk
    try:
        with pytest.raises(StorageError) as info:
            transfers.download_to_file(svc.client, bucket, "big/data.bin", workspace / "data.bin", progress)
    finally:
        Progress.check = original
    assert killed.is_set()
    assert info.value.reason == "storage_unreachable"
    assert (workspace / "data.bin").read_text() == "the old local copy"
    assert sorted(p.name for p in workspace.iterdir()) == ["data.bin"]

    # an upload while the store is down fails clearly, nothing is left behind
    pipe = BytePipe(limit=transfers.PART_SIZE)
    pipe.write(b"x" * 1024)
    pipe.close()
    with pytest.raises(StorageError) as info:
        svc.upload_reader(bucket, "up/new.bin", pipe, 1024)
    assert info.value.reason == "storage_unreachable"

    # restart; an upload killed mid-way (store stopped between parts) leaves no object
    own_store.start()
    size = 3 * transfers.PART_SIZE
    pipe = BytePipe(limit=transfers.PART_SIZE)

    def feed():
        block = os.urandom(1024 * 1024)
        try:
            for i in range(size // len(block)):
                if i == transfers.PART_SIZE * 2 // len(block):
                    own_store.stop()
                pipe.write(block, timeout=60)
            pipe.close()
        except Exception:  # noqa: BLE001 - the upload side failed first
            pass

    feeder = threading.Thread(target=feed)
    feeder.start()
    with pytest.raises(StorageError) as info:
        svc.upload_reader(bucket, "up/partial.bin", pipe, size)
    feeder.join(60)
    assert info.value.reason in {"storage_unreachable", "storage_error"}
    own_store.start()
    assert not transfers.object_exists(own_admin, bucket, "up/partial.bin")

    # the retries work, and the dangling multipart upload is gone afterwards
    retry = os.urandom(size)
    svc.upload_reader(bucket, "up/partial.bin", io.BytesIO(retry), size)
    assert own_admin.stat_object(bucket, "up/partial.bin").size == size
    assert [u for u in own_admin._list_multipart_uploads(bucket).uploads] == []
    job = svc.jobs.wait(svc.start_download(bucket, "big/data.bin", "data.bin", overwrite=True).id, 60)
    assert job.state == "done" and (workspace / "data.bin").read_bytes() == data
    svc.jobs.shutdown()


@pytest.fixture
def jp_server_config(own_store):
    return server_config(own_store)


@on_server_loop
async def test_download_through_the_server_breaks_when_the_store_dies(jp_fetch, jp_http_port, jp_base_url, jp_auth_header, own_store, own_admin):
    import asyncio

    bucket = new_bucket(own_admin)
    size = 64 * 1024 * 1024
    own_admin.put_object(bucket, "dl/big.bin", io.BytesIO(os.urandom(size)), size)
    reader, writer = await asyncio.open_connection("127.0.0.1", jp_http_port)
    writer.write(
        f"GET {jp_base_url}hybridhub/storage/object?bucket={bucket}&key=dl/big.bin HTTP/1.1\r\n"
        f"Host: 127.0.0.1\r\nAuthorization: {jp_auth_header['Authorization']}\r\n\r\n".encode()
    )
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    assert b" 200 " in head.split(b"\r\n")[0] and f"Content-Length: {size}".encode() in head
    got = len(await reader.readexactly(1024 * 1024))
    await asyncio.get_running_loop().run_in_executor(None, own_store.stop)
    try:
        while True:
            chunk = await asyncio.wait_for(reader.read(1024 * 1024), 60)
            if not chunk:
                break
            got += len(chunk)
    except ConnectionError:
        pass
    finally:
        writer.close()
        await asyncio.get_running_loop().run_in_executor(None, own_store.start)
    assert got < size  # the connection was broken, not finished as if complete
