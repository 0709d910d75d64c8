"""Nothing is left behind after a crash (issue 17, "Faults").

A real jupyter server with the extension runs as a subprocess in front of the real store
(SeaweedFS) through the tests' fault proxy. The proxy throttles the store so the transfers are
surely mid-way when the server is SIGKILLed (no code of it runs: no abort, no temp file removal),
or stalls or kills the store so the server cannot abort. After a restart, or once the store is back,
within seconds: no multipart upload is left in the bucket, no ``*.hybridhub-part`` file in the
workspace, and the file a download was replacing is untouched.
"""

from __future__ import annotations

import http.client
import io
import json
import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

import pytest

from hybridhub.hub_ext.demo.ports import free_ports
from tests.storage.conftest import new_bucket

pytestmark = pytest.mark.faults

MiB = 1024 * 1024
SIZE = 24 * MiB  # four parts: a multipart upload
RETRY_SECONDS = 1.0  # the sweep's retry while the store is unreachable (StorageConfig.leftover_retry_seconds)
DEADLINE = 2.0  # first byte and stall deadlines: a hung store fails a transfer in seconds


class Server:
    """``jupyter server`` with the extension on a workspace; SIGKILL-able, restartable."""

    def __init__(self, root: Path, home: Path, endpoint: str, creds):
        self.root, self.home, self.token = root, home, secrets.token_hex(16)
        self.env = dict(
            os.environ,
            HOME=str(home),
            JUPYTER_RUNTIME_DIR=str(home / "runtime"),
            JUPYTER_CONFIG_DIR=str(home / "config"),
            HYBRIDHUB_S3_ENDPOINT=endpoint,
            HYBRIDHUB_S3_ACCESS_KEY=creds.user_access_key,
            HYBRIDHUB_S3_SECRET_KEY=creds.user_secret_key,
        )
        self.process: subprocess.Popen | None = None
        self.port = 0

    def start(self, timeout: float = 60) -> float:
        """Start and wait until it answers; returns how long that took."""
        self.port = free_ports(1)[0]
        jupyter = Path(sys.executable).parent / "jupyter"
        log = open(self.home / "server.log", "ab")  # noqa: SIM115 - inherited by the child
        self.log_start = log.tell()
        begun = time.monotonic()
        self.process = subprocess.Popen(
            [str(jupyter), "server", "--no-browser", f"--port={self.port}", "--ServerApp.ip=127.0.0.1",
             f"--IdentityProvider.token={self.token}", f"--ServerApp.root_dir={self.root}", "--allow-root",
             f"--StorageConfig.leftover_retry_seconds={RETRY_SECONDS}", f"--StorageConfig.first_byte_timeout={DEADLINE}",
             f"--StorageConfig.stall_timeout={DEADLINE}"],
            env=self.env, stdout=log, stderr=log, start_new_session=True,
        )  # fmt: skip
        log.close()
        while True:
            try:
                status, _ = self.request("GET", "/api/status")
                if status == 200:
                    return time.monotonic() - begun
            except OSError:
                pass
            assert self.process.poll() is None and time.monotonic() - begun < timeout, "jupyter server did not start"
            time.sleep(0.2)

    def connection(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)

    @property
    def auth(self) -> dict:
        return {"Authorization": f"token {self.token}"}

    def request(self, method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
        conn = self.connection()
        try:
            conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=self.auth)
            response = conn.getresponse()
            data = response.read()
            return response.status, (json.loads(data) if data.startswith(b"{") else {})
        finally:
            conn.close()

    def transfer(self, **fields) -> dict:
        status, job = self.request("POST", "/hybridhub/storage/transfers", fields)
        assert status == 202, job
        return job

    def browser_upload(self, bucket: str, key: str, first: bytes) -> http.client.HTTPConnection:
        """A browser-style streamed PUT of ``SIZE`` bytes that sends only ``first`` and then waits."""
        conn = self.connection()
        conn.putrequest("PUT", "/hybridhub/storage/upload?" + urlencode({"bucket": bucket, "key": key}))
        for name, value in {**self.auth, "Content-Length": str(SIZE)}.items():
            conn.putheader(name, value)
        conn.endheaders()
        conn.send(first)
        return conn

    def wait_for_log(self, text: str, timeout: float = 20) -> None:
        """Wait until the server's log (of its current run) says ``text``."""
        eventually(lambda: text.encode() in (self.home / "server.log").read_bytes()[self.log_start :], timeout, text)

    def kill(self) -> None:
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(15)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture
def server_factory(tmp_path, object_store, store_proxy):
    started: list[Server] = []

    def make(root: Path) -> Server:
        server = Server(root, tmp_path / f"home{len(started)}", store_proxy.endpoint, object_store.credentials)
        server.home.mkdir()
        started.append(server)
        return server

    yield make
    for server in started:
        server.stop()


def multipart_keys(admin, bucket: str) -> list[str]:
    return sorted(u.object_name for u in admin._list_multipart_uploads(bucket, max_uploads=1000).uploads)


def temp_files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*.hybridhub-part"))


