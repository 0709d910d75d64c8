"""Nothing left behind after a crash: a journal of unfinished transfers, and the sweep that ends them.

What a transfer can leave behind when the server dies (SIGKILL, OOM, pod eviction) or the store
vanishes mid-way: the parts of a multipart upload (the SDK aborts one only while the process
lives and the store answers) and the hidden ``*.hybridhub-part`` temporary file of a download
into the workspace. Before either can exist, this server writes a record of it to its journal;
when the transfer ends the record goes.

Where: ``.hybridhub/transfers/<instance>.json`` in the workspace, written through
:mod:`hybridhub.lab_ext.workspace` (atomic, never through a symbolic link). Not the server's
runtime dir: the temporary files live in the workspace, and only the workspace volume survives
a pod being replaced (the runtime dir is on the container's own disk), so the record of a
leftover must live exactly as long as the leftover. A record holds no secret: the bucket, the
key, a start time, and a hash of endpoint + access key id (whose uploads these are).

Whose: every server instance holds an exclusive ``flock`` on ``<instance>.lock`` for as long as
its journal exists; the kernel drops it when the process dies. A journal whose lock can be
taken belongs to a dead server; only those, and this server's own failed uploads, are swept.

The sweep (in a background thread, so an unreachable store never delays server start) runs at
extension load and then every ``retry_seconds`` while some leftover could not be cleaned yet:

- a temporary file is deleted by its exact recorded name prefix, in its recorded folder;
- a multipart upload is aborted only if its key is exactly the recorded key and it was
  initiated at or after the recorded start minus :data:`SKEW` (and, for an upload that failed
  while this server lived, no later than its failure plus :data:`SKEW`), never while an upload
  of the same key runs in this server or in another live server sharing the workspace, and
  only with the same endpoint and access key that started it.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import json
import logging
import os
import secrets
import threading
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone

from minio import Minio

from .. import workspace
from . import transfers
from .errors import StorageError

FOLDER = (".hybridhub", "transfers")
TEMP_SUFFIX = ".hybridhub-part"
SKEW = timedelta(minutes=5)  # tolerated difference between this server's clock and the store's
RETRY_SECONDS = 10.0

log = logging.getLogger(__name__)


def owner_of(endpoint: str, access_key: str) -> str:
    """Whose uploads a record describes, without storing the access key id itself."""
    return hashlib.sha256(f"{endpoint}\0{access_key}".encode()).hexdigest()[:16]


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _time(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


@dataclass
class Upload:
    """A multipart upload this server may have started: ``state`` running or failed."""

    bucket: str
    key: str
    owner: str
    since: str  # ISO time taken before the upload began
    until: str | None = None  # when it failed; None: unknown (the server died)
    state: str = "running"
    id: str = field(default_factory=lambda: secrets.token_hex(6))

    def window(self) -> tuple[datetime, datetime | None]:
        until = _time(self.until)
        return _time(self.since) - SKEW, (until + SKEW if until else None)


@dataclass
class Download:
    """A download into the workspace: its temporary file is ``folder/<prefix>*.hybridhub-part``."""

    folder: list[str]
    prefix: str
    id: str = field(default_factory=lambda: secrets.token_hex(6))


def abort_uploads(client: Minio, upload: Upload) -> int:
    """Abort the multipart uploads of exactly ``upload.key`` initiated inside its window."""
    since, until = upload.window()
    return transfers.abort_incomplete(client, upload.bucket, upload.key, since, until)


class Journal:
    """One server instance's records, kept in memory and mirrored to its journal file."""

    def __init__(self, root: str | os.PathLike, instance: str | None = None):
        self.root = workspace.real_root(root)
        self.instance = instance or secrets.token_hex(8)
        self.uploads: dict[str, Upload] = {}
        self.downloads: dict[str, Download] = {}
        self._lock = threading.RLock()
        self._lock_fd: int | None = None

    # -- the file ---------------------------------------------------------------------------
    def _hold_lock(self) -> None:
        if self._lock_fd is None:
            with workspace.open_folder(self.root, FOLDER, create=True, error=StorageError) as dir_fd:
                fd = os.open(f"{self.instance}.lock", os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600, dir_fd=dir_fd)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # busy: a sweeper is looking; next save
            except OSError:
                os.close(fd)
                raise
            self._lock_fd = fd

    def _save(self) -> None:
        """Mirror the records to disk (best effort: a refused ``.hybridhub`` keeps them in memory)."""
        try:
            if self.uploads or self.downloads:
                self._hold_lock()
                data = {
                    "version": 1,
                    "uploads": [asdict(u) for u in self.uploads.values()],
                    "downloads": [asdict(d) for d in self.downloads.values()],
                }
                path = [*FOLDER, f"{self.instance}.json"]
                workspace.write_bytes(self.root, path, json.dumps(data).encode(), overwrite=True, error=StorageError)
            else:
                self._drop_files()
        except (OSError, StorageError) as exc:
            log.warning("hybridhub storage: the transfer journal could not be written (%s)", type(exc).__name__)

    def _drop_files(self) -> None:
        remove(self.root, self.instance)
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None
        prune_folders(self.root)

    # -- records ----------------------------------------------------------------------------
    def add(self, record: Upload | Download) -> None:
        with self._lock:
            (self.uploads if isinstance(record, Upload) else self.downloads)[record.id] = record
            self._save()

    def discard(self, *records: Upload | Download) -> None:
        with self._lock:
            for record in records:
                (self.uploads if isinstance(record, Upload) else self.downloads).pop(record.id, None)
            self._save()

    def failed(self, record: Upload) -> None:
        with self._lock:
            record.state, record.until = "failed", _now().isoformat()
            self._save()

    def prune(self) -> None:
        """Remove the empty journal folders (under the lock: no record of ours is being written)."""
        with self._lock:
            if not (self.uploads or self.downloads):
                prune_folders(self.root)

    def running(self, bucket: str, key: str, owner: str) -> bool:
        with self._lock:
            return any(u.state == "running" and (u.bucket, u.key, u.owner) == (bucket, key, owner) for u in self.uploads.values())

    def pending(self) -> list[Upload]:
        with self._lock:
            return [u for u in self.uploads.values() if u.state == "failed"]


