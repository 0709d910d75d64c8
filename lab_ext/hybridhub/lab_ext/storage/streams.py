"""Bounded byte streams between the HTTP server and the SDK's multipart upload.

:class:`BytePipe` lets the event loop hand request-body chunks to a worker thread running
``put_object``; it holds at most ``limit`` bytes, so a slow store slows the browser down
instead of filling the server's memory. :class:`ProgressReader` wraps a local file the same
way for uploads from the workspace. Both raise :class:`~.errors.Cancelled` once cancelled,
which makes the SDK abort its multipart upload.
"""

from __future__ import annotations

import threading
import time
from collections import deque

from .errors import Cancelled


class Progress:
    """Bytes done out of total, with a cancel flag; read by the transfer list."""

    def __init__(self, total: int | None = None):
        self.total = total
        self.done = 0
        self.started = time.monotonic()
        self.finished: float | None = None
        self.cancel_event = threading.Event()
        self._on_cancel: list = []
        self._lock = threading.Lock()

    def add(self, n: int) -> None:
        self.done += n

    def on_cancel(self, callback) -> None:
        """Call ``callback()`` once cancelled (now, if already): e.g. break the transfer's
        connections, so a cancel bites while a thread waits on a stalled store."""
        with self._lock:
            self._on_cancel.append(callback)
            cancelled = self.cancel_event.is_set()
        if cancelled:
            callback()

    def cancel(self) -> None:
        with self._lock:
            first = not self.cancel_event.is_set()
            self.cancel_event.set()
            callbacks = list(self._on_cancel) if first else []
        for callback in callbacks:
            callback()

    @property
    def cancelled(self) -> bool:
        return self.cancel_event.is_set()

    def check(self) -> None:
        if self.cancel_event.is_set():
            raise Cancelled()

    def speed(self) -> float:
        """Bytes per second since the start (up to the end once finished)."""
        end = self.finished or time.monotonic()
        elapsed = max(end - self.started, 1e-6)
        return self.done / elapsed


class BytePipe:
    """A bounded FIFO of bytes: one producer (``write``), one consumer (``read``).

    A write is accepted while fewer than ``limit`` bytes are buffered, so the buffer holds at
    most ``limit`` plus one chunk, and a reader asking for ``limit`` bytes is always served.
    """

    def __init__(self, limit: int = 8 * 1024 * 1024, progress: Progress | None = None):
        self.limit = limit
        self.progress = progress or Progress()
        self._chunks: deque[bytes] = deque()
        self._size = 0
        self._eof = False
        self._error: BaseException | None = None
        self._cond = threading.Condition()
        self.peak = 0  # largest number of bytes ever buffered (for tests and benchmarks)
        self.progress.on_cancel(lambda: self.fail(Cancelled()))

    @property
    def buffered(self) -> int:
        return self._size

    def try_write(self, chunk: bytes) -> bool:
        """Append without blocking; False when the pipe is full (call ``write`` in a thread)."""
        with self._cond:
            self._raise_if_failed()
            if self._size >= self.limit:
                return False
            self._append(chunk)
            return True

    def write(self, chunk: bytes, timeout: float | None = None) -> None:
        """Append, waiting while the pipe is full."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while self._size >= self.limit and self._error is None:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    raise TimeoutError("the upload stalled")
                self._cond.wait(remaining if remaining is not None else 1.0)
            self._raise_if_failed()
            self._append(chunk)

    def _append(self, chunk: bytes) -> None:
        if self._eof:
            raise ValueError("write after close")
        self._chunks.append(bytes(chunk))
        self._size += len(chunk)
        self.peak = max(self.peak, self._size)
        self._cond.notify_all()

    def close(self) -> None:
        """No more data: the reader sees end of stream."""
        with self._cond:
            self._eof = True
            self._cond.notify_all()

    def fail(self, error: BaseException) -> None:
        """Abort both sides: the reader raises ``error`` (the SDK then aborts the upload)."""
        with self._cond:
            if self._error is None:
                self._error = error
            self._chunks.clear()
            self._size = 0
            self._cond.notify_all()

    def _raise_if_failed(self) -> None:
        if self._error is not None:
            raise self._error

    def read(self, size: int = -1) -> bytes:
        """Up to ``size`` bytes, blocking until that many are buffered or the stream ends."""
        with self._cond:
            while True:
                self._raise_if_failed()
                if self.progress.cancelled:
                    raise Cancelled()
                if self._eof or (size >= 0 and self._size >= size):
                    break
                self._cond.wait(1.0)
            want = self._size if size < 0 else min(size, self._size)
            out = []
            got = 0
            while got < want:
                chunk = self._chunks.popleft()
                if got + len(chunk) > want:
                    cut = want - got
                    self._chunks.appendleft(chunk[cut:])
                    chunk = chunk[:cut]
                out.append(chunk)
                got += len(chunk)
            self._size -= got
            self._cond.notify_all()
        self.progress.add(got)
        return b"".join(out)


class ProgressReader:
    """A file opened for reading that counts bytes and stops when cancelled."""

    def __init__(self, fileobj, progress: Progress):
        self._file = fileobj
        self.progress = progress

    def read(self, size: int = -1) -> bytes:
        self.progress.check()
        data = self._file.read(size)
        self.progress.add(len(data))
        return data
