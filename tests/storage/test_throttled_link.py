"""benchmarks/throttled_link.py: the office uplink the storage benchmark measures over (issue 22).

Its rate holds each way (and is shared by the connections over it), it adds its latency, and it
counts exactly the bytes that crossed, each way. Plain sockets on 127.0.0.1 at both ends."""

from __future__ import annotations

import hashlib
import os
import socket
import sys
import threading
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

from throttled_link import Link  # noqa: E402

pytestmark = pytest.mark.storage


class Peer:
    """A server on the far side: it answers each connection with ``reply(connection)``."""

    def __init__(self, reply):
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.address = self.listener.getsockname()[:2]
        self.reply = reply
        self.threads: list[threading.Thread] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            thread = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            self.threads.append(thread)
            thread.start()

    def _serve(self, conn):
        with conn:
            self.reply(conn)

    def close(self):
        self.listener.close()


def sink(results: list):
    """Reads until the client closes; records (bytes, sha256, seconds from first to last byte)."""

    def reply(conn):
        digest, n, first = hashlib.sha256(), 0, None
        while data := conn.recv(1 << 20):
            first = first or time.monotonic()
            digest.update(data)
            n += len(data)
        results.append((n, digest.hexdigest(), time.monotonic() - first if first else 0.0))
        conn.sendall(b"k")

    return reply


def source(payload: bytes):
    def reply(conn):
        conn.recv(1)  # the client's go
        conn.sendall(payload)

    return reply


def connect(port) -> socket.socket:
    return socket.create_connection((port.host, port.port), timeout=30)


def send_all(port, payload: bytes) -> float:
    """Sends ``payload`` through ``port``, waits for the far side's acknowledgement; seconds taken."""
    start = time.monotonic()
    with connect(port) as s:
        s.sendall(payload)
        s.shutdown(socket.SHUT_WR)
        assert s.recv(1) == b"k"
    return time.monotonic() - start


@pytest.fixture
def links():
    made = []

    def make(**kwargs):
        link = Link("test uplink", **kwargs)
        made.append(link)
        return link

    yield make
    for link in made:
        link.close()


@pytest.mark.parametrize("mbit", [8, 40])
def test_the_rate_holds_each_way_within_15_percent_over_about_two_seconds(links, mbit):
    link = links(mbit=mbit, latency_ms=5)
    size = int(link.rate * 2)  # two seconds' worth at the set rate
    got: list = []
    up_peer = Peer(sink(got))
    payload = os.urandom(size)
    up = link.forward(up_peer.address, client_side="office")
    send_all(up, payload)
    (n, digest, seconds) = got[0]
    assert n == size and digest == hashlib.sha256(payload).hexdigest()
    assert abs(size / seconds - link.rate) <= 0.15 * link.rate, (size / seconds, link.rate)

    down_peer = Peer(source(payload))
    down = link.forward(down_peer.address, client_side="office")
    with connect(down) as s:
        s.sendall(b"g")
        received, first = bytearray(), None
        while data := s.recv(1 << 20):
            first = first or time.monotonic()
            received += data
    seconds = time.monotonic() - first
    assert bytes(received) == payload
    assert abs(size / seconds - link.rate) <= 0.15 * link.rate, (size / seconds, link.rate)
    up_peer.close(), down_peer.close()


def test_the_rate_is_shared_by_connections_and_each_direction_has_its_own(links):
    link = links(mbit=16, latency_ms=5)
    size = int(link.rate)  # each of two uploads: one second alone, two seconds together
    got: list = []
    peer = Peer(sink(got))
    up = link.forward(peer.address, client_side="office")
    back = Peer(source(os.urandom(2 * size)))
    down = link.forward(back.address, client_side="office")
    times: list[float] = []

    def download():
        start = time.monotonic()
        with connect(down) as s:
            s.sendall(b"g")
            while s.recv(1 << 20):
                pass
        times.append(time.monotonic() - start)

    workers = [threading.Thread(target=lambda: times.append(send_all(up, os.urandom(size)))) for _ in range(2)]
    workers.append(threading.Thread(target=download))  # the other direction: full duplex, its own rate
    start = time.monotonic()
    for w in workers:
        w.start()
    for w in workers:
        w.join(30)
    elapsed = time.monotonic() - start
    assert len(times) == 3
    assert abs(elapsed - 2.0) <= 0.3, f"2 x {size} bytes up and 2 x {size} down took {elapsed:.2f} s, not ~2 s"
    assert link.bytes_sent("office", "cloud") == 2 * size + 1  # the download's one-byte go
    peer.close(), back.close()


def test_latency_is_added_one_way_each_direction_and_a_round_trip_for_the_handshake(links):
    link = links(mbit=100, latency_ms=40)
    peer = Peer(lambda conn: [conn.sendall(conn.recv(16)) for _ in range(3)])  # echo three pings
    port = link.forward(peer.address, client_side="cloud")
    start = time.monotonic()
    with connect(port) as s:
        rtts, answered = [], []
        for _ in range(3):
            sent = time.monotonic()
            s.sendall(b"ping")
            assert s.recv(16) == b"ping"
            answered.append(time.monotonic())
            rtts.append(answered[-1] - sent)
    # the first answer also waits for the handshake's round trip: 2 x 40 ms, then 40 ms each way
    # upper bounds: slack for a loaded machine, well short of one more latency (a delay applied twice)
    assert 0.16 <= answered[0] - start <= 0.16 + 0.07, f"first answer after {(answered[0] - start) * 1000:.0f} ms"
    for rtt in rtts[1:]:
        assert 0.08 <= rtt <= 0.08 + 0.035, f"round trip {rtt * 1000:.0f} ms, the link's is 80 ms"
    peer.close()


def test_bytes_are_counted_exactly_each_way_and_reset(links):
    link = links(mbit=400, latency_ms=1)
    up_size, down_size = 3_333_333, 1_234_567
    reply_bytes = os.urandom(down_size)

    def reply(conn):
        left = up_size
        while left:
            left -= len(conn.recv(min(left, 1 << 20)))
        conn.sendall(reply_bytes)

    peer = Peer(reply)
    port = link.forward(peer.address, client_side="office")
    with connect(port) as s:
        s.sendall(os.urandom(up_size))
        s.shutdown(socket.SHUT_WR)
        got = bytearray()
        while data := s.recv(1 << 20):
            got += data
    assert bytes(got) == reply_bytes
    deadline = time.monotonic() + 5
    while link.total() < up_size + down_size and time.monotonic() < deadline:
        time.sleep(0.01)
    assert link.bytes_sent("office", "cloud") == up_size
    assert link.bytes_sent("cloud", "office") == down_size
    assert link.counters() == {"office->cloud": up_size, "cloud->office": down_size}
    assert port.connections == 1
    link.reset()
    assert link.total() == 0
    peer.close()


def test_a_side_that_is_not_the_links_is_refused(links):
    link = links(mbit=10, latency_ms=1)
    with pytest.raises(ValueError):
        link.forward(("127.0.0.1", 9), client_side="home")
