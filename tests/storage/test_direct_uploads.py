"""Direct uploads (issue 22): the browser PUTs the parts straight to the store with presigned
UploadPart URLs this server signs; the server creates, completes and aborts the multipart upload.

The "browser" here is plain urllib3 PUTs to the URLs, with no credentials, as a browser sends
them. The store is the real SeaweedFS of the suite. What the store must refuse is SigV4's doing:
the signature covers method, host, path (bucket and key) and query (partNumber, uploadId), and
X-Amz-Date + X-Amz-Expires bound its life (AWS S3 API reference, "Authenticating Requests:
Using Query Parameters (AWS Signature Version 4)"; SeaweedFS weed/s3api/auth_signature_v4.go:
``ErrSignatureDoesNotMatch``, ``ErrExpiredPresignRequest`` "Request has expired").
"""

from __future__ import annotations

import io
import logging
import os
import re
import time
import urllib.parse

import pytest
import urllib3

from hybridhub.lab_ext.storage import direct, leftovers, metering
from hybridhub.lab_ext.storage.errors import StorageError
from hybridhub.lab_ext.storage.service import StorageService
from hybridhub.lab_ext.storage.transfers import PART_SIZE

from .conftest import new_bucket, storage_config
from .test_direct_downloads import browser_endpoint
from .test_transfers import pending_uploads

pytestmark = pytest.mark.storage

BROWSER = urllib3.PoolManager(retries=False, timeout=30)
THREE_PARTS = 2 * PART_SIZE + 12_345


def put_part(url: str, data: bytes) -> urllib3.BaseHTTPResponse:
    """The browser's PUT of one part: no credentials, only the presigned URL."""
    return BROWSER.request("PUT", url, body=data)


def s3_code(response: urllib3.BaseHTTPResponse) -> str:
    found = re.search(rb"<Code>([^<]+)</Code>", response.data)
    return found.group(1).decode() if found else ""


def make_service(store, workspace, **extra) -> StorageService:
    values = dict(browser_endpoint=browser_endpoint(store), prefix="team/")
    values.update(extra)
    return StorageService(storage_config(store, **values), workspace)


@pytest.fixture
def svc(object_store, workspace):
    service = make_service(object_store, workspace)
    yield service
    service.direct_upload_manager.stop()
    service.jobs.shutdown()


def send_parts(manager: direct.DirectUploads, ref: str, body: bytes, part_size: int, numbers) -> dict[int, str]:
    urls = manager.part_urls(ref, list(numbers))["urls"]
    etags = {}
    for number in numbers:
        response = put_part(urls[str(number)], body[(number - 1) * part_size : number * part_size])
        assert response.status == 200, response.data
        etags[number] = response.headers["ETag"]
    return etags


def journal_uploads(workspace) -> list[tuple[str, str]]:
    return [(u.bucket, u.key) for i in leftovers.instances(workspace) for u in leftovers.read(workspace, i)[0]]


def test_a_three_part_upload_completes_with_the_exact_bytes_and_is_invisible_before(svc, admin, object_store, workspace):
    bucket = new_bucket(admin)
    body = os.urandom(THREE_PARTS)
    manager = svc.direct_upload_manager
    svc.meter = metering.Meter()  # this test's own counts
    plan = manager.start(bucket, "team/data/big.bin", len(body), "application/x-test")
    assert (plan["part_size"], plan["parts"]) == (PART_SIZE, 3)
    assert (plan["part_expiry"], plan["idle_timeout"]) == (direct.PART_EXPIRY, direct.IDLE_TIMEOUT)
    assert len(plan["id"]) >= 32
    (upload,) = pending_uploads(admin, bucket)
    assert plan["id"] != upload.upload_id and upload.object_name == "team/data/big.bin"
    assert journal_uploads(workspace) == [(bucket, "team/data/big.bin")]  # a server that dies leaves it to the sweep

    urls = manager.part_urls(plan["id"], [3, 1, 2, 2])
    assert sorted(urls["urls"]) == ["1", "2", "3"] and urls["expires_in"] == direct.PART_EXPIRY
    for url in urls["urls"].values():
        parts = urllib.parse.urlsplit(url)
        assert parts.netloc == urllib.parse.urlsplit(browser_endpoint(object_store)).netloc  # signed for the browser's host
        query = urllib.parse.parse_qs(parts.query)
        assert query["uploadId"] == [upload.upload_id] and query["X-Amz-Expires"] == [str(direct.PART_EXPIRY)]
        assert object_store.credentials.user_secret_key not in url
    etags = send_parts(manager, plan["id"], body, PART_SIZE, [1, 2, 3])

    assert list(admin.list_objects(bucket, recursive=True)) == []  # nothing before complete
    result = manager.complete(plan["id"], [{"number": n, "etag": etags[n]} for n in (3, 1, 2)])
    assert result["size"] == len(body) and (result["bucket"], result["key"]) == (bucket, "team/data/big.bin")
    assert result["etag"].endswith("-3")
    stored = admin.get_object(bucket, "team/data/big.bin")
    try:
        assert stored.read() == body and stored.headers["Content-Type"] == "application/x-test"
    finally:
        stored.close()
        stored.release_conn()
    assert pending_uploads(admin, bucket) == [] and journal_uploads(workspace) == []
    assert svc.meter.take() == {"direct_upload": len(body)}  # the cost page's bytes that never crossed the cloud
    with pytest.raises(StorageError) as info:
        manager.part_urls(plan["id"], [1])
    assert (info.value.status, info.value.reason) == (404, "no_such_upload")


