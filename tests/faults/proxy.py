"""A small TCP proxy between the server under test and the real object store, for fault injection.

It listens on 127.0.0.1 and forwards bytes both ways to one upstream address. A test switches
its mode at runtime:

- ``pass_through()``: forward as fast as both sides go;
- ``throttle(up=, down=)``: at most so many bytes per second per direction, summed over all
  connections (``up`` = client -> store, ``down`` = store -> client; ``None`` = unlimited);
- ``stall()``: keep every connection (open and new) open but move nothing: what a hung store or a
  dead network path looks like to a client, whose kernel buffers fill and whose reads hang;
- ``kill()``: reset every open connection (RST, like a crashed store host) and refuse new ones
  (the listening socket is closed, so connects get ECONNREFUSED);
- ``restore()``: listen again on the same port and forward (as ``pass_through``).

Counters (``bytes_up``, ``bytes_down``, ``connections``) and :meth:`wait_until` let a test fault
the store *mid*-transfer: e.g. throttle, wait until 1 MiB went up, then stall.

Threads, not asyncio: the proxy must keep running (and keep *not* moving bytes) while the test's
event loop is busy with the jupyter server under test.
"""

from __future__ import annotations

import select
import socket
import struct
import threading
import time
from collections.abc import Callable

PASS, THROTTLE, STALL, KILLED = "pass", "throttle", "stall", "killed"
_TICK = 0.05  # how often a pump re-checks the mode; bounds how long a mode switch takes to bite
_CHUNK = 64 * 1024


