"""A folder of S3 objects kept between training runs on one node: s3io's read cache.

Set ``S3IO_CACHE_DIR`` (a folder on the node's local disk; the cloud runner mounts one) and, as
an option, ``S3IO_CACHE_MAX_BYTES`` (the folder's bound, default 20 GiB). s3io then asks this
module before it downloads an object and gives it what it downloaded (see PIPELINE.md, "Data
cache"). What the cache guarantees:

- an entry is named by the store, bucket, key and either the object's version id or, for an
  object without versions, its ETag: a changed object has another name, so a stale entry is never
  found. s3io asks the store with a HEAD before it looks, for every read, a pinned version's too:
  the store decides whether this job's keys may read the object (the folder is shared by the
  runner's jobs), and says its current version or ETag; an entry is served only when its recorded
  ETag is the store's;
- an entry is written to a temporary file in the same folder and renamed into place
  (``os.replace``, atomic on one file system): a crash leaves at most a ``.tmp-`` file, which is
  never read and is swept after an hour; two jobs writing the same entry both succeed (the
  last rename wins, both files are whole);
- the downloaded bytes are verified before they are kept (the size the store announced, and the
  ETag when it is the MD5 of a single-part upload), and an entry is verified again (size and
  SHA-256 recorded in its header) each time it is served: a damaged entry is deleted, not served;
- least recently used entries are deleted to stay under the bound (a hit sets the file's
  mtime; no database); a full volume (ENOSPC, EDQUOT) evicts everything else once and, if the
  write still fails, the object is simply not kept: the cache never fails a read.

Each lookup says one line on stderr (the job log): ``s3io cache hit <uri> ...: <n> bytes not
downloaded`` or ``s3io cache miss <uri> ...``. The URI is s3://bucket/key: no key or signature.
Standard library only, like s3io.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import re
import sys
import threading
import time
from pathlib import Path

DIR_ENV = "S3IO_CACHE_DIR"
MAX_ENV = "S3IO_CACHE_MAX_BYTES"
DEFAULT_MAX_BYTES = 20 << 30
MAGIC = b"s3io-cache 1\n"  # first line of every entry; the second is the JSON header
SUFFIX = ".obj"
TMP_PREFIX = ".tmp-"
STALE_TMP_SECONDS = 3600  # a temporary file older than this is a crashed writer's leftover
FULL = (errno.ENOSPC, errno.EDQUOT)
_MD5 = re.compile(r"[0-9a-f]{32}")


def say(line: str) -> None:
    print(f"s3io {line}", file=sys.stderr, flush=True)


def _write_all(fd: int, data: bytes) -> None:
    """Write ``data`` to ``fd`` whole (os.write may write less than asked)."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


