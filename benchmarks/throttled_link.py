"""A throttled network link between two sites, made of TCP proxies on 127.0.0.1, that counts bytes.

A :class:`Link` models one network path, e.g. an office's internet uplink between the office and
the cloud: a bandwidth per direction (a token bucket each way, shared by every connection over the
link, as a real uplink is) and a one-way latency. :meth:`Link.forward` opens a port on 127.0.0.1
that stands for "the other side": a client on one side connects to it and its bytes reach the
upstream address on the other side, paced by the link; the answers come back the same way.

How a chunk of bytes crosses (per direction, per connection):

1. a reader thread receives it from the sender's socket and takes its size from the direction's
   token bucket (it waits when the link is busy: the serialization time at the link's rate);
2. it is queued, stamped ``now + latency`` (the propagation delay);
3. a writer thread counts it and sends it on, no earlier than the stamp.

The queue holds at most a few bandwidth-delay products of bytes; a slow receiver fills it and the
reader stops reading, so back-pressure reaches the sender as on a real path. A new connection's
first bytes are held for one round trip more (``2 * latency``): what the TCP handshake costs a
client before it can send. Not modelled: packet loss, TCP congestion control, MTU.

``bytes_sent(from_side, to_side)`` is exact: every byte a writer handed to the receiving socket,
HTTP headers included; a byte is counted before it is handed over, so whatever a receiver has
read is already counted. Standard library only.
"""

from __future__ import annotations

import collections
import socket
import threading
import time

CHUNK = 256 * 1024  # most bytes read from a socket at once
_EOF = object()


class TokenBucket:
    """``rate`` bytes per second; ``take(n)`` waits until n bytes may go (a debt, paid in order)."""

    def __init__(self, rate: float, burst: int = 64 * 1024):
        if rate <= 0:
            raise ValueError("rate must be > 0")
        self.rate, self.burst = float(rate), float(burst)
        self._tokens, self._stamp = self.burst, time.monotonic()
        self._lock = threading.Lock()

    def take(self, n: int) -> None:
        with self._lock:
            now = time.monotonic()
            self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate) - n
            self._stamp = now
            wait = -self._tokens / self.rate if self._tokens < 0 else 0.0
        if wait > 0:
            time.sleep(wait)


class _ByteQueue:
    """A FIFO of (due time, bytes) bounded by the bytes it holds."""

    def __init__(self, limit: int):
        self.limit, self.held = limit, 0
        self.items: collections.deque = collections.deque()
        self.cond = threading.Condition()
        self.closed = False

    def put(self, item, size: int) -> bool:
        with self.cond:
            while self.held and self.held + size > self.limit and not self.closed:
                self.cond.wait(0.5)
            if self.closed:
                return False
            self.items.append((item, size))
            self.held += size
            self.cond.notify_all()
            return True

    def get(self):
        with self.cond:
            while not self.items and not self.closed:
                self.cond.wait(0.5)
            if not self.items:
                return _EOF
            item, size = self.items.popleft()
            self.held -= size
            self.cond.notify_all()
            return item

    def close(self) -> None:
        with self.cond:
            self.closed = True
            self.cond.notify_all()


