"""A stalled or killed store mid-transfer: errors within the configured deadlines, cancel within
1 s, nothing left behind (no partial object, no multipart upload once the store is back, no
temporary file in the workspace).

The store is the real SeaweedFS behind :class:`~tests.faults.proxy.FaultProxy`; the service is
the one a user server runs, with deadlines of 1 s (first byte) and 1.5 s (stall).
"""

from __future__ import annotations

import io
import os
import time

import pytest

from hybridhub.lab_ext.config import StorageConfig
from hybridhub.lab_ext.storage.client import make_client
from hybridhub.lab_ext.storage.errors import StorageError
from hybridhub.lab_ext.storage.service import StorageService
from tests.storage.conftest import new_bucket

from .conftest import FIRST_BYTE, SLACK, STALL, proxied_config

pytestmark = pytest.mark.faults

MiB = 1024 * 1024


def _object(admin, size: int) -> tuple[str, str]:
    bucket = new_bucket(admin)
    admin.put_object(bucket, "data.bin", io.BytesIO(os.urandom(size)), size)
    return bucket, "data.bin"


def _temp_files(workspace) -> list[str]:
    return [str(p) for p in workspace.rglob("*.hybridhub-part")]


def _dangling(admin, bucket: str, key: str) -> list[str]:
    return [u.upload_id for u in admin._list_multipart_uploads(bucket, prefix=key).uploads if u.object_name == key]


def _ended_after(job, started: float) -> float:
    assert job.state != "running", "the job is still running"
    return job.progress.finished - started


def test_the_defaults_are_10_s_to_the_first_byte_and_30_s_of_stall(object_store):
    config = StorageConfig()
    assert (config.first_byte_timeout, config.stall_timeout) == (10.0, 30.0)
    config = StorageConfig(endpoint=object_store.endpoint, access_key="a", secret_key="s")
    http = make_client(config)._http
    assert http.connection_pool_kw["timeout"].read_timeout == 10.0
    assert http.connection_pool_kw["timeout"].connect_timeout == 10.0
    assert http.stall_timeout == 30.0


def test_a_stalled_store_fails_a_call_at_the_first_byte_deadline_without_retrying(service, store_proxy, admin):
    bucket, key = _object(admin, 10)
    store_proxy.stall()
    started = time.monotonic()
    with pytest.raises(StorageError) as info:
        service.stat(bucket, key)
    took = time.monotonic() - started
    assert info.value.reason == "storage_unreachable"
    assert FIRST_BYTE * 0.9 <= took <= FIRST_BYTE + SLACK
    assert store_proxy.connections == 1  # no second attempt that would double the wait


def _mid_transfer(service, store_proxy, admin, workspace, direction: str, size: int, path: str = "data.bin"):
    """Start a download or upload job of ``size`` bytes, throttled; return once it is under way."""
    if direction == "download":
        bucket, key = _object(admin, size)
        store_proxy.throttle(down=4 * MiB)
        job = service.start_download(bucket, key, path)
        store_proxy.wait_until(lambda p: p.bytes_down > 2 * MiB, timeout=20)
    else:
        bucket = new_bucket(admin)
        (workspace / "big.bin").write_bytes(os.urandom(size))
        store_proxy.throttle(up=8 * MiB)
        job = service.start_upload("big.bin", bucket, "big.bin")
        store_proxy.wait_until(lambda p: p.bytes_up > 8 * MiB, timeout=20)
    return job, bucket


def _fails(service, job, fault, timeout: float = 20) -> tuple:
    """Apply ``fault``; the job once ended, how long after the fault it ended, and the bytes
    it had moved when the fault began."""
    fault()
    faulted, done_then = time.monotonic(), job.progress.done
    job = service.jobs.wait(job.id, timeout=timeout)
    assert job.state == "failed" and job.error.reason == "storage_unreachable", job.to_json()
    return job, _ended_after(job, faulted), done_then


