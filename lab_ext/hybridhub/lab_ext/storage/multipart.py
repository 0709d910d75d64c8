"""A streamed upload that stops as soon as the store fails: one PUT, or a multipart upload.

Why not the SDK's ``put_object``: its parallel multipart upload collects the workers' errors
only after the whole stream was read, so a store that died at the first part was reported
after the last byte (an upload job at 100 %, a browser upload minutes later). Here the first
failed part ends the upload at once: no further byte is read, a reader with ``fail(error)``
(the browser upload's :class:`~.streams.BytePipe`) is failed so whoever feeds it stops too, and
the multipart upload is aborted.

While a slow browser fills the next part, nothing talks to the store; so that a store that
dies meanwhile is still noticed within the stall deadline, the upload asks the store for its
parts (``ListParts``, one part) when it has not heard from it for half the stall deadline.

Memory: at most ``parallel`` parts in flight plus the one being read, as with the SDK.

The abort runs on the ``cleanup`` client (not the transfer's own, which a cancel has broken)
and is waited for only briefly: a stalled store must not hold back the error; an upload the
store could not be asked to abort is aborted later by the leftover sweep (:mod:`.leftovers`).
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait

from minio import Minio
from minio.datatypes import Part

from .errors import StorageError, translate

ABORT_WAIT = 0.3  # seconds


def _read_part(reader, size: int) -> bytes:
    chunks, got = [], 0
    while got < size:
        data = reader.read(size - got)
        if not data:
            raise StorageError("incomplete_upload", "The upload ended before all bytes arrived.")
        chunks.append(data)
        got += len(data)
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def _check_while_idle(client: Minio, bucket: str, key: str, upload_id: str, reader, busy, stop: threading.Event) -> list[float]:
    """Ask the store about the upload whenever no part is in flight (``busy()`` false) and it was
    last heard from half a stall deadline ago; a failure fails the reader. Returns the list
    holding the time the store was last heard from (the caller updates it)."""
    every = getattr(getattr(client, "_http", None), "stall_timeout", 30.0) / 2
    heard = [time.monotonic()]

    def check() -> None:
        while not stop.wait(every / 4):
            if busy() or time.monotonic() - heard[0] < every:
                continue
            try:
                client._list_parts(bucket, key, upload_id, max_parts=1)
            except Exception as exc:  # noqa: BLE001 - the upload fails with it
                if not stop.is_set():
                    reader.fail(translate(exc))
                return
            heard[0] = time.monotonic()

    threading.Thread(target=check, name="hybridhub-upload-check", daemon=True).start()
    return heard


def _abort(cleanup: Minio, bucket: str, key: str, upload_id: str) -> None:
    """Abort in a thread, waiting for it at most :data:`ABORT_WAIT` (a healthy store answers
    in milliseconds; a stalled one must not hold back the error)."""

    def abort() -> None:
        try:
            cleanup._abort_multipart_upload(bucket, key, upload_id)
        except Exception:  # noqa: BLE001 - unreachable: left to the caller's leftover handling
            pass

    thread = threading.Thread(target=abort, name="hybridhub-abort-upload", daemon=True)
    thread.start()
    thread.join(ABORT_WAIT)


def put(
    client: Minio,
    bucket: str,
    key: str,
    reader,
    length: int,
    part_size: int,
    content_type: str,
    parallel: int = 2,
    cleanup: Minio | None = None,
) -> dict:
    """Upload exactly ``length`` bytes from ``reader``; the SDK's ``ObjectWriteResult`` fields."""
    headers = {"Content-Type": content_type}
    if length <= part_size:
        result = client._put_object(bucket, key, _read_part(reader, length) if length else b"", headers)
        return {"etag": result.etag, "version_id": result.version_id}
    upload_id = client._create_multipart_upload(bucket, key, headers)
    workers = ThreadPoolExecutor(max_workers=parallel, thread_name_prefix="hybridhub-part")
    pending: dict[Future, int] = {}
    etags: dict[int, str] = {}

    stop = threading.Event()
    heard = [0.0]
    if hasattr(reader, "fail"):  # a reader that waits on someone else (the browser)
        heard = _check_while_idle(client, bucket, key, upload_id, reader, lambda: any(not f.done() for f in list(pending)), stop)

    def part_ended(future: Future) -> None:
        heard[0] = time.monotonic()
        error = None if future.cancelled() else future.exception()
        if error is not None and hasattr(reader, "fail"):
            reader.fail(translate(error))  # wakes a read waiting for the browser's next bytes

    def collect(done) -> None:
        for future in done:
            etags[pending.pop(future)] = future.result()  # the first failed part raises here

    try:
        offset, number = 0, 0
        while offset < length:
            while len(pending) >= parallel:
                collect(wait(pending, return_when=FIRST_COMPLETED)[0])
            collect([f for f in pending if f.done()])
            size = min(part_size, length - offset)
            data = _read_part(reader, size)
            number += 1
            offset += size
            future = workers.submit(client._upload_part, bucket, key, data, None, upload_id, number)
            pending[future] = number
            future.add_done_callback(part_ended)
        while pending:
            collect(wait(pending, return_when=FIRST_COMPLETED)[0])
        parts = [Part(n, etags[n]) for n in sorted(etags)]
        result = client._complete_multipart_upload(bucket, key, upload_id, parts)
    except BaseException:
        for future in pending:
            future.cancel()
        _abort(cleanup or client, bucket, key, upload_id)
        raise
    finally:
        stop.set()
        workers.shutdown(wait=False)
    return {"etag": result.etag, "version_id": result.version_id}