def _reset(sock: socket.socket) -> None:
    """Close with SO_LINGER 0: the kernel sends RST instead of FIN, like a crashed peer."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    try:
        sock.close()
    except OSError:
        pass


class _Bucket:
    """A token bucket for one direction: ``rate`` bytes per second, ``None`` = unlimited."""

    def __init__(self) -> None:
        self.rate: float | None = None
        self._tokens = 0.0
        self._stamp = time.monotonic()
        self._lock = threading.Lock()

    def set(self, rate: float | None) -> None:
        with self._lock:
            self.rate = rate
            self._tokens = 0.0
            self._stamp = time.monotonic()

    def take(self, wanted: int) -> int:
        """How many of ``wanted`` bytes may move now (0 = wait a tick)."""
        with self._lock:
            if self.rate is None:
                return wanted
            now = time.monotonic()
            # cap the burst at a tenth of a second's worth so a throttle stays smooth
            self._tokens = min(self._tokens + (now - self._stamp) * self.rate, max(self.rate / 10, 1.0))
            self._stamp = now
            allowed = min(wanted, int(self._tokens))
            self._tokens -= allowed
            return allowed


class _Connection:
    """One client connection and its upstream twin, pumped by two threads."""

    def __init__(self, proxy: "FaultProxy", client: socket.socket, upstream: socket.socket) -> None:
        self.proxy = proxy
        self.client = client
        self.upstream = upstream
        self.dead = False
        self.running = 2  # pumps still going; guarded by the proxy's lock
        self.threads = [
            threading.Thread(target=self._pump, args=(client, upstream, "up"), daemon=True),
            threading.Thread(target=self._pump, args=(upstream, client, "down"), daemon=True),
        ]

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def _pump(self, src: socket.socket, dst: socket.socket, direction: str) -> None:
        proxy = self.proxy
        bucket = proxy._buckets[direction]
        try:
            while not self.dead:
                if proxy.mode == STALL:
                    time.sleep(_TICK)
                    continue
                readable, _, _ = select.select([src], [], [], _TICK)
                if not readable or self.dead or proxy.mode == STALL:
                    continue
                allowed = bucket.take(_CHUNK)
                if not allowed:
                    time.sleep(_TICK / 5)
                    continue
                data = src.recv(allowed)
                if not data:  # orderly close: pass the FIN on, keep the other direction going
                    dst.shutdown(socket.SHUT_WR)
                    return
                proxy._count(direction, len(data))  # before passing them on: a test that got them sees them counted
                self._send(dst, data)
        except OSError:
            pass
        finally:
            if not self.dead:
                self.proxy._drop(self)

    def _send(self, dst: socket.socket, data: bytes) -> None:
        view = memoryview(data)
        while view and not self.dead:
            _, writable, _ = select.select([], [dst], [], _TICK)
            if writable:
                view = view[dst.send(view) :]

    def reset(self) -> None:
        self.dead = True
        for thread in self.threads:
            if thread is not threading.current_thread():
                thread.join(timeout=2)
        _reset(self.client)
        _reset(self.upstream)

    def close(self) -> None:
        self.dead = True
        for sock in (self.client, self.upstream):
            try:
                sock.close()
            except OSError:
                pass


class FaultProxy:
    """``FaultProxy(upstream_host, upstream_port).start()``; ``proxy.endpoint`` is its http URL."""

    def __init__(self, upstream_host: str, upstream_port: int, port: int = 0) -> None:
        self.upstream = (upstream_host, upstream_port)
        self.port = port
        self.mode = PASS
        self.bytes_up = 0
        self.bytes_down = 0
        self.connections = 0
        self._buckets = {"up": _Bucket(), "down": _Bucket()}
        self._open: set[_Connection] = set()
        self._lock = threading.Lock()
        self._listener: socket.socket | None = None
        self._acceptor: threading.Thread | None = None

    # lifecycle ------------------------------------------------------------------------------
    def start(self) -> "FaultProxy":
        self._listen()
        return self

    def close(self) -> None:
        self._stop_listening()
        for conn in self._take_open():
            conn.close()

    def __enter__(self) -> "FaultProxy":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # modes ----------------------------------------------------------------------------------
    def pass_through(self) -> None:
        self.throttle(None, None)
        self.mode = PASS

    def throttle(self, up: float | None = None, down: float | None = None) -> None:
        self._buckets["up"].set(up)
        self._buckets["down"].set(down)
        self.mode = THROTTLE if (up or down) else PASS

    def stall(self) -> None:
        self.mode = STALL

    def kill(self) -> None:
        self.mode = KILLED
        self._stop_listening()
        for conn in self._take_open():
            conn.reset()

    def restore(self) -> None:
        self.pass_through()
        if self._listener is None:
            self._listen()

    # observation ----------------------------------------------------------------------------
    @property
    def open_connections(self) -> int:
        with self._lock:
            return len(self._open)

    def wait_until(self, condition: Callable[["FaultProxy"], bool], timeout: float = 30.0) -> None:
        """Poll ``condition(proxy)`` until true; AssertionError after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while not condition(self):
            if time.monotonic() > deadline:
                raise AssertionError(f"proxy condition not met in {timeout} s (up={self.bytes_up}, down={self.bytes_down})")
            time.sleep(0.01)

    # internals ------------------------------------------------------------------------------
    def _listen(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(128)
        self.port = listener.getsockname()[1]
        self._listener = listener
        self._acceptor = threading.Thread(target=self._accept, args=(listener,), daemon=True)
        self._acceptor.start()

    def _stop_listening(self) -> None:
        listener, self._listener = self._listener, None
        if listener is None:
            return
        try:
            listener.shutdown(socket.SHUT_RDWR)  # wakes the accept() below on Linux
        except OSError:
            pass
        listener.close()
        if self._acceptor is not None:
            self._acceptor.join(timeout=2)

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            if self.mode == KILLED:
                _reset(client)
                continue
            try:
                upstream = socket.create_connection(self.upstream, timeout=5)
            except OSError:
                _reset(client)
                continue
            for sock in (client, upstream):
                sock.settimeout(None)
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            conn = _Connection(self, client, upstream)
            with self._lock:
                killed = self.mode == KILLED  # killed while connecting upstream: not to survive it
                if not killed:
                    self.connections += 1
                    self._open.add(conn)
            if killed:
                conn.reset()
            else:
                conn.start()

    def _take_open(self) -> list[_Connection]:
        with self._lock:
            conns, self._open = list(self._open), set()
        return conns

    def _drop(self, conn: _Connection) -> None:
        """A pump ended (a side closed or errored): close the pair once both pumps are done."""
        with self._lock:
            conn.running -= 1
            if conn.running:
                return
            self._open.discard(conn)
        conn.close()

    def _count(self, direction: str, n: int) -> None:
        with self._lock:
            if direction == "up":
                self.bytes_up += n
            else:
                self.bytes_down += n