# -- other instances' journals (dead ones are swept, live ones are respected) ----------------


def remove(root, instance: str) -> None:
    for name in (f"{instance}.json", f"{instance}.lock"):
        workspace.remove_tree(root, [*FOLDER, name], error=StorageError)


def prune_folders(root) -> None:
    """Remove ``.hybridhub/transfers`` and ``.hybridhub`` if empty (never anything in them)."""
    for depth in (2, 1):
        with contextlib.suppress(OSError, StorageError):
            with workspace.open_folder(root, FOLDER[: depth - 1], error=StorageError) as dir_fd:
                os.rmdir(FOLDER[depth - 1], dir_fd=dir_fd)


def instances(root) -> list[str]:
    try:
        names = workspace.folder_entries(root, list(FOLDER), error=StorageError)
    except (OSError, StorageError):
        return []
    return sorted(name[: -len(".json")] for name, is_dir in names.items() if name.endswith(".json") and not is_dir)


def read(root, instance: str) -> tuple[list[Upload], list[Download]]:
    """The records of a journal; an unreadable or foreign-shaped one has none."""
    try:
        data = json.loads(workspace.read_bytes(root, [*FOLDER, f"{instance}.json"], error=StorageError))
        uploads = [Upload(**u) for u in data.get("uploads", [])]
        downloads = [Download(**d) for d in data.get("downloads", [])]
        texts = [getattr(u, name) for u in uploads for name in ("bucket", "key", "owner", "since", "state")]
        texts += [d.prefix for d in downloads] + [part for d in downloads for part in d.folder]
        if not all(isinstance(t, str) for t in texts) or not all(isinstance(d.folder, list) for d in downloads):
            return [], []
        for upload in uploads:
            upload.window()  # times that parse
        return uploads, downloads
    except (OSError, StorageError, ValueError, TypeError, AttributeError, RecursionError):
        return [], []


@contextlib.contextmanager
def dead(root, instance: str) -> Iterator[bool]:
    """Whether ``instance`` is dead: its lock file is missing, or could be locked and is still
    the file at that name (not one its owner unlinked meanwhile). Held locked inside the block."""
    name = f"{instance}.lock"
    with contextlib.ExitStack() as stack:
        try:
            dir_fd = stack.enter_context(workspace.open_folder(root, FOLDER, error=StorageError))
            fd = os.open(name, os.O_RDWR | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=dir_fd)
        except FileNotFoundError:
            yield True  # a live server makes its lock before its journal and removes it after
            return
        except (OSError, StorageError):
            yield False
            return
        stack.callback(os.close, fd)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            same = os.fstat(fd).st_ino == os.stat(name, dir_fd=dir_fd, follow_symlinks=False).st_ino
        except OSError as exc:
            if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.ENOENT):
                raise
            same = False
        yield same


def remove_temp_files(root, download: Download) -> int:
    """Delete the download's temporary files (the link itself if one stands there)."""
    try:
        entries = workspace.folder_entries(root, download.folder, error=StorageError)
    except (OSError, StorageError):
        return 0  # the folder is gone or is now a link: nothing of ours to delete there
    removed = 0
    for name, is_dir in entries.items():
        if name.startswith(download.prefix) and name.endswith(TEMP_SUFFIX) and not is_dir:
            with contextlib.suppress(OSError, StorageError):
                workspace.remove_tree(root, [*download.folder, name], error=StorageError)
                removed += 1
    return removed