def test_a_part_url_is_refused_by_the_store_for_another_key_bucket_or_part(svc, admin):
    bucket, other_bucket = new_bucket(admin), new_bucket(admin)
    manager = svc.direct_upload_manager
    plan = manager.start(bucket, "team/mine.bin", PART_SIZE + 10)
    url = manager.part_urls(plan["id"], [1])["urls"]["1"]
    another_key = url.replace("/team/mine.bin?", "/team/yours.bin?")
    another_bucket = url.replace(f"/{bucket}/", f"/{other_bucket}/")
    another_part = url.replace("partNumber=1&", "partNumber=2&")
    assert another_key != url and another_bucket != url and another_part != url
    for forged in (another_key, another_bucket, another_part):
        response = put_part(forged, b"x" * 1000)
        assert (response.status, s3_code(response)) == (403, "SignatureDoesNotMatch"), forged
    assert list(admin.list_objects(bucket, recursive=True)) == [] and list(admin.list_objects(other_bucket, recursive=True)) == []
    assert [u.object_name for u in pending_uploads(admin, bucket)] == ["team/mine.bin"] and pending_uploads(admin, other_bucket) == []
    assert admin._list_parts(bucket, "team/mine.bin", pending_uploads(admin, bucket)[0].upload_id).parts == []
    manager.abort(plan["id"])


def test_an_expired_part_url_is_refused_and_a_reissued_one_works(object_store, workspace, admin):
    svc = make_service(object_store, workspace, direct_part_expiry=1)
    try:
        bucket = new_bucket(admin)
        body = os.urandom(PART_SIZE + 100)
        manager = svc.direct_upload_manager
        plan = manager.start(bucket, "team/late.bin", len(body))
        first = manager.part_urls(plan["id"], [1])["urls"]["1"]
        time.sleep(2.5)  # X-Amz-Date has whole seconds: 1 s of validity is over for sure
        response = put_part(first, body[:PART_SIZE])
        assert (response.status, s3_code(response)) == (403, "AccessDenied") and b"expired" in response.data
        manager.part_urls(plan["id"], [1])  # re-issued with the configured expiry (1 s): a fresh one works at once...
        manager.part_expiry = 300  # ...but a loaded test machine may take that second: sign with more room
        etags = send_parts(manager, plan["id"], body, PART_SIZE, [1, 2])
        result = manager.complete(plan["id"], [{"number": n, "etag": e} for n, e in etags.items()])
        assert result["size"] == len(body)
        assert admin.get_object(bucket, "team/late.bin").read() == body
    finally:
        svc.direct_upload_manager.stop()
        svc.jobs.shutdown()