class Link:
    """A path between sites ``sides[0]`` and ``sides[1]``: ``mbit`` Mbit/s each way, ``latency_ms`` one way."""

    def __init__(self, name: str, sides: tuple[str, str] = ("office", "cloud"), mbit: float = 100.0,
                 latency_ms: float = 20.0):
        self.name, self.sides = name, tuple(sides)
        self.rate = mbit * 1_000_000 / 8  # bytes per second, each way
        self.latency = latency_ms / 1000
        a, b = self.sides
        self._buckets = {(a, b): TokenBucket(self.rate), (b, a): TokenBucket(self.rate)}
        self._sent = {(a, b): 0, (b, a): 0}
        self._lock = threading.Lock()
        self._ports: list[Port] = []
        # enough queued bytes to keep the path full: a few bandwidth-delay products, at least 1 MiB
        self.queue_limit = max(1 << 20, int(4 * self.rate * self.latency))

    def other(self, side: str) -> str:
        if side not in self.sides:
            raise ValueError(f"{side!r} is not a side of {self.name} {self.sides}")
        return self.sides[1] if side == self.sides[0] else self.sides[0]

    def forward(self, upstream: tuple[str, int], client_side: str) -> "Port":
        """A port on 127.0.0.1 where clients on ``client_side`` reach ``upstream`` across the link."""
        port = Port(self, upstream, client_side)
        self._ports.append(port)
        return port

    def bytes_sent(self, from_side: str, to_side: str) -> int:
        with self._lock:
            return self._sent[(from_side, to_side)]

    def total(self) -> int:
        with self._lock:
            return sum(self._sent.values())

    def counters(self) -> dict[str, int]:
        with self._lock:
            return {f"{a}->{b}": n for (a, b), n in self._sent.items()}

    def reset(self) -> None:
        with self._lock:
            for key in self._sent:
                self._sent[key] = 0

    def _count(self, direction: tuple[str, str], n: int) -> None:
        with self._lock:
            self._sent[direction] += n

    def close(self) -> None:
        for port in self._ports:
            port.close()


class Port:
    """One listening socket of a :class:`Link` and the connections through it."""

    def __init__(self, link: Link, upstream: tuple[str, int], client_side: str):
        self.link, self.upstream = link, upstream
        self.up = (client_side, link.other(client_side))  # client -> upstream
        self.down = (self.up[1], self.up[0])
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.host, self.port = self.listener.getsockname()[:2]
        self.address = f"{self.host}:{self.port}"
        self.connections = 0
        self._sockets: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._closed = False
        threading.Thread(target=self._accept, daemon=True, name=f"{link.name}:{self.port}").start()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        opened = time.monotonic()
        try:
            upstream = socket.create_connection(self.upstream, timeout=30)
            upstream.settimeout(None)
        except OSError:
            client.close()
            return
        with self._lock:
            if self._closed:
                client.close(), upstream.close()
                return
            self.connections += 1
            self._sockets.update((client, upstream))
        for sock in (client, upstream):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        first_due = opened + 2 * self.link.latency  # the handshake's round trip before the first byte
        halves = [(client, upstream, self.up), (upstream, client, self.down)]
        done = threading.Barrier(2 * len(halves) + 1)

        def fail() -> None:  # one side reset: the whole connection goes, as through a real path
            for sock in (client, upstream):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

        for src, dst, direction in halves:
            queue = _ByteQueue(self.link.queue_limit)
            threading.Thread(target=self._read, args=(src, queue, direction, first_due, done, fail), daemon=True).start()
            threading.Thread(target=self._write, args=(dst, queue, direction, done, fail), daemon=True).start()
        done.wait()  # both directions finished (closed, or failed)
        for sock in (client, upstream):
            with self._lock:
                self._sockets.discard(sock)
            try:
                sock.close()
            except OSError:
                pass

    def _read(self, src, queue: _ByteQueue, direction, first_due: float, done: threading.Barrier, fail) -> None:
        bucket = self.link._buckets[direction]
        try:
            while True:
                data = src.recv(CHUNK)
                if not data:
                    break
                bucket.take(len(data))
                due = max(time.monotonic(), first_due) + self.link.latency
                if not queue.put((due, data), len(data)):
                    break
            queue.put((time.monotonic() + self.link.latency, None), 0)  # the FIN crosses the link too
        except OSError:
            queue.close()
            fail()
        finally:
            _arrive(done)

    def _write(self, dst, queue: _ByteQueue, direction, done: threading.Barrier, fail) -> None:
        try:
            while True:
                item = queue.get()
                if item is _EOF:
                    break
                due, data = item
                delay = due - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                if data is None:
                    dst.shutdown(socket.SHUT_WR)
                    break
                self.link._count(direction, len(data))
                dst.sendall(data)
        except OSError:
            fail()
        finally:
            queue.close()
            _arrive(done)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            sockets = list(self._sockets)
        try:
            self.listener.close()
        except OSError:
            pass
        for sock in sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def _arrive(barrier: threading.Barrier) -> None:
    try:
        barrier.wait()
    except threading.BrokenBarrierError:
        pass