def eventually(condition, timeout: float, what: str) -> float:
    """Poll ``condition`` until true; the seconds it took (fails after ``timeout``)."""
    begun = time.monotonic()
    while not condition():
        assert time.monotonic() - begun < timeout, what
        time.sleep(0.1)
    return time.monotonic() - begun


@pytest.fixture
def workspace(workspace) -> Path:
    """The suite's workspace with a file a download replaces and a file to upload."""
    root = workspace
    (root / "data").mkdir()
    (root / "data" / "model.bin").write_bytes(b"the old model")
    (root / "big-upload.bin").write_bytes(os.urandom(SIZE))
    return root


def test_sigkill_mid_transfers_leaves_nothing_after_restart(workspace, admin, store_proxy, server_factory):
    bucket = new_bucket(admin)
    admin.put_object(bucket, "model.bin", io.BytesIO(os.urandom(SIZE)), SIZE)
    server = server_factory(workspace)
    server.start()
    store_proxy.throttle(up=MiB, down=MiB)  # the transfers take ~30 s: surely mid-way below

    browser = server.browser_upload(bucket, "from-browser.bin", os.urandom(8 * MiB))
    server.transfer(direction="upload", path="big-upload.bin", bucket=bucket, key="from-job.bin")
    server.transfer(direction="download", bucket=bucket, key="model.bin", path="data/model.bin", overwrite=True)
    eventually(
        lambda: multipart_keys(admin, bucket) == ["from-browser.bin", "from-job.bin"] and temp_files(workspace),
        30, "the three transfers did not get under way",
    )  # fmt: skip
    server.kill()
    browser.close()
    # what the crash left: no code of the server ran after the kill
    assert multipart_keys(admin, bucket) == ["from-browser.bin", "from-job.bin"]
    assert len(temp_files(workspace)) == 1
    assert (workspace / ".hybridhub" / "transfers").is_dir()

    store_proxy.pass_through()
    server.start()
    took = eventually(
        lambda: not multipart_keys(admin, bucket) and not temp_files(workspace) and not (workspace / ".hybridhub").exists(),
        10, "the restarted server did not clean up what the crash left",
    )  # fmt: skip
    print(f"cleaned {took:.2f} s after the restarted server answered")
    assert (workspace / "data" / "model.bin").read_bytes() == b"the old model"
    assert sorted(o.object_name for o in admin.list_objects(bucket)) == ["model.bin"]  # no partial object


def test_a_failed_upload_never_retried_is_cleaned_once_the_store_is_back(workspace, admin, store_proxy, server_factory):
    bucket = new_bucket(admin)
    server = server_factory(workspace)
    server.start()
    store_proxy.throttle(up=MiB)
    job = server.transfer(direction="upload", path="big-upload.bin", bucket=bucket, key="never-retried.bin")
    eventually(lambda: multipart_keys(admin, bucket) == ["never-retried.bin"], 30, "the upload did not start")
    store_proxy.stall()  # the store hangs mid-upload: the upload fails, and so does the server's abort
    assert server.request("GET", f"/hybridhub/storage/transfers/{job['id']}")[1]["state"] == "running"
    eventually(
        lambda: server.request("GET", f"/hybridhub/storage/transfers/{job['id']}")[1]["state"] == "failed",
        20, "the upload did not fail",
    )  # fmt: skip
    server.wait_for_log("leftover multipart upload(s) wait for the store")  # a sweep ran against the hung store
    assert multipart_keys(admin, bucket) == ["never-retried.bin"]  # left behind while the store is gone

    store_proxy.pass_through()
    took = eventually(lambda: not multipart_keys(admin, bucket), 5 + 2 * RETRY_SECONDS, "not cleaned once the store was back")
    print(f"cleaned {took:.2f} s after the store came back")
    eventually(lambda: not (workspace / ".hybridhub").exists(), 5, "the journal was not removed")  # right after the abort


def test_a_restart_while_the_store_is_down_starts_at_once_and_cleans_later(workspace, admin, store_proxy, server_factory):
    bucket = new_bucket(admin)
    server = server_factory(workspace)
    first_start = server.start()
    store_proxy.throttle(up=MiB)
    server.transfer(direction="upload", path="big-upload.bin", bucket=bucket, key="crashed.bin")
    eventually(lambda: multipart_keys(admin, bucket) == ["crashed.bin"], 30, "the upload did not start")
    server.kill()
    store_proxy.kill()

    second_start = server.start()  # the sweep at load cannot reach the store: it must not hold the start
    assert second_start < first_start + 10, (first_start, second_start)
    print(f"server start: {first_start:.2f} s with the store up, {second_start:.2f} s with it down")
    server.wait_for_log("leftover multipart upload(s) wait for the store")  # the sweep at load ran, in vain
    assert multipart_keys(admin, bucket) == ["crashed.bin"]
    assert (workspace / ".hybridhub" / "transfers").is_dir()  # the record waits for the store

    store_proxy.restore()
    eventually(lambda: not multipart_keys(admin, bucket), 5 + 2 * RETRY_SECONDS, "not cleaned once the store was back")
    eventually(lambda: not (workspace / ".hybridhub").exists(), 5, "the journal was not removed")
