"""Moving bytes: streamed uploads (multipart above one part) and atomic downloads.

- Uploads go through :func:`.multipart.put` with a known length and a fixed part size: a
  single PUT for small objects and a multipart upload otherwise, ended at the first failed
  part and aborted when anything fails (the store, cancel, client gone, short body), so no
  partial object remains.
- Downloads into the workspace are written to a hidden temporary file beside the target,
  fsync'ed, then renamed over it; on any failure the temporary file is removed and an
  existing target is left untouched.
"""

from __future__ import annotations

import contextlib
import http.client
import mimetypes
import os
import time
from datetime import datetime
from pathlib import Path

from minio import Minio

from .. import workspace
from . import heads, multipart
from .client import transfer_client
from .errors import StorageError, translate
from .streams import Progress, ProgressReader

PART_SIZE = 6 * 1024 * 1024  # smallest part; also the memory held per part in flight
PARALLEL_PARTS = 2
MAX_PARTS = 10_000  # S3's limit on parts per upload
MiB = 1024 * 1024
READ_CHUNK = 1024 * 1024
MAX_OBJECT = 5 * 1024**4  # S3's largest object


def guess_type(key: str) -> str:
    return mimetypes.guess_type(key)[0] or "application/octet-stream"


def object_exists(client: Minio, bucket: str, key: str) -> bool:
    """Whether ``key`` exists; a missing bucket, a refused key or policy raise (:mod:`.heads`)."""
    try:
        heads.stat_object(client, bucket, key)
        return True
    except StorageError as error:
        if error.reason == "no_such_key":
            return False
        raise


