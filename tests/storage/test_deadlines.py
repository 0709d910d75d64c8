"""The deadline machinery under the storage client, against plain local sockets.

The fault suite (tests/faults) shows the deadlines end to end against the real store; these
pin down the parts: a timeout is never retried, the stall deadline bounds each wait (not a
whole part), a watch breaks a blocked connection, a cancel reaches its listeners.
"""

from __future__ import annotations

import socket
import threading
import time

import pytest
import urllib3
from urllib3.exceptions import ProtocolError, ReadTimeoutError

from hybridhub.lab_ext.storage.deadlines import DeadlinedPoolManager, NoTimeoutRetry, Watch
from hybridhub.lab_ext.storage.errors import Cancelled
from hybridhub.lab_ext.storage.streams import BytePipe, Progress

pytestmark = pytest.mark.storage

MiB = 1024 * 1024


class SlowServer:
    """A loopback HTTP peer that reads the request ``rate`` bytes per second (None: never) and
    answers 200 after ``answer_after`` seconds (None: never)."""

    def __init__(self, rate: float | None, answer_after: float | None = 0.0):
        self.rate, self.answer_after = rate, answer_after
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)  # no autotuned MiBs
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(4)
        self.port = self.listener.getsockname()[1]
        self.received = 0
        self.done = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        conn, _ = self.listener.accept()
        with conn:
            conn.settimeout(0.1)
            while self.rate is not None and not self.done.is_set():
                try:
                    data = conn.recv(int(self.rate / 10))
                except TimeoutError:
                    continue
                except OSError:
                    return
                if not data:
                    return
                self.received += len(data)
                if data.endswith(b"!"):  # the body's last byte
                    break
                time.sleep(0.1)
            if self.answer_after is None:
                self.done.wait()
                return
            time.sleep(self.answer_after)
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
            self.done.wait(5)

    def close(self) -> None:
        self.done.set()
        self.listener.close()


@pytest.fixture
def slow_server(request):
    servers = []

    def make(*args, **kwargs) -> SlowServer:
        servers.append(SlowServer(*args, **kwargs))
        return servers[-1]

    yield make
    for server in servers:
        server.close()


def _put(server: SlowServer, body: bytes, first_byte: float, stall: float, watch: Watch | None = None):
    http = DeadlinedPoolManager(first_byte, stall, watch)
    return http.request("PUT", f"http://127.0.0.1:{server.port}/x", body=body)


def test_a_slow_but_moving_upload_never_hits_the_stall_deadline(slow_server):
    # 6 MiB at 2 MiB/s: 3 s of sending, three times the stall deadline (one sendall of the
    # whole part under a 1 s socket timeout would fail)
    server = slow_server(rate=2 * MiB)
    response = _put(server, b"x" * (6 * MiB - 1) + b"!", first_byte=1.0, stall=1.0)
    assert response.status == 200 and response.data == b"ok"


def test_an_upload_nobody_reads_fails_at_the_stall_deadline_once(slow_server):
    server = slow_server(rate=None)
    started = time.monotonic()
    with pytest.raises(urllib3.exceptions.ProtocolError) as info:
        _put(server, b"x" * (32 * MiB), first_byte=5.0, stall=1.0)
    assert isinstance(info.value.args[1], TimeoutError)
    assert 0.9 <= time.monotonic() - started <= 3.0


def test_no_answer_fails_at_the_first_byte_deadline_without_a_retry(slow_server):
    server = slow_server(rate=MiB * 10, answer_after=None)
    started = time.monotonic()
    with pytest.raises(ReadTimeoutError):
        _put(server, b"small!", first_byte=1.0, stall=5.0)
    assert 0.9 <= time.monotonic() - started <= 3.0  # not 2 x 1 s


def test_retry_passes_on_other_errors_but_never_a_timeout():
    retry = NoTimeoutRetry(total=3, connect=1, read=1)
    with pytest.raises(ReadTimeoutError):
        retry.increment("GET", "/", error=ReadTimeoutError(None, "/", "slow"))
    with pytest.raises(ProtocolError):
        retry.increment("GET", "/", error=ProtocolError("Connection aborted.", TimeoutError("timed out")))
    again = retry.increment("GET", "/", error=ProtocolError("Connection aborted.", ConnectionResetError()))
    assert isinstance(again, NoTimeoutRetry) and again.read == 0


def test_a_watch_abort_wakes_a_blocked_request_and_refuses_the_next(slow_server):
    server = slow_server(rate=MiB * 10, answer_after=None)
    watch = Watch()
    failed: list[BaseException] = []

    def request() -> None:
        try:
            _put(server, b"small!", first_byte=30.0, stall=30.0, watch=watch)
        except BaseException as exc:  # noqa: BLE001 - recorded for the assertion
            failed.append(exc)

    thread = threading.Thread(target=request)
    thread.start()
    time.sleep(0.3)  # the request waits for its answer
    aborted = time.monotonic()
    watch.abort(Cancelled())
    thread.join(5)
    assert not thread.is_alive() and time.monotonic() - aborted < 1.0
    assert failed and isinstance(failed[0], Cancelled)  # the retry after the break ends at the watch
    with pytest.raises(Cancelled):
        watch.check()


def test_a_cancel_calls_its_listeners_once_and_late_ones_at_once():
    progress, calls = Progress(), []
    progress.on_cancel(lambda: calls.append("early"))
    progress.cancel()
    progress.cancel()
    progress.on_cancel(lambda: calls.append("late"))
    assert calls == ["early", "late"]


def test_a_cancel_wakes_a_reader_waiting_for_the_browser():
    pipe = BytePipe(limit=MiB)
    failed: list[BaseException] = []

    def read() -> None:
        try:
            pipe.read(MiB)
        except BaseException as exc:  # noqa: BLE001 - recorded for the assertion
            failed.append(exc)

    thread = threading.Thread(target=read)
    thread.start()
    time.sleep(0.1)
    cancelled = time.monotonic()
    pipe.progress.cancel()
    thread.join(5)
    assert time.monotonic() - cancelled < 0.5 and isinstance(failed[0], Cancelled)