class Cache:
    def __init__(self, folder: str | os.PathLike, max_bytes: int = DEFAULT_MAX_BYTES):
        self.folder, self.max_bytes = Path(folder), max_bytes

    @classmethod
    def from_env(cls) -> "Cache | None":
        """The cache the environment asks for, or None (unset, or a folder that cannot be made)."""
        folder = os.environ.get(DIR_ENV, "")
        if not folder:
            return None
        raw = os.environ.get(MAX_ENV, "")
        if raw and not raw.isdigit():
            say(f"cache off: {MAX_ENV}={raw!r} is not a number of bytes")
            return None
        cache = cls(folder, int(raw) if raw else DEFAULT_MAX_BYTES)
        try:
            cache.folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            say(f"cache off: cannot make {folder}: {exc.strerror}")
            return None
        return cache

    @staticmethod
    def name(endpoint: str, bucket: str, key: str, version: str = "", etag: str = "", size: int = -1) -> str:
        """The entry's file name: by version id when there is one, else by ETag and size."""
        ident = ["version", version] if version else ["etag", etag, str(size)]
        return hashlib.sha256("\0".join([endpoint, bucket, key, *ident]).encode()).hexdigest() + SUFFIX

    # -- reading ---------------------------------------------------------------------------------

    def get(self, name: str, etag: str | None = None) -> tuple[bytes, dict] | None:
        """The entry's bytes and header, or None: no entry, another ETag than ``etag``, or a damaged
        entry (deleted). A hit marks the entry as just used."""
        path = self.folder / name
        try:
            with open(path, "rb") as entry:  # header line by line, then the bytes: one copy in memory
                header = self._header(entry.readline(), entry.readline())
                data = entry.read()
        except OSError:
            return None
        if header is None or len(data) != header.get("size") or hashlib.sha256(data).hexdigest() != header.get("sha256"):
            say(f"cache entry {name} is damaged: deleted, not served")
            self._unlink(path)
            return None
        if etag is not None and header.get("etag") != etag:
            return None
        try:
            now = time.time_ns()
            os.utime(path, ns=(now, now))
        except OSError:
            pass  # evicted meanwhile by another job: the bytes read are whole and verified
        return data, header

    @staticmethod
    def _header(magic: bytes, line: bytes) -> dict | None:
        if magic != MAGIC or not line.endswith(b"\n"):
            return None
        try:
            header = json.loads(line)
        except ValueError:
            return None
        return header if isinstance(header, dict) else None

    # -- writing ---------------------------------------------------------------------------------

    @staticmethod
    def verified(data: bytes, etag: str | None, length: int | None) -> str:
        """Why ``data`` must not be kept ("" = it may): short of the announced length, or not the
        MD5 its ETag says (an ETag of 32 hex digits is the MD5 of a single-part upload; a
        multipart ETag "<md5>-<parts>" is not checked)."""
        if length is not None and len(data) != length:
            return f"{len(data)} bytes read of {length}"
        if etag and _MD5.fullmatch(etag) and hashlib.md5(data, usedforsecurity=False).hexdigest() != etag:
            return "the bytes are not the MD5 their ETag says"
        return ""

    def put(self, name: str, data: bytes, header: dict) -> str:
        """Keep ``data`` as entry ``name``; what happened, for the log line: "kept" or why not.
        Never raises: the read goes on with the bytes it has."""
        header = {**header, "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
        head = MAGIC + json.dumps(header, sort_keys=True).encode() + b"\n"
        if len(head) + len(data) > self.max_bytes:
            return f"not kept: larger than {MAX_ENV}={self.max_bytes}"
        try:
            self.sweep()
            self.evict(len(head) + len(data), keep=name)
            try:
                self._write(name, head, data)
            except OSError as exc:
                if exc.errno not in FULL:
                    raise
                say(f"cache volume full ({errno.errorcode[exc.errno]}): evicting")
                self.evict(self.max_bytes, keep="")  # everything else
                self._write(name, head, data)
        except OSError as exc:
            return f"not kept: {exc.strerror or exc}"
        return "kept"

    def _write(self, name: str, head: bytes, data: bytes) -> None:
        """Temporary file in the folder, then an atomic rename; a failure leaves no file behind."""
        tmp = self.folder / f"{TMP_PREFIX}{name}.{os.getpid()}.{threading.get_ident()}.{time.monotonic_ns()}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            try:
                _write_all(fd, head)
                _write_all(fd, data)
                os.fsync(fd)
            finally:
                os.close(fd)
            now = time.time_ns()
            os.utime(tmp, ns=(now, now))
            os.replace(tmp, self.folder / name)
        except BaseException:
            self._unlink(tmp)
            raise

    # -- housekeeping ----------------------------------------------------------------------------

    def _entries(self) -> list[tuple[int, str, int]]:
        """(mtime ns, name, size) of the entries, least recently used first."""
        found = []
        with os.scandir(self.folder) as listing:
            for item in listing:
                if item.name.endswith(SUFFIX) and not item.name.startswith(TMP_PREFIX):
                    try:
                        st = item.stat()
                    except OSError:
                        continue  # deleted meanwhile
                    found.append((st.st_mtime_ns, item.name, st.st_size))
        return sorted(found)

    def used(self) -> int:
        return sum(size for _, _, size in self._entries())

    def evict(self, room: int, keep: str = "") -> None:
        """Delete least recently used entries until ``room`` more bytes fit under the bound."""
        entries = self._entries()
        total = sum(size for _, _, size in entries)
        for _, name, size in entries:
            if total + room <= self.max_bytes:
                break
            if name == keep:
                continue
            self._unlink(self.folder / name)
            total -= size

    def sweep(self) -> None:
        """Delete temporary files left by writers that crashed (older than STALE_TMP_SECONDS)."""
        limit = time.time() - STALE_TMP_SECONDS
        with os.scandir(self.folder) as listing:
            for item in listing:
                if item.name.startswith(TMP_PREFIX):
                    try:
                        if item.stat().st_mtime < limit:
                            self._unlink(Path(item.path))
                    except OSError:
                        continue

    def drop(self, name: str) -> None:
        self._unlink(self.folder / name)

    @staticmethod
    def _unlink(path: Path) -> None:
        try:
            path.unlink()
        except OSError:
            pass
