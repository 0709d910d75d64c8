"""Uploads and downloads against the real S3 server: multipart, bounded, atomic, cancellable."""

from __future__ import annotations

import hashlib
import io
import os
import threading

import pytest

from hybridhub.lab_ext.storage import transfers
from hybridhub.lab_ext.storage.errors import Cancelled, StorageError
from hybridhub.lab_ext.storage.streams import BytePipe, Progress

pytestmark = pytest.mark.storage

MiB = 1024 * 1024


def pending_uploads(admin, bucket):
    return list(admin._list_multipart_uploads(bucket).uploads)


def _feed(pipe: BytePipe, total: int, chunk: int = 64 * 1024, stop_after: int | None = None):
    sent = 0
    block = os.urandom(chunk)
    while sent < total:
        if stop_after is not None and sent >= stop_after:
            pipe.fail(Cancelled("the browser went away"))
            return
        n = min(chunk, total - sent)
        pipe.write(block[:n], timeout=30)
        sent += n
    pipe.close()


def test_large_upload_is_multipart_and_memory_bounded(service, bucket, admin):
    size = 3 * transfers.PART_SIZE + 123
    pipe = BytePipe(limit=transfers.PART_SIZE, progress=Progress(size))
    feeder = threading.Thread(target=_feed, args=(pipe, size))
    feeder.start()
    result = service.upload_reader(bucket, "big/blob.bin", pipe, size)
    feeder.join(10)
    assert result["size"] == size
    stat = admin.stat_object(bucket, "big/blob.bin")
    assert stat.size == size
    assert stat.etag.strip('"').endswith("-4")  # four parts: a multipart upload
    # the pipe never buffered more than a part (plus one chunk): the body is never held whole
    assert pipe.peak <= transfers.PART_SIZE + 64 * 1024


def test_upload_reads_the_workspace_file_in_parts(service, bucket, workspace, monkeypatch):
    data = os.urandom(2 * transfers.PART_SIZE + 5)
    (workspace / "data.bin").write_bytes(data)
    reads = []
    original = transfers.ProgressReader.read

    def spy(self, size=-1):
        out = original(self, size)
        reads.append(len(out))
        return out

    monkeypatch.setattr(transfers.ProgressReader, "read", spy)
    job = service.start_upload("data.bin", bucket, "from-ws/data.bin")
    job = service.jobs.wait(job.id, 60)
    assert job.state == "done", job.to_json()
    assert max(reads) <= transfers.PART_SIZE and sum(reads) == len(data)
    assert job.progress.done == len(data) == job.progress.total
    resp = service.open(bucket, "from-ws/data.bin")
    try:
        assert hashlib.sha256(resp.read()).digest() == hashlib.sha256(data).digest()
    finally:
        transfers.close_response(resp)


def test_cancelled_upload_leaves_no_object_and_no_multipart(service, bucket, admin):
    size = 4 * transfers.PART_SIZE
    pipe = BytePipe(limit=transfers.PART_SIZE, progress=Progress(size))
    feeder = threading.Thread(target=_feed, args=(pipe, size), kwargs={"stop_after": 2 * transfers.PART_SIZE + 1})
    feeder.start()
    with pytest.raises(StorageError) as info:
        service.upload_reader(bucket, "cancel/me.bin", pipe, size)
    feeder.join(10)
    assert info.value.reason == "cancelled"
    assert not transfers.object_exists(admin, bucket, "cancel/me.bin")
    assert pending_uploads(admin, bucket) == []


def test_short_body_is_an_incomplete_upload(service, bucket, admin):
    pipe = BytePipe(limit=transfers.PART_SIZE)
    pipe.write(b"only this")
    pipe.close()
    with pytest.raises(StorageError) as info:
        service.upload_reader(bucket, "short.bin", pipe, 100)
    assert info.value.reason == "incomplete_upload"
    assert not transfers.object_exists(admin, bucket, "short.bin")


def test_download_into_workspace_is_atomic(service, bucket, admin, workspace):
    data = os.urandom(3 * MiB + 7)
    admin.put_object(bucket, "d/model.bin", io.BytesIO(data), len(data))
    job = service.jobs.wait(service.start_download(bucket, "d/model.bin", "model.bin").id)
    assert job.state == "done", job.to_json()
    assert (workspace / "model.bin").read_bytes() == data
    assert [p.name for p in workspace.iterdir()] == ["model.bin"]
    # no overwrite without asking
    with pytest.raises(StorageError) as info:
        service.start_download(bucket, "d/model.bin", "model.bin")
    assert info.value.reason == "file_exists"


def test_cancelled_download_keeps_the_old_file_and_leaves_no_temp(service, bucket, admin, workspace, monkeypatch):
    data = os.urandom(4 * MiB)
    admin.put_object(bucket, "c/data.bin", io.BytesIO(data), len(data))
    (workspace / "data.bin").write_text("the previous version")
    progress = Progress()
    calls = {"n": 0}
    original = Progress.check

    def cancel_midway(self):
        calls["n"] += 1
        if calls["n"] == 2:
            self.cancel()
        original(self)

    monkeypatch.setattr(Progress, "check", cancel_midway)
    target = workspace / "data.bin"
    with pytest.raises(Cancelled):
        transfers.download_to_file(service.client, bucket, "c/data.bin", target, progress)
    assert target.read_text() == "the previous version"
    assert [p.name for p in workspace.iterdir()] == ["data.bin"]


def test_job_cancel_through_the_manager(service, bucket, workspace, admin, monkeypatch):
    (workspace / "big.bin").write_bytes(os.urandom(3 * transfers.PART_SIZE))
    original = transfers.ProgressReader.read

    def wait_for_cancel(self, size=-1):
        self.progress.cancel_event.wait(10)
        return original(self, size)

    monkeypatch.setattr(transfers.ProgressReader, "read", wait_for_cancel)
    job = service.start_upload("big.bin", bucket, "jobs/big.bin")
    service.jobs.cancel(job.id)
    job = service.jobs.wait(job.id, 60)
    assert job.state == "cancelled" and job.to_json()["reason"] == "cancelled"
    assert not transfers.object_exists(admin, bucket, "jobs/big.bin")
    assert pending_uploads(admin, bucket) == []
    assert (workspace / "big.bin").stat().st_size == 3 * transfers.PART_SIZE


def test_missing_object_download_fails_cleanly(service, bucket, workspace):
    job = service.jobs.wait(service.start_download(bucket, "nope.bin", "nope.bin").id)
    assert job.state == "failed" and job.error.reason == "no_such_key"
    assert list(workspace.iterdir()) == []


def test_part_size_grows_for_huge_objects_to_stay_within_10000_parts():
    assert transfers.part_size_for(0) == transfers.PART_SIZE
    assert transfers.part_size_for(10 * 1024**3) == transfers.PART_SIZE
    for size in (100 * 1024**3, 1024**4, transfers.MAX_OBJECT):
        part = transfers.part_size_for(size)
        assert part % MiB == 0 and -(-size // part) <= 10_000, size


def test_download_into_workspace_keeps_a_content_encoded_object_as_stored(service, bucket, admin, workspace):
    import gzip

    stored = gzip.compress(b"x,y\n" * 10000)
    admin.put_object(bucket, "logs/b.csv.gz", io.BytesIO(stored), len(stored), metadata={"Content-Encoding": "gzip"})
    job = service.jobs.wait(service.start_download(bucket, "logs/b.csv.gz", "b.csv.gz").id)
    assert job.state == "done", job.to_json()
    assert (workspace / "b.csv.gz").read_bytes() == stored
