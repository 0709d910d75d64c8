"""Direct uploads: the browser sends the parts straight to the store; this server holds the keys.

When browsers can reach the store (``browser_endpoint``), an upload from the person's computer
need not travel through this server (office → cloud → office). Instead:

1. :meth:`DirectUploads.start` checks access and overwrite as a streamed upload does
   (``service.check_upload``), plans the parts (:func:`.transfers.part_size_for`), records the
   upload in the leftover journal (:mod:`.leftovers`) and creates the multipart upload.
2. :meth:`DirectUploads.part_urls` signs UploadPart URLs (``PUT ?partNumber=&uploadId=``, SigV4
   query signature, ``direct_part_expiry`` seconds) for the browser's host name. SigV4 signs the
   method, host, bucket, key and query, so the store refuses a URL used for another key, bucket
   or part (403 SignatureDoesNotMatch) or after it expired. A part may be asked for again: that
   is how an expired or failed part URL is replaced.
3. :meth:`DirectUploads.complete` lists the parts at the store (ListParts) and completes the
   upload only when parts 1..N are all there, each of the planned size and with the ETag the
   browser was answered; the object appears only then (atomic). Otherwise ``incomplete_upload``,
   and the upload stays so that the browser can send the parts again.
4. :meth:`DirectUploads.abort` (cancel), and an idle watch: an upload without a request for
   ``direct_upload_idle_timeout`` seconds (a browser that was closed) is aborted. An abort the
   store does not take is left to the leftover sweep, as is everything after this server died.

Ids are random (not the S3 upload id) and live in this process's memory only: one user server,
one user. Every request about an upload renews its lease.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import timedelta

from minio.datatypes import Part
from minio.error import S3Error

from . import heads, transfers
from .errors import StorageError, translate
from .leftovers import Upload as Record

log = logging.getLogger(__name__)

MAX_URLS = 100  # part numbers per request for URLs
MAX_ETAG = 200  # an S3 ETag is 34 characters; a multipart one a few more
MAX_CONTENT_TYPE = 255
PART_EXPIRY = 300  # StorageConfig's defaults, for configs built without those settings (tests)
IDLE_TIMEOUT = 120.0
PART_REFUSED = {"InvalidPart", "InvalidPartOrder", "EntityTooSmall"}  # CompleteMultipartUpload's answers about the parts
UNSURE = {"storage_unreachable", "storage_error"}  # a failed call the store may have carried out


def _etag(value: str) -> str:
    """An ETag compared as S3 means it: without quotes, case aside."""
    return value.strip().strip('"').lower()


def _gone(exc: BaseException) -> bool:
    """The store says the multipart upload no longer exists (completed or aborted)."""
    return isinstance(exc, S3Error) and exc.code == "NoSuchUpload"


def plan(size: int) -> tuple[int, int]:
    """(part size, number of parts) of an upload of ``size`` bytes."""
    part_size = transfers.part_size_for(size)
    return part_size, -(-size // part_size)


@dataclass
class DirectUpload:
    bucket: str
    key: str
    size: int
    part_size: int
    parts: int
    upload_id: str  # the store's; never the id the browser holds
    record: Record
    seen: float  # time.monotonic() of the last request about it
    lock: threading.Lock = field(default_factory=threading.Lock)  # one call on the store at a time
    closed: bool = False  # completed or aborted: gone for every later request

    def part_length(self, number: int) -> int:
        return self.part_size if number < self.parts else self.size - (self.parts - 1) * self.part_size


class DirectUploads:
    """This server's direct uploads, by id. ``service`` is the :class:`~.service.StorageService`
    (its ``client``, ``presign_client``, ``check_upload`` and ``leftovers`` sweeper)."""

    def __init__(self, service, part_expiry: int = PART_EXPIRY, idle_timeout: float = IDLE_TIMEOUT):
        self.service = service
        self.part_expiry = int(part_expiry)
        self.idle_timeout = float(idle_timeout)
        self.uploads: dict[str, DirectUpload] = {}
        # answers of completed uploads, for a browser that lost the answer and asks again (idempotent complete)
        self.completed: dict[str, tuple[float, dict]] = {}
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._watch: threading.Thread | None = None

    @property
    def log(self):
        return getattr(self.service.leftovers, "log", log)

    # -- the four calls -------------------------------------------------------------------
    def start(self, bucket: str, key: str, size: int, content_type: str = "", overwrite: bool = False) -> dict:
        if isinstance(size, bool) or not isinstance(size, int) or not 0 < size <= transfers.MAX_OBJECT:
            raise StorageError("invalid_request", "'size' must be a whole number of bytes, above 0 and at most 5 TiB.")
        if len(content_type) > MAX_CONTENT_TYPE or any(not 32 <= ord(c) < 127 for c in content_type):
            raise StorageError("invalid_request", "'content_type' must be a media type: at most 255 printable ASCII characters.")
        bucket, key = self.service.check_upload(bucket, key, overwrite)  # nothing exists at the store before this
        part_size, parts = plan(size)
        sweeper = self.service.leftovers
        record = sweeper.begin(bucket, key)  # before the upload exists: a crash in between leaves a record
        client = self.service.client
        try:
            upload_id = client._create_multipart_upload(bucket, key, {"Content-Type": content_type or transfers.guess_type(key)})
        except Exception as exc:
            error = translate(exc)
            # no clear answer: the store may have made it without our hearing of it
            sweeper.end(record, failed=error.reason in UNSURE)
            raise heads.missing_bucket(client, bucket, error) from None
        upload = DirectUpload(bucket, key, size, part_size, parts, upload_id, record, time.monotonic())
        upload_ref = secrets.token_urlsafe(24)
        with self._lock:
            self.uploads[upload_ref] = upload
        self._watch_idle()
        return {
            "id": upload_ref,
            "part_size": part_size,
            "parts": parts,
            "part_expiry": self.part_expiry,
            "idle_timeout": self.idle_timeout,
        }

    def part_urls(self, upload_ref: str, numbers: list) -> dict:
        """Presigned PUT URLs of parts ``numbers`` (1..parts, at most :data:`MAX_URLS`); an
        empty list only renews the lease."""
        upload = self._get(upload_ref)
        if not isinstance(numbers, list) or len(numbers) > MAX_URLS:
            raise StorageError("invalid_request", f"'numbers' must be a list of at most {MAX_URLS} part numbers.")
        if any(isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= upload.parts for n in numbers):
            raise StorageError("invalid_request", f"Part numbers go from 1 to {upload.parts}.")
        signer = self.service.presign_client
        expires = timedelta(seconds=self.part_expiry)
        urls = {}
        try:
            for number in sorted(set(numbers)):
                urls[str(number)] = signer.get_presigned_url(
                    "PUT", upload.bucket, upload.key, expires,
                    extra_query_params={"partNumber": str(number), "uploadId": upload.upload_id},
                )  # fmt: skip
        except Exception as exc:
            raise translate(exc) from None
        return {"urls": urls, "expires_in": self.part_expiry}

    def complete(self, upload_ref: str, parts: list) -> dict:
        with self._lock:
            done = self.completed.get(upload_ref) if isinstance(upload_ref, str) else None
        if done is not None:
            return done[1]  # completed before: the browser did not get the answer
        upload = self._get(upload_ref)
        etags = self._browser_etags(upload, parts)
        with upload.lock:
            if upload.closed:
                raise self._unknown()
            try:
                wrong = self._check_parts(upload, etags)
                if wrong:
                    shown = ", ".join(map(str, wrong[:20])) + (", …" if len(wrong) > 20 else "")
                    raise StorageError(
                        "incomplete_upload",
                        f"The store does not have part(s) {shown} as planned (missing, of another size, or another "
                        "ETag than the browser reported): send them again, then complete.",
                        details=f"parts: {shown}",
                    )
                client = self.service.client
                result = client._complete_multipart_upload(
                    upload.bucket, upload.key, upload.upload_id, [Part(n, etags[n]) for n in range(1, upload.parts + 1)]
                )
            except Exception as exc:
                if not _gone(exc):
                    upload.seen = time.monotonic()  # kept: the browser may send parts again, or cancel
                    if isinstance(exc, S3Error) and exc.code in PART_REFUSED:  # a part changed since ListParts
                        raise StorageError("incomplete_upload", f"The store refused the parts ({exc.code}): send them again.") from None
                    raise translate(exc) from None
                upload.closed = True  # aborted behind our back: nothing left to complete
                self._forget(upload_ref)
                self.service.leftovers.end(upload.record)
                raise self._unknown() from None
            upload.closed = True
        self._forget(upload_ref)
        self.service.leftovers.end(upload.record)
        self.service.meter.count_direct_upload(upload.size)  # for the cost page: bytes that never crossed the cloud
        answer = {
            "bucket": upload.bucket,
            "key": upload.key,
            "etag": _etag(result.etag or ""),
            "version_id": result.version_id,
            "size": upload.size,
        }
        with self._lock:
            self.completed[upload_ref] = (time.monotonic(), answer)
        return answer

    def abort(self, upload_ref: str) -> None:
        """Cancel: abort the multipart upload. A store that does not answer is left to the
        leftover sweep; the upload is gone for the browser either way."""
        upload = self._get(upload_ref)
        with upload.lock:
            if upload.closed:
                raise self._unknown()
            upload.closed = True
        self._forget(upload_ref)
        self._abort(upload)

    # -- the idle watch -------------------------------------------------------------------
    def abort_idle(self, now: float | None = None) -> int:
        """Abort the uploads no request came for in ``idle_timeout`` seconds; how many."""
        now = time.monotonic() if now is None else now
        with self._lock:
            for ref in [r for r, (at, _) in self.completed.items() if now - at > self.idle_timeout]:
                del self.completed[ref]
            idle = [(ref, u) for ref, u in self.uploads.items() if now - u.seen > self.idle_timeout]
        ended = []
        for ref, upload in idle:
            if not upload.lock.acquire(blocking=False):
                continue  # completing right now
            try:
                if upload.closed or now - upload.seen <= self.idle_timeout:
                    continue
                upload.closed = True
            finally:
                upload.lock.release()
            self._forget(ref)
            ended.append(upload)
        for upload in ended:
            self.log.info("hybridhub storage: a direct upload was aborted: no request from the browser for %g s", self.idle_timeout)
            self._abort(upload)
        return len(ended)

    def stop(self) -> None:
        self._stopped.set()

    def _watch_idle(self) -> None:
        with self._lock:
            if self._watch is not None:
                return
            self._watch = threading.Thread(target=self._watch_loop, name="hybridhub-direct-uploads", daemon=True)
        self._watch.start()

    def _watch_loop(self) -> None:
        every = max(0.05, min(self.idle_timeout / 4, 5.0))
        while not self._stopped.wait(every):
            try:
                self.abort_idle()
            except Exception:  # noqa: BLE001 - the watch must keep running
                self.log.exception("hybridhub storage: the direct uploads' idle watch failed")

    # -- helpers --------------------------------------------------------------------------
    @staticmethod
    def _unknown() -> StorageError:
        return StorageError("no_such_upload", "That upload does not exist (completed, cancelled or stopped while idle).")

    def _get(self, upload_ref) -> DirectUpload:
        """The upload ``upload_ref``, its lease renewed."""
        with self._lock:
            upload = self.uploads.get(upload_ref) if isinstance(upload_ref, str) else None
            if upload is None or upload.closed:
                raise self._unknown()
            upload.seen = time.monotonic()
            return upload

    def _forget(self, upload_ref: str) -> None:
        with self._lock:
            self.uploads.pop(upload_ref, None)

    def _abort(self, upload: DirectUpload) -> None:
        try:
            self.service.client._abort_multipart_upload(upload.bucket, upload.key, upload.upload_id)
        except Exception as exc:  # noqa: BLE001 - the sweep retries until the store answers
            if not _gone(exc):
                self.log.warning(
                    "hybridhub storage: a direct upload could not be aborted (%s); the leftover sweep retries",
                    translate(exc).reason,
                )
                self.service.leftovers.end(upload.record, failed=True)
                return
        self.service.leftovers.end(upload.record)

    @staticmethod
    def _browser_etags(upload: DirectUpload, parts) -> dict[int, str]:
        """``[{"number", "etag"}, …]`` → {number: etag}, exactly parts 1..N."""
        if not isinstance(parts, list) or len(parts) > transfers.MAX_PARTS:
            raise StorageError("invalid_request", "'parts' must be a list of {number, etag} objects.")
        etags: dict[int, str] = {}
        for part in parts:
            number = part.get("number") if isinstance(part, dict) else None
            etag = part.get("etag") if isinstance(part, dict) else None
            if isinstance(number, bool) or not isinstance(number, int) or not 1 <= number <= upload.parts:
                raise StorageError("invalid_request", f"Each part needs a 'number' from 1 to {upload.parts}.")
            if not isinstance(etag, str) or not _etag(etag) or len(etag) > MAX_ETAG or any(ord(c) < 32 for c in etag):
                raise StorageError("invalid_request", "Each part needs the 'etag' the store answered for it.")
            if number in etags:
                raise StorageError("invalid_request", f"Part {number} is listed twice.")
            etags[number] = etag
        missing = [n for n in range(1, upload.parts + 1) if n not in etags]
        if missing:
            shown = ", ".join(map(str, missing[:20])) + (", …" if len(missing) > 20 else "")
            raise StorageError(
                "incomplete_upload", f"Part(s) {shown} of {upload.parts} are not in the list: send them, then complete.",
                details=f"parts: {shown}",
            )  # fmt: skip
        return etags

    def _check_parts(self, upload: DirectUpload, etags: dict[int, str]) -> list[int]:
        """The part numbers the store does not hold as planned and as the browser reported.

        A part sent again replaces the earlier one at AWS, MinIO and Ceph; SeaweedFS keeps both
        and lists both ("there maybe multi same part, because of client retry",
        weed/s3api/filer_multipart.go), completing with the one whose ETag the complete names.
        So a part is there when one of its listed copies has the planned size and that ETag."""
        stored: dict[int, set[tuple[int, str]]] = {}
        client = self.service.client
        marker = None
        while True:
            page = client._list_parts(upload.bucket, upload.key, upload.upload_id, max_parts=1000, part_number_marker=marker)
            for part in page.parts:
                stored.setdefault(part.part_number, set()).add((part.size, _etag(part.etag or "")))
            if not page.is_truncated or not page.next_part_number_marker or not page.parts:
                break
            marker = page.next_part_number_marker
        return [
            n for n in range(1, upload.parts + 1)
            if (upload.part_length(n), _etag(etags[n])) not in stored.get(n, set())
        ]  # fmt: skip