class Sweeper:
    """Ends this server's leftovers, and those of dead servers that shared the workspace.

    ``client`` returns the store client (it may raise :class:`StorageError`, e.g. not
    configured); ``owner`` identifies the uploads this server's credentials started.
    """

    def __init__(self, journal: Journal, client: Callable[[], Minio], owner: str, retry_seconds: float = RETRY_SECONDS):
        self.journal = journal
        self.client = client
        self.owner = owner
        self.retry_seconds = retry_seconds
        self.key_locks: dict[tuple[str, str], threading.Lock] = {}
        self._guard = threading.Lock()
        self._wake = threading.Event()
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None
        self.log = log  # the server's log once started by the extension

    def key_lock(self, bucket: str, key: str) -> threading.Lock:
        with self._guard:
            return self.key_locks.setdefault((bucket, key), threading.Lock())

    # -- uploads of this server -------------------------------------------------------------
    def begin(self, bucket: str, key: str) -> Upload:
        """Record an upload about to start (before its multipart upload is created); end it
        with :meth:`end`. For uploads that outlive one call (direct uploads from the browser)."""
        with self.key_lock(bucket, key):
            self._abort_pending(bucket, key)  # a retry first ends what the last attempt left
            record = Upload(bucket, key, self.owner, _now().isoformat())
            self.journal.add(record)
        return record

    def end(self, record: Upload, failed: bool = False) -> None:
        """The upload completed or was aborted (record dropped), or ``failed`` so that the
        store may still hold its parts: left for the sweep, which runs now."""
        if failed:
            self.journal.failed(record)
            self._wake.set()
        else:
            self.journal.discard(record)

    @contextlib.contextmanager
    def uploading(self, bucket: str, key: str) -> Iterator[None]:
        """Record an upload for as long as it runs; a failed one is left for the sweep."""
        record = self.begin(bucket, key)
        try:
            yield
        except BaseException:
            self.end(record, failed=True)
            raise
        self.end(record)

    def _abort_pending(self, bucket: str, key: str) -> None:
        """Abort this server's failed uploads of ``key`` (caller holds the key's lock)."""
        for record in self.journal.pending():
            if (record.bucket, record.key) == (bucket, key):
                try:
                    abort_uploads(self.client(), record)
                except StorageError:
                    continue  # still unreachable: kept for the next sweep
                self.journal.discard(record)

    # -- downloads of this server -----------------------------------------------------------
    @contextlib.contextmanager
    def downloading(self, folder: list[str], name: str) -> Iterator[str]:
        """Record a download's temporary file name prefix (yielded) for as long as it runs."""
        record = Download(list(folder), f".{name}.{secrets.token_hex(4)}.")
        self.journal.add(record)
        try:
            yield record.prefix
        finally:
            self.journal.discard(record)

    # -- the sweep --------------------------------------------------------------------------
    def sweep(self) -> dict:
        """One pass: dead servers' journals, then this server's failed uploads."""
        counts = {"aborted": 0, "removed": 0, "pending": 0}
        root = self.journal.root
        live_running = set()
        for instance in instances(root):
            if instance == self.journal.instance:
                continue
            with dead(root, instance) as is_dead:
                uploads, downloads = read(root, instance)
                if not is_dead:
                    live_running |= {(u.bucket, u.key, u.owner) for u in uploads if u.state == "running"}
                    continue
                for download in downloads:
                    counts["removed"] += remove_temp_files(root, download)
                for upload in uploads:  # adopted: retried by this server until the store answers
                    if upload.owner == self.owner:
                        upload.state = "failed"
                        self.journal.add(upload)
                remove(root, instance)
        self.journal.prune()
        for record in self.journal.pending():
            if (record.bucket, record.key, record.owner) in live_running:
                counts["pending"] += 1  # another live server uploads this key now: not ours to touch
                continue
            lock = self.key_lock(record.bucket, record.key)
            with lock:
                if self.journal.running(record.bucket, record.key, record.owner):
                    counts["pending"] += 1  # this server uploads the key again: swept before that began
                    continue
                try:
                    counts["aborted"] += abort_uploads(self.client(), record)
                except StorageError as error:
                    counts["pending"] += 1
                    counts["reason"] = error.reason
                    continue
                self.journal.discard(record)
        return counts

    def start(self) -> None:
        """Sweep now and whenever an upload fails, retrying while something is left."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="hybridhub-storage-sweep", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stopped.set()
        self._wake.set()

    def _loop(self) -> None:
        waiting = False  # logged once per outage, not at every retry
        while not self._stopped.is_set():
            self._wake.clear()
            try:
                counts = self.sweep()
            except Exception:  # noqa: BLE001 - a sweep must never end the loop
                self.log.exception("hybridhub storage: sweep failed")
                counts = {"aborted": 0, "removed": 0, "pending": 1}
            if counts["aborted"] or counts["removed"]:
                self.log.info(
                    "hybridhub storage: cleaned up after failed or crashed transfers: %d multipart upload(s) aborted, "
                    "%d temporary file(s) deleted", counts["aborted"], counts["removed"],
                )  # fmt: skip
            if counts["pending"] and not waiting and "reason" in counts:
                self.log.warning(
                    "hybridhub storage: %d leftover multipart upload(s) wait for the store (%s); retrying every %g s",
                    counts["pending"], counts["reason"], self.retry_seconds,
                )  # fmt: skip
            waiting = bool(counts["pending"])
            self._wake.wait(self.retry_seconds if counts["pending"] else None)