def test_complete_with_a_missing_part_or_a_wrong_etag_is_refused_and_the_upload_is_kept(svc, admin, workspace):
    bucket = new_bucket(admin)
    body = os.urandom(THREE_PARTS)
    manager = svc.direct_upload_manager
    plan = manager.start(bucket, "team/gap.bin", len(body))
    etags = send_parts(manager, plan["id"], body, PART_SIZE, [1, 3])
    listed = [{"number": 1, "etag": etags[1]}, {"number": 3, "etag": etags[3]}]
    with pytest.raises(StorageError) as info:  # the browser's list lacks part 2
        manager.complete(plan["id"], listed)
    assert info.value.reason == "incomplete_upload" and "2" in info.value.message
    with pytest.raises(StorageError) as info:  # the browser claims part 2, the store never got it
        manager.complete(plan["id"], [*listed, {"number": 2, "etag": etags[1]}])
    assert (info.value.status, info.value.reason) == (400, "incomplete_upload") and info.value.details == "parts: 2"
    etags |= send_parts(manager, plan["id"], body, PART_SIZE, [2])
    wrong = [{"number": n, "etag": etags[n]} for n in (1, 2)] + [{"number": 3, "etag": '"0123456789abcdef0123456789abcdef"'}]
    with pytest.raises(StorageError) as info:
        manager.complete(plan["id"], wrong)
    assert info.value.reason == "incomplete_upload" and info.value.details == "parts: 3"
    assert list(admin.list_objects(bucket, recursive=True)) == []  # nothing appeared
    manager.complete(plan["id"], [{"number": n, "etag": etags[n]} for n in (1, 2, 3)])  # kept: now it completes
    assert admin.get_object(bucket, "team/gap.bin").read() == body and journal_uploads(workspace) == []


def test_a_part_sent_twice_completes_with_the_bytes_of_the_etag_the_browser_reports(svc, admin):
    """A retried part (the first PUT's answer was lost, or it was sent with other bytes): the
    object holds the part whose ETag the browser reports (SeaweedFS keeps both copies and picks
    by ETag, weed/s3api/filer_multipart.go; AWS keeps the last one sent)."""
    bucket = new_bucket(admin)
    body = os.urandom(2 * PART_SIZE)
    manager = svc.direct_upload_manager
    plan = manager.start(bucket, "team/twice.bin", len(body))
    put_part(manager.part_urls(plan["id"], [1])["urls"]["1"], os.urandom(PART_SIZE))  # a first try with other bytes
    etags = send_parts(manager, plan["id"], body, PART_SIZE, [1, 2])
    manager.complete(plan["id"], [{"number": n, "etag": e} for n, e in etags.items()])
    assert admin.get_object(bucket, "team/twice.bin").read() == body


def test_a_part_of_another_size_than_planned_is_refused(svc, admin):
    bucket = new_bucket(admin)
    manager = svc.direct_upload_manager
    plan = manager.start(bucket, "team/short.bin", PART_SIZE + 10)
    urls = manager.part_urls(plan["id"], [1, 2])["urls"]
    first = put_part(urls["1"], b"a" * PART_SIZE).headers["ETag"]
    last = put_part(urls["2"], b"b" * 11).headers["ETag"]  # one byte more than planned
    with pytest.raises(StorageError) as info:
        manager.complete(plan["id"], [{"number": 1, "etag": first}, {"number": 2, "etag": last}])
    assert info.value.reason == "incomplete_upload" and info.value.details == "parts: 2"
    assert list(admin.list_objects(bucket, recursive=True)) == []
    manager.abort(plan["id"])


def test_cancel_aborts_the_multipart_upload(svc, admin, workspace):
    bucket = new_bucket(admin)
    manager = svc.direct_upload_manager
    plan = manager.start(bucket, "team/cancel.bin", 2 * PART_SIZE)
    send_parts(manager, plan["id"], os.urandom(2 * PART_SIZE), PART_SIZE, [1])
    assert len(pending_uploads(admin, bucket)) == 1
    manager.abort(plan["id"])
    assert pending_uploads(admin, bucket) == [] and list(admin.list_objects(bucket, recursive=True)) == []
    assert journal_uploads(workspace) == []
    for call, args in ((manager.abort, ()), (manager.part_urls, ([1],)), (manager.complete, ([],))):
        with pytest.raises(StorageError) as info:
            call(plan["id"], *args)
        assert info.value.reason == "no_such_upload"


def test_a_browser_that_vanished_has_its_upload_aborted_after_the_idle_timeout(object_store, workspace, admin, caplog):
    svc = make_service(object_store, workspace, direct_upload_idle_timeout=2.0)
    manager = svc.direct_upload_manager
    try:
        bucket = new_bucket(admin)
        gone = manager.start(bucket, "team/gone.bin", 2 * PART_SIZE)
        send_parts(manager, gone["id"], os.urandom(2 * PART_SIZE), PART_SIZE, [1])
        kept = manager.start(bucket, "team/kept.bin", 2 * PART_SIZE)
        started = time.monotonic()
        caplog.set_level(logging.INFO)
        while time.monotonic() - started < 3 * manager.idle_timeout:  # the kept upload's browser renews its lease
            renewed = time.monotonic()  # the lease's start is at or after this
            manager.part_urls(kept["id"], [])
            time.sleep(0.2)
        assert [u.object_name for u in pending_uploads(admin, bucket)] == ["team/kept.bin"]
        with pytest.raises(StorageError) as info:
            manager.part_urls(gone["id"], [2])
        assert info.value.reason == "no_such_upload"
        assert journal_uploads(workspace) == [(bucket, "team/kept.bin")]
        assert [r.getMessage() for r in caplog.records if "direct upload" in r.getMessage()] == [
            "hybridhub storage: a direct upload was aborted: no request from the browser for 2 s"]  # no key logged
        while manager.uploads and time.monotonic() - renewed < 10:  # now nobody renews it
            time.sleep(0.1)
        assert manager.uploads == {} and time.monotonic() - renewed >= manager.idle_timeout
        assert pending_uploads(admin, bucket) == [] and journal_uploads(workspace) == []
    finally:
        manager.stop()
        svc.jobs.shutdown()