def _retry_leaves_one_whole_object(service, store_proxy, admin, bucket: str, size: int) -> None:
    store_proxy.restore()
    with pytest.raises(StorageError) as info:
        service.stat(bucket, "big.bin")
    assert info.value.reason == "no_such_key"  # no partial object
    # the store is back: the retry ends what the failed attempt could not abort, then succeeds
    job = service.jobs.wait(service.start_upload("big.bin", bucket, "big.bin", overwrite=True).id, timeout=60)
    assert job.state == "done", job.to_json()
    assert _dangling(admin, bucket, "big.bin") == []
    assert admin.stat_object(bucket, "big.bin").size == size


def test_a_download_stalled_mid_transfer_fails_at_the_stall_deadline(service, store_proxy, admin, workspace):
    (workspace / "out").mkdir()
    job, _ = _mid_transfer(service, store_proxy, admin, workspace, "download", 16 * MiB, "out/data.bin")
    job, took, _ = _fails(service, job, store_proxy.stall)
    assert STALL * 0.9 <= took <= STALL + SLACK
    assert 0 < job.progress.done < 16 * MiB
    assert not (workspace / "out" / "data.bin").exists()
    assert _temp_files(workspace) == []


def test_a_download_of_a_killed_store_fails_at_once_and_the_retry_works(service, store_proxy, admin, workspace):
    job, bucket = _mid_transfer(service, store_proxy, admin, workspace, "download", 16 * MiB)
    job, took, _ = _fails(service, job, store_proxy.kill)
    assert took <= SLACK
    assert _temp_files(workspace) == [] and not (workspace / "data.bin").exists()
    store_proxy.restore()
    job = service.jobs.wait(service.start_download(bucket, job.key, "data.bin").id, timeout=30)
    assert job.state == "done" and (workspace / "data.bin").stat().st_size == 16 * MiB


def test_an_upload_stalled_mid_part_fails_at_the_stall_deadline_without_reading_on(service, store_proxy, admin, workspace):
    job, bucket = _mid_transfer(service, store_proxy, admin, workspace, "upload", 60 * MiB)
    job, took, read_then = _fails(service, job, store_proxy.stall)
    # (no lower bound: the kernel's socket buffers took bytes the proxy never passed on, so a
    # part may already have been waiting for its answer, under the first-byte deadline)
    assert took <= max(STALL, FIRST_BYTE) + SLACK
    # the file was not read on to the end: at most the parts in flight and the next one
    assert job.progress.done <= read_then + 3 * 6 * MiB < 60 * MiB
    _retry_leaves_one_whole_object(service, store_proxy, admin, bucket, 60 * MiB)


def test_an_upload_to_a_killed_store_fails_at_once_and_leaves_nothing(service, store_proxy, admin, workspace):
    job, bucket = _mid_transfer(service, store_proxy, admin, workspace, "upload", 40 * MiB)
    job, took, _ = _fails(service, job, store_proxy.kill)
    assert took <= SLACK
    assert job.progress.done < 40 * MiB
    _retry_leaves_one_whole_object(service, store_proxy, admin, bucket, 40 * MiB)


@pytest.mark.parametrize("direction", ["download", "upload"])
def test_cancel_ends_a_transfer_within_1_s_while_the_store_stalls(object_store, store_proxy, admin, workspace, direction):
    # deadlines far away: the job can only end this fast because of the cancel
    service = StorageService(proxied_config(object_store, store_proxy, first_byte=30, stall=30), workspace)
    try:
        job, bucket = _mid_transfer(service, store_proxy, admin, workspace, direction, 40 * MiB)
        store_proxy.stall()
        time.sleep(0.3)  # let the transfer block on the stalled connection
        cancelled = time.monotonic()
        service.jobs.cancel(job.id)
        job = service.jobs.wait(job.id, timeout=5)
        assert job.state == "cancelled"
        assert job.to_json()["reason"] == "cancelled"
        assert _ended_after(job, cancelled) <= 1.0
        assert _temp_files(workspace) == [] and not (workspace / "data.bin").exists()
        store_proxy.restore()
        with pytest.raises(StorageError) as info:
            service.stat(bucket, "big.bin")
        assert info.value.reason == "no_such_key"
    finally:
        service.jobs.shutdown()
