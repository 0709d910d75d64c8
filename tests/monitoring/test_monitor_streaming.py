"""The monitoring job streams each day's log object (issue 20, Performance: "logs are streamed, never
loaded whole"): s3io.open_object against the real SeaweedFS store, a ~60 MB day processed with peak
RSS growth far below its size, lines split across reads and a last line without a newline, and the
store's connection cut mid-object (the job fails in one line, nothing of the run is written)."""

from __future__ import annotations

import io
import json
import re
import socket
import struct
import subprocess
import sys
import threading

import pytest

from hybridhub.hub_ext.demo.sample_data import sensor_csv

from .conftest import s3_env
from .test_monitor_job import DAYS, END, ML, MODEL, VERSION, Project, rows_of, template_module

pytestmark = pytest.mark.monitoring

BIG_LINES = 285_000  # ~212 bytes a line: ~60 MB
SMALL_LINES = 28_500  # ~6 MB: more than two of drift.CHUNK_LINES chunks, so both runs reach the steady state


def day_object(lines: int, day: str) -> bytes:
    """``lines`` log lines in ml/prediction_log.py's format (as test_monitor_job.log_line), rows of the
    training distribution, made with one format string (fast); no newline after the last one."""
    rows, labels = rows_of(sensor_csv(2000, seed=1))  # Project's training data
    template = ('{"id": "%032x", "ts": "' + day + 'T10:00:00.000Z", "model": "' + MODEL + '", "version": "' + VERSION
                + '", "request_id": "r%d", "inputs": [[%s, %s, %s]], "outputs": {"predict": [%d]}}')  # fmt: skip
    n = len(rows)
    return "\n".join(template % (i, i, *rows[i % n], labels[i % n]) for i in range(lines)).encode()


# The child's own high-water mark: /proc/self/status VmHWM (proc(5)), read as the job ends. Not
# os.wait4's ru_maxrss: Linux carries the parent's high-water mark over fork + exec into the child's
# (kernel exec_mmap -> setmax_mm_hiwater_rss of the old mm), so it would count this pytest process.
MEASURE = """import re, runpy, sys
hwm, sys.argv = sys.argv[1], sys.argv[2:]
try:
    runpy.run_path(sys.argv[0], run_name="__main__")
finally:
    status = open("/proc/self/status").read()
    open(hwm, "w").write(re.search(r"VmHWM:\\s+(\\d+) kB", status).group(1))
"""


def run_measured(project: Project, out) -> tuple[int, str, int]:
    """ml/monitor.py run in a fresh interpreter: (exit code, stderr, its peak RSS in KiB)."""
    hwm = out.with_suffix(".hwm")
    done = subprocess.run([sys.executable, "-c", MEASURE, str(hwm), str(ML / "monitor.py"), "--end", END.isoformat(),
                           "--out", str(out)], env=project.env(MONITOR_DAYS="1"), cwd=project.tmp, capture_output=True,
                          text=True, timeout=300)  # fmt: skip
    return done.returncode, done.stderr, int(hwm.read_text())


def test_a_60_mb_day_is_read_with_memory_far_below_its_size(store, bucket, tmp_path):
    """Peak RSS of the job over a 6 MB day and over a 60 MB day (same reference, same code): what the
    job holds is one READ_SIZE block (1 MiB), one CHUNK_LINES chunk of lines and its parse, and the
    accumulators, none of which grows with the object. Holding the object would add its 54 MB of
    difference at least (the bytes alone); the bound, 15 MiB (a quarter of the object), leaves room
    for allocator noise and still fails for any implementation that keeps the day. Both objects have
    no final newline and ~60 read boundaries that split lines: every line must come through whole."""
    project = Project(store, bucket, tmp_path)
    peaks = {}
    for lines in (SMALL_LINES, BIG_LINES):
        data = day_object(lines, END.isoformat())
        assert not data.endswith(b"\n")
        project.log(END.isoformat(), data)
        size = len(data)
        del data
        out = tmp_path / f"report-{lines}.json"
        code, stderr, peaks[lines] = run_measured(project, out)
        assert code == 0, stderr
        report = json.loads(out.read_text())
        assert report["drift"]["rows"]["read"] == lines and report["drift"]["rows"]["skipped"]["malformed"] == 0
        assert report["window"]["read"] == [END.isoformat()] and report["status"] == "ok"
    assert size > 55_000_000
    growth_mib = (peaks[BIG_LINES] - peaks[SMALL_LINES]) / 1024
    assert growth_mib < 15, (peaks, growth_mib)


@pytest.mark.parametrize("size", [1, 7, 64, 1 << 20])
def test_lines_split_across_reads_and_a_last_line_without_newline_come_whole(store, bucket, tmp_path, monkeypatch, size):
    """The real store's stream read ``size`` bytes at a time: every line as bytes.split gives it (blank
    lines too, the statistics count them), the last one though it has no newline."""
    project = Project(store, bucket, tmp_path)
    content = b'{"a": 1}\n\n{"b": "\xc3\xa9t\xc3\xa9"}\r\n' + b"x" * 300 + b'\n{"last": true}'
    project.log(DAYS[0], content)
    for key, value in s3_env(store).items():
        monkeypatch.setenv(key, value)
    monitor, s3io = template_module("monitor"), template_module("s3io")
    uri = f"s3://{bucket}/logs/{MODEL}/{VERSION}/{DAYS[0]}.jsonl"
    with s3io.open_object(uri) as stream:
        assert list(monitor.stream_lines(stream, uri, size)) == content.split(b"\n")
    with s3io.open_object(uri) as stream:  # the same object, whole
        assert stream.read() == content