def part_size_for(length: int) -> int:
    """``PART_SIZE``, or larger (whole MiB) when the object needs more than 10,000 parts."""
    needed = -(-max(length, 0) // (MAX_PARTS - 1))
    return max(PART_SIZE, -(-needed // MiB) * MiB)


def is_multipart(length: int) -> bool:
    """Whether an upload of ``length`` bytes is a multipart upload (else one PUT)."""
    return length > part_size_for(length)


def upload_stream(client: Minio, bucket: str, key: str, reader, length: int, content_type: str = "") -> dict:
    """Upload ``length`` bytes read from ``reader``; raises StorageError at the first failed part,
    leaves nothing on failure.

    A reader with a ``progress`` (:class:`~.streams.ProgressReader`, :class:`~.streams.BytePipe`)
    is a transfer a cancel ends at once, on connections of its own. Except a browser upload of
    one part: it has all its bytes before its one PUT starts, so there is nothing left to cancel
    that the deadlines do not bound, and it uses the shared connections (one connect less per
    small file).
    """
    if length < 0 or length > MAX_OBJECT:
        raise StorageError("invalid_request", "The upload size is missing or too large.")
    progress = getattr(reader, "progress", None)
    part_size = part_size_for(length)
    own = progress is not None and (length > part_size or not hasattr(reader, "fail"))
    try:
        with transfer_client(client, progress) if own else contextlib.nullcontext(client) as transfer:
            result = multipart.put(
                transfer, bucket, key, reader, length, part_size, content_type or guess_type(key), PARALLEL_PARTS, client
            )
    except Exception as exc:
        raise translate(exc) from None
    return {"bucket": bucket, "key": key, "etag": (result["etag"] or "").strip('"'), "version_id": result["version_id"], "size": length}


def abort_incomplete(client: Minio, bucket: str, key: str, since: datetime | None = None, until: datetime | None = None) -> int:
    """Abort multipart uploads of exactly ``key`` initiated between ``since`` and ``until``.

    Used after an upload failed while the store was unreachable or the server died: the SDK
    could not abort then (:mod:`.leftovers`). Uploads of other keys under the same prefix, and
    of the same key outside the window (another server's), are left alone.
    """
    try:
        aborted = 0
        while True:  # aborted uploads leave the listing: list again until a page ends nothing
            page = client._list_multipart_uploads(bucket, prefix=key, max_uploads=1000)
            ended = 0
            for upload in page.uploads:
                started = upload.initiated_time
                if started is None:  # not provably in the window: maybe another server's
                    inside = since is None and until is None
                else:
                    inside = (since is None or started >= since) and (until is None or started <= until)
                if upload.object_name == key and inside:
                    client._abort_multipart_upload(bucket, key, upload.upload_id)
                    ended += 1
            aborted += ended
            if not page.is_truncated or not ended:
                return aborted
    except Exception as exc:
        raise translate(exc) from None


def upload_file(client: Minio, bucket: str, key: str, path: Path, progress: Progress, length: int | None = None) -> dict:
    """Upload the file's first ``length`` bytes (default: its size now)."""
    length = path.stat().st_size if length is None else length
    progress.total = length
    with open(path, "rb") as f:
        return upload_stream(client, bucket, key, ProgressReader(f, progress), length)


def open_object(client: Minio, bucket: str, key: str, version_id: str | None = None, offset: int = 0, length: int = 0):
    """The SDK response for streaming; the caller must ``close()`` and ``release_conn()``."""
    try:
        return client.get_object(bucket, key, offset=offset, length=length, version_id=version_id or None)
    except Exception as exc:
        raise translate(exc) from None


class ObjectBody:
    """An object's bytes exactly as stored, read into buffers the caller owns and reuses.

    ``readinto`` on the http.client response under the SDK's urllib3 response allocates
    nothing per chunk, so a 1 GiB download keeps memory flat (fresh 4 MiB chunks from
    worker threads would otherwise pile up in their malloc arenas), and it skips urllib3's
    content decoding: an object stored with ``Content-Encoding: gzip`` is delivered as
    stored, matching the Content-Length announced for it. A body that ends early raises
    instead of looking complete.
    """

    def __init__(self, response):
        self.response = response
        self.length = int(response.headers.get("Content-Length", "-1"))
        self.received = 0
        raw = getattr(response, "_fp", None)
        self._raw = raw if isinstance(raw, http.client.HTTPResponse) else None

    def readinto(self, buffer: memoryview) -> int:
        try:
            if self._raw is not None:
                n = self._raw.readinto(buffer)
            else:
                data = self.response.read(len(buffer), decode_content=False)
                n = len(data)
                buffer[:n] = data
        except Exception as exc:
            raise translate(exc) from None
        if n == 0 and self.length >= 0 and self.received != self.length:
            raise StorageError("storage_unreachable", "The object store closed the connection before the whole object arrived.")
        self.received += n
        return n


def close_response(response) -> None:
    try:
        response.close()
        response.release_conn()
    except Exception:  # noqa: BLE001 - best effort on a broken connection
        pass


def download_to_file(
    client: Minio,
    bucket: str,
    key: str,
    target: Path,
    progress: Progress,
    version_id: str | None = None,
    root: str | os.PathLike | None = None,
    temp_prefix: str | None = None,
) -> dict:
    """Stream the object into ``target`` atomically (temporary file, fsync, rename).

    ``target`` lies inside ``root`` (the server root; default: its own folder); the folders
    from ``root`` down are opened without following links (:mod:`hybridhub.lab_ext.workspace`).
    ``temp_prefix``: the temporary file's name start, as recorded by :mod:`.leftovers`.
    """
    target = Path(target)
    root = target.parent if root is None else workspace.real_root(root)
    response = None
    try:
        with transfer_client(client, progress) as transfer, workspace.atomic_file(
            root, workspace.relative_parts(root, target), overwrite=True,
            prefix=temp_prefix or f".{target.name}.", suffix=".hybridhub-part", error=StorageError,
        ) as out:  # fmt: skip
            response = open_object(transfer, bucket, key, version_id)
            expected = int(response.headers.get("Content-Length", "-1"))
            progress.total = expected if expected >= 0 else None
            body = ObjectBody(response)  # raises if the body ends early
            buffer = memoryview(bytearray(READ_CHUNK))
            while n := body.readinto(buffer):
                progress.check()
                out.write(buffer[:n])
                progress.add(n)
        return {"bucket": bucket, "key": key, "size": progress.done, "version_id": response.headers.get("x-amz-version-id")}
    except Exception as exc:
        raise translate(exc) from None
    finally:
        if response is not None:
            close_response(response)
        progress.finished = time.monotonic()
