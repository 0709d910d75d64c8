"""Deadlines and cancellation for the store's connections (urllib3 under the minio SDK).

Two deadlines (``StorageConfig.first_byte_timeout``/``stall_timeout``):

- *first byte*: from sending a request until the store's answer starts. urllib3's read
  timeout covers exactly the wait for the status line; connecting is bounded by it too. It
  starts once the store took the request's last byte (not when the kernel did: see
  ``_wait_sent``).
- *stall*: no byte moves in either direction. Once the answer started, the socket's timeout
  becomes the stall deadline, so every ``recv`` of a body waits at most that long. Sending is
  done with ``send`` calls on the socket (not one ``sendall`` of a whole 6 MiB part, whose
  timeout would bound the whole part), so each wait for the peer to take a byte is bounded
  the same way.

No timeout is retried (:class:`NoTimeoutRetry`): a retry would silently multiply the deadline.

Cancelling: a :class:`Watch` knows the sockets of one transfer's connections; ``abort`` shuts
them down, which wakes a thread blocked in ``recv``/``send`` at once (Linux), and refuses any
further request on them, so a cancel bites mid-stall instead of after the stall deadline.
"""

from __future__ import annotations

import fcntl
import select
import socket
import struct
import termios
import threading
import time

import urllib3
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, ProtocolError, ReadTimeoutError

from .errors import StorageError

SEND_SLICE = 256 * 1024  # bytes offered to the kernel per send(); each waits at most the stall deadline


class Watch:
    """The sockets one transfer uses; ``abort(error)`` breaks them and fails what comes next."""

    def __init__(self) -> None:
        self.error: BaseException | None = None
        self._sockets: set[socket.socket] = set()
        self._lock = threading.Lock()

    def check(self) -> None:
        if self.error is not None:
            raise self.error

    def attach(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.add(sock)
            aborted = self.error is not None
        if aborted:
            _shutdown(sock)

    def detach(self, sock: socket.socket | None) -> None:
        with self._lock:
            self._sockets.discard(sock)

    def abort(self, error: BaseException) -> None:
        with self._lock:
            if self.error is None:
                self.error = error
            sockets = list(self._sockets)
        for sock in sockets:
            _shutdown(sock)


def _shutdown(sock: socket.socket) -> None:
    """Shut the TCP connection down under whatever thread is blocked on it. The plain socket's
    method even for TLS: ``SSLSocket.shutdown`` would drop the TLS state another thread uses."""
    try:
        socket.socket.shutdown(sock, socket.SHUT_RDWR)
    except OSError:
        pass  # already closed


class _Deadlined:
    """Mixin for urllib3's connection classes: the stall deadline on the body, a watch to abort."""

    def __init__(self, *args, stall_timeout: float = 30.0, watch: Watch | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.stall_timeout = stall_timeout
        self.watch = watch

    def connect(self):
        if self.watch is not None:
            self.watch.check()
        super().connect()
        if self.watch is not None:
            self.watch.attach(self.sock)

    def request(self, *args, **kwargs):
        if self.watch is not None:
            self.watch.check()  # a retry after an abort ends here, not at the store
        return super().request(*args, **kwargs)

    def send(self, data):
        if not isinstance(data, (bytes, bytearray, memoryview)) or self.sock is None:
            return super().send(data)
        self.sock.settimeout(self.stall_timeout)
        view = memoryview(data).cast("B")
        while view:
            # send() waits at most the timeout for room, then takes what fits
            view = view[self.sock.send(view[:SEND_SLICE]) :]

    def getresponse(self):
        if self.sock is not None:
            self._wait_sent()
        response = super().getresponse()  # the wait for the status line: the first-byte deadline
        if self.sock is not None:
            self.sock.settimeout(self.stall_timeout)
        return response

    def _wait_sent(self) -> None:
        """Wait, under the stall deadline, until the peer has taken the request's last byte.

        ``send`` returns once the kernel took the bytes; on a slow link MiBs of a part may still
        sit in the socket's send buffer. The first-byte wait starts when they are gone, or a
        slow but moving upload would fail as a store that does not answer. (Linux: the unsent
        byte count, ``TIOCOUTQ``; elsewhere the first-byte wait starts at once.)
        """
        fd = self.sock.fileno()
        last, moved = None, time.monotonic()
        pause = 0.0005  # a fast store drains the buffer in a millisecond: poll fast, then back off
        while True:
            try:
                queued = struct.unpack("i", fcntl.ioctl(fd, termios.TIOCOUTQ, b"\0\0\0\0"))[0]
            except OSError:
                return
            now = time.monotonic()
            if queued == 0:
                return
            if last is None or queued < last:
                last, moved = queued, now
            elif now - moved > self.stall_timeout:
                raise TimeoutError("the store took no byte of the request within the stall deadline")
            if select.select([fd], [], [], pause)[0]:
                return  # the answer (or a broken connection) is there already
            pause = min(pause * 2, 0.02)

    def close(self):
        if self.watch is not None:
            self.watch.detach(self.sock)
        super().close()


class DeadlinedHTTPConnection(_Deadlined, HTTPConnection):
    pass


class DeadlinedHTTPSConnection(_Deadlined, HTTPSConnection):
    pass


class _HTTPPool(HTTPConnectionPool):
    ConnectionCls = DeadlinedHTTPConnection


class _HTTPSPool(HTTPSConnectionPool):
    ConnectionCls = DeadlinedHTTPSConnection


class NoTimeoutRetry(urllib3.Retry):
    """urllib3's retries (a dropped keep-alive connection, a 503) but never after a timeout."""

    def increment(self, method=None, url=None, response=None, error=None, _pool=None, _stacktrace=None):
        if _is_timeout(error):
            raise error.with_traceback(_stacktrace)
        return super().increment(method, url, response, error, _pool, _stacktrace)


def _is_timeout(error: BaseException | None) -> bool:
    if isinstance(error, (ReadTimeoutError, ConnectTimeoutError)):
        return True
    return isinstance(error, ProtocolError) and any(isinstance(arg, TimeoutError) for arg in error.args)


class DeadlinedPoolManager(urllib3.PoolManager):
    """A PoolManager whose connections keep the deadlines and, optionally, answer to a watch."""

    def __init__(self, first_byte_timeout: float, stall_timeout: float, watch: Watch | None = None, **kwargs):
        if first_byte_timeout <= 0 or stall_timeout <= 0:
            raise StorageError("not_configured", "The store's first-byte and stall timeouts must be positive.")
        kwargs.setdefault("timeout", urllib3.Timeout(connect=first_byte_timeout, read=first_byte_timeout))
        kwargs.setdefault(
            "retries", NoTimeoutRetry(total=3, connect=1, read=1, backoff_factor=0.2, status_forcelist=[500, 502, 503, 504])
        )
        super().__init__(**kwargs)
        self.pool_classes_by_scheme = {"http": _HTTPPool, "https": _HTTPSPool}
        self.stall_timeout = stall_timeout
        self.watch = watch

    def with_watch(self, watch: Watch) -> "DeadlinedPoolManager":
        """A pool manager like this one, with connections of its own that ``watch`` can break."""
        first_byte = self.connection_pool_kw["timeout"].read_timeout
        return DeadlinedPoolManager(first_byte, self.stall_timeout, watch, **self.connection_pool_kw)

    def _new_pool(self, scheme, host, port, request_context=None):
        pool = super()._new_pool(scheme, host, port, request_context)
        pool.conn_kw.update(stall_timeout=self.stall_timeout, watch=self.watch)
        return pool