def test_an_overlong_line_is_one_malformed_line_never_held(monkeypatch):
    """A "line" over MAX_LINE (none a model server writes) is handed on as one malformed line."""
    monitor, drift = template_module("monitor"), template_module("drift")
    monkeypatch.setattr(monitor, "MAX_LINE", 10)
    content = b"ok1\n" + b"y" * 100 + b"\nok2\n" + b"z" * 50
    lines = list(monitor.stream_lines(io.BytesIO(content), "s3://b/k", 8))
    assert lines == [b"ok1", monitor.OVERLONG, b"ok2", monitor.OVERLONG]
    reference = drift.Reference.from_csv(sensor_csv(200, seed=1), features=["temperature_c", "vibration_mm_s", "current_a"],
                                         target="failure")  # fmt: skip
    assert drift.drift(reference, [monitor.OVERLONG])["rows"]["skipped"]["malformed"] == 1


class CuttingProxy:
    """Test plumbing: a TCP relay on 127.0.0.1 to the store that, for requests whose request line
    names ``marker``, forwards only ``limit`` bytes of the answer and then closes the connection
    (``reset``: with SO_LINGER 0, i.e. a TCP RST, as a crashed peer; else a FIN, as a store that
    stopped). Every other GET passes whole."""

    def __init__(self, target: str, marker: bytes, limit: int, reset: bool):
        host, port = target.removeprefix("http://").rsplit(":", 1)
        self.target, self.marker, self.limit, self.reset, self.cuts = (host, int(port)), marker, limit, reset, 0
        self.server = socket.create_server(("127.0.0.1", 0))
        self.endpoint = f"http://127.0.0.1:{self.server.getsockname()[1]}"
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            threading.Thread(target=self._relay, args=(client,), daemon=True).start()

    def _relay(self, client: socket.socket) -> None:
        upstream = socket.create_connection(self.target)
        request = client.recv(65536)  # urllib sends a GET's request line and headers in one write (GETs only:
        upstream.sendall(request)      # no body is relayed, and the failing job writes nothing)
        cut, sent = self.marker in request.split(b"\r\n", 1)[0], 0
        try:
            while data := upstream.recv(65536):
                if cut and sent + len(data) >= self.limit:
                    client.sendall(data[: self.limit - sent])
                    self.cuts += 1
                    if self.reset:
                        client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    break
                client.sendall(data)
                sent += len(data)
        except OSError:
            pass
        finally:
            client.close()
            upstream.close()

    def close(self) -> None:
        self.server.close()


@pytest.mark.parametrize("reset", [False, True], ids=["closed", "reset"])
def test_the_connection_dropping_mid_object_fails_the_job_cleanly(store, bucket, tmp_path, reset):
    """The second day's answer is cut after 300,000 bytes of a ~2.5 MB object: the job exits 1 with one
    line naming the object (no key), writes no report to the store and no artifact; s3io's whole
    read of the same object fails too rather than returning the short body."""
    project = Project(store, bucket, tmp_path)
    for n, day in enumerate(DAYS):
        project.log(day, day_object(10_000, day))
    marker = f"/{DAYS[1]}.jsonl".encode()
    proxy = CuttingProxy(store.endpoint, marker, 300_000, reset)
    try:
        out = tmp_path / "monitoring-report.json"
        env = project.env(S3_ENDPOINT=proxy.endpoint)
        done = subprocess.run([sys.executable, str(ML / "monitor.py"), "--end", END.isoformat(), "--out", str(out)],
                              env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120)  # fmt: skip
        assert done.returncode == 1, done.stdout + done.stderr
        [line] = done.stderr.strip().splitlines()
        assert line.startswith("monitoring failed: the object store failed: GET s3://") and marker.decode() in line
        if not reset:  # a FIN: http.client would return the short body as the end; s3io counts against Content-Length
            assert re.search(r"failed: the connection closed after \d+ of \d+ bytes$", line), line
        assert env["AWS_SECRET_ACCESS_KEY"] not in done.stdout + done.stderr
        assert proxy.cuts == 1 and not out.exists()
        assert project.stored("json") is None and project.stored("html") is None
        whole = subprocess.run([sys.executable, "-c", "import sys, s3io; s3io.read_bytes(sys.argv[1])",
                                f"s3://{bucket}/logs/{MODEL}/{VERSION}/{DAYS[1]}.jsonl"],
                               env=env, cwd=ML, capture_output=True, text=True, timeout=60)  # fmt: skip
        assert whole.returncode == 1 and f"{DAYS[1]}.jsonl failed" in whole.stderr, whole.stderr
    finally:
        proxy.close()
    done = subprocess.run([sys.executable, str(ML / "monitor.py"), "--end", END.isoformat(), "--out", str(out)],
                          env=project.env(), cwd=tmp_path, capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr  # the next run, the store reachable: the whole window
    assert json.loads(out.read_text())["window"]["read"] == DAYS


def test_open_object_reads_https_links_and_paths_as_streams_and_hides_a_links_query(tmp_path):
    """http(s):// (a presigned link: its query is a credential) and paths open the same way; a refusal
    names the link without its query."""
    import functools
    import http.server

    s3io = template_module("s3io")
    content = b"line 1\nline 2"
    (tmp_path / "day.jsonl").write_bytes(content)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        for uri in (f"{base}/day.jsonl?X-Amz-Signature=secret-sig", str(tmp_path / "day.jsonl")):
            with s3io.open_object(uri) as stream:
                assert stream.read(4) == b"line" and stream.read() == b" 1\nline 2"
        assert s3io.read_object(f"{base}/day.jsonl")[1]["size"] == len(content)
        with pytest.raises(SystemExit) as refused:
            s3io.open_object(f"{base}/gone.jsonl?X-Amz-Signature=secret-sig")
        assert str(refused.value) == f"GET {base}/gone.jsonl failed: HTTP 404"
    finally:
        server.shutdown()
        server.server_close()