def test_an_upload_left_by_a_dead_server_is_aborted_by_the_next_servers_sweep(object_store, workspace, admin):
    bucket = new_bucket(admin)
    first = make_service(object_store, workspace)
    first.direct_upload_manager.start(bucket, "team/crash.bin", 2 * PART_SIZE)
    first.direct_upload_manager.stop()
    os.close(first.leftovers.journal._lock_fd)  # the kernel's part of a SIGKILL: the lock goes, the journal stays
    assert len(pending_uploads(admin, bucket)) == 1
    second = make_service(object_store, workspace)
    counts = second.leftovers.sweep()
    assert counts["aborted"] == 1 and pending_uploads(admin, bucket) == [] and journal_uploads(workspace) == []


def test_refused_before_any_multipart_upload_exists(svc, admin, object_store, workspace):
    bucket = new_bucket(admin)
    admin.put_object(bucket, "team/there.bin", io.BytesIO(b"old"), 3)
    manager = svc.direct_upload_manager
    cases = [
        (("elsewhere/x.bin", 100), {}, "outside_prefix"),
        (("team/there.bin", 100), {}, "object_exists"),
        (("team/../x.bin", 100), {}, "invalid_key"),
        (("team/x.bin", 0), {}, "invalid_request"),
        (("team/x.bin", 5 * 1024**4 + 1), {}, "invalid_request"),
        (("team/x.bin", True), {}, "invalid_request"),
        (("team/x.bin", 100), {"content_type": "text/plain\r\nX-Amz-Acl: public-read"}, "invalid_request"),
    ]
    for (key, size), options, reason in cases:
        with pytest.raises(StorageError) as info:
            manager.start(bucket, key, size, **options)
        assert info.value.reason == reason, key
    with pytest.raises(StorageError) as info:
        manager.start(new_bucket(admin) + "-missing", "team/x.bin", 100, overwrite=True)
    assert info.value.reason == "no_such_bucket"
    assert pending_uploads(admin, bucket) == [] and manager.uploads == {} and journal_uploads(workspace) == []
    assert admin.get_object(bucket, "team/there.bin").read() == b"old"
    plan = manager.start(bucket, "team/there.bin", 100, overwrite=True)  # overwrite asked for: allowed
    manager.abort(plan["id"])


def test_part_numbers_out_of_range_and_too_many_are_refused(svc, admin):
    bucket = new_bucket(admin)
    manager = svc.direct_upload_manager
    plan = manager.start(bucket, "team/n.bin", 3 * PART_SIZE)
    for numbers in ([0], [4], [1, "2"], [True], list(range(1, 3)) * 51, "1", None):
        with pytest.raises(StorageError) as info:
            manager.part_urls(plan["id"], numbers)
        assert info.value.reason == "invalid_request", numbers
    for parts in ([{"number": 1}], [{"number": 1, "etag": "e"}] * 2, [1], "x", [{"number": 9, "etag": "e"}]):
        with pytest.raises(StorageError) as info:
            manager.complete(plan["id"], parts)
        assert info.value.reason == "invalid_request", parts
    assert manager.part_urls(plan["id"], list(range(1, 4)) * 33)["urls"].keys() == {"1", "2", "3"}  # 99 asks, 3 URLs
    manager.abort(plan["id"])


def test_off_without_a_browser_endpoint_or_when_switched_off(object_store, workspace):
    services = [
        StorageService(storage_config(object_store), workspace),
        make_service(object_store, workspace, direct_uploads=False),
        make_service(object_store, workspace),
    ]
    try:
        assert [s.summary()["direct_uploads"] for s in services] == [False, False, True]
        assert [s.summary()["direct_downloads"] for s in services] == [False, True, True]
    finally:
        for s in services:
            s.jobs.shutdown()


def test_no_secret_in_any_answer_or_log_line(svc, admin, object_store, caplog, monkeypatch):
    # the store's HTTP client logs each request at DEBUG. Earlier tests can silence it: a
    # logging.config disables existing loggers, and every kubernetes_asyncio Configuration() sets the
    # "urllib3" logger to WARNING (client/configuration.py, the debug setter), leaving nothing to check
    monkeypatch.setattr(logging.getLogger("urllib3.connectionpool"), "disabled", False)
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="urllib3")
    bucket = new_bucket(admin)
    body = os.urandom(PART_SIZE + 1)
    manager = svc.direct_upload_manager
    answers = [svc.summary()]
    plan = manager.start(bucket, "team/s.bin", len(body))
    answers += [plan, manager.part_urls(plan["id"], [1, 2])]
    etags = send_parts(manager, plan["id"], body, PART_SIZE, [1, 2])
    answers.append(manager.complete(plan["id"], [{"number": n, "etag": e} for n, e in etags.items()]))
    second = manager.start(bucket, "team/t.bin", len(body))
    manager.abort(second["id"])
    secret = object_store.credentials.user_secret_key
    assert all(secret not in repr(answer) for answer in answers)
    assert caplog.records and all(secret not in r.getMessage() for r in caplog.records)


def test_parts_the_store_refuses_at_completion_keep_the_upload(svc, admin, monkeypatch):
    """A part that changed between ListParts and CompleteMultipartUpload: the store's InvalidPart
    (AWS S3 API reference, CompleteMultipartUpload errors) is incomplete_upload, the upload kept."""
    bucket = new_bucket(admin)
    body = os.urandom(PART_SIZE + 5)
    manager = svc.direct_upload_manager
    plan = manager.start(bucket, "team/race.bin", len(body))
    etags = send_parts(manager, plan["id"], body, PART_SIZE, [1, 2])
    with monkeypatch.context() as patch:
        patch.setattr(manager, "_check_parts", lambda upload, etags: [])  # the check saw the parts as planned
        with pytest.raises(StorageError) as info:
            manager.complete(plan["id"], [{"number": 1, "etag": etags[1]}, {"number": 2, "etag": etags[1]}])
    assert (info.value.reason, info.value.status) == ("incomplete_upload", 400) and "InvalidPart" in info.value.message
    assert list(admin.list_objects(bucket, recursive=True)) == []
    manager.complete(plan["id"], [{"number": n, "etag": e} for n, e in etags.items()])
    assert admin.get_object(bucket, "team/race.bin").read() == body


def test_an_upload_aborted_behind_the_servers_back_is_gone(svc, admin, workspace):
    bucket = new_bucket(admin)
    manager = svc.direct_upload_manager
    plan = manager.start(bucket, "team/behind.bin", 2 * PART_SIZE)
    etags = send_parts(manager, plan["id"], os.urandom(2 * PART_SIZE), PART_SIZE, [1, 2])
    (upload,) = pending_uploads(admin, bucket)
    admin._abort_multipart_upload(bucket, "team/behind.bin", upload.upload_id)  # e.g. a bucket lifecycle rule
    with pytest.raises(StorageError) as info:
        manager.complete(plan["id"], [{"number": n, "etag": e} for n, e in etags.items()])
    assert info.value.reason == "no_such_upload" and manager.uploads == {} and journal_uploads(workspace) == []


def test_complete_asked_again_after_a_lost_answer_gives_the_same_answer_once_only_counted(svc, admin):
    """A browser whose connection broke during complete asks again: the object exists, so the
    same answer comes back (not no_such_upload), and the bytes are counted once."""
    bucket = new_bucket(admin)
    body = os.urandom(1000)
    manager = svc.direct_upload_manager
    svc.meter = metering.Meter()
    plan = manager.start(bucket, "team/again.bin", len(body))
    etags = send_parts(manager, plan["id"], body, plan["part_size"], [1])
    parts = [{"number": 1, "etag": etags[1]}]
    first = manager.complete(plan["id"], parts)
    assert manager.complete(plan["id"], parts) == first
    assert svc.meter.take() == {"direct_upload": len(body)}
    assert manager.abort_idle(now=time.monotonic() + manager.idle_timeout + 1) == 0  # the kept answer expires
    with pytest.raises(StorageError) as info:
        manager.complete(plan["id"], parts)
    assert info.value.reason == "no_such_upload"
