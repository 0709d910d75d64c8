"""The server counts the bytes its transfers move, by kind, and reports them to the cost service.

Kinds and where they are counted: ``hybridhub.lab_ext.storage.metering`` (docs/cost.md, "Data
transfer"). The reports go to a tiny HTTP server of the test's own that records what it got.
"""

from __future__ import annotations

import http.server
import io
import json
import logging
import os
import subprocess
import sys
import threading
import time

import pytest

from hybridhub.lab_ext.storage import metering
from hybridhub.lab_ext.storage.errors import StorageError
from hybridhub.lab_ext.storage.metering import KINDS, Meter, TransferReporter
from hybridhub.lab_ext.storage.service import StorageService

from tests.monitoring.test_monitor_job import ML

from .conftest import on_server_loop, server_config, storage_config
from .test_direct_downloads import browser_endpoint

pytestmark = pytest.mark.storage


def test_counts_from_many_threads_add_up_exactly():
    meter = Meter()

    def work():
        for _ in range(1000):
            meter.add("workspace_in", 3)
            meter.add("upload_proxied", 1)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert meter.take() == {"workspace_in": 24000, "upload_proxied": 8000}
    assert meter.take() == {}  # taken: counting starts again from zero
    meter.add("direct_download", 0)  # an empty object moves nothing
    assert meter.peek() == {}


def test_unknown_kinds_are_refused_and_given_back_counts_add_to_new_ones():
    meter = Meter()
    with pytest.raises(ValueError):
        meter.add("teleport", 5)
    meter.count_direct_upload(7)
    taken = meter.take()
    meter.add("direct_upload", 1)
    meter.give_back(taken)
    assert meter.peek() == {"direct_upload": 8}
    assert set(KINDS) == {"upload_proxied", "download_proxied", "workspace_in", "workspace_out",
                          "direct_upload", "direct_download"}


def test_module_level_direct_upload_counter_feeds_the_servers_meter():
    before = metering.METER.peek().get("direct_upload", 0)
    metering.count_direct_upload(1234)
    assert metering.METER.peek().get("direct_upload", 0) - before == 1234
    metering.METER.give_back({"direct_upload": 0})


# -- the service's transfer paths, against the real object store ------------------------------------
@pytest.fixture
def metered(object_store, workspace):
    svc = StorageService(storage_config(object_store, browser_endpoint=browser_endpoint(object_store)), workspace)
    svc.meter = Meter()
    yield svc
    svc.jobs.shutdown()


def wait_job(svc, job):
    for _ in range(600):
        if svc.jobs.get(job.id).state != "running":
            return svc.jobs.get(job.id)
        time.sleep(0.05)
    raise AssertionError("the transfer did not end")


def test_each_transfer_path_counts_its_bytes_once(metered, bucket, workspace):
    body = b"x" * 70_000
    metered.upload_reader(bucket, "a.bin", io.BytesIO(body), len(body))
    assert metered.meter.take() == {"upload_proxied": 70_000}

    job = wait_job(metered, metered.start_download(bucket, "a.bin", "copy.bin"))
    assert job.state == "done" and (workspace / "copy.bin").stat().st_size == 70_000
    assert metered.meter.take() == {"workspace_in": 70_000}

    (workspace / "up.bin").write_bytes(b"y" * 12_345)
    job = wait_job(metered, metered.start_upload("up.bin", bucket, "up.bin"))
    assert job.state == "done"
    assert metered.meter.take() == {"workspace_out": 12_345}

    metered.download_link(bucket, "up.bin")  # the browser fetches it from the store: the object's size
    assert metered.meter.take() == {"direct_download": 12_345}


def test_a_failed_transfer_counts_nothing(metered, bucket, workspace):
    job = wait_job(metered, metered.start_download(bucket, "missing.bin", "m.bin"))
    assert job.state == "failed"
    with pytest.raises(StorageError):
        metered.download_link(bucket, "missing.bin")
    assert metered.meter.peek() == {}


@pytest.fixture
def jp_server_config(object_store):
    return server_config(object_store)


@on_server_loop
async def test_proxied_upload_and_download_through_the_server_are_counted(jp_fetch, admin):
    from .conftest import new_bucket

    bucket = new_bucket(admin)
    metering.METER.take()  # only this test's transfers below
    body = b"z" * 300_000
    await jp_fetch("hybridhub", "storage", "upload", method="PUT", body=body, params={"bucket": bucket, "key": "p.bin"})
    r = await jp_fetch("hybridhub", "storage", "object", params={"bucket": bucket, "key": "p.bin"})
    assert r.body == body
    assert metering.METER.take() == {"upload_proxied": 300_000, "download_proxied": 300_000}


# -- the reports ---------------------------------------------------------------------------------------
class CostStandin(http.server.BaseHTTPRequestHandler):
    """Records each POST; answers with the next status of ``statuses`` (then 200)."""

    received: list = []
    statuses: list = []

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        self.received.append({"path": self.path, "auth": self.headers.get("Authorization"),
                              "body": json.loads(self.rfile.read(length))})
        status = self.statuses.pop(0) if self.statuses else 200
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args):
        pass


@pytest.fixture
def cost_standin():
    CostStandin.received, CostStandin.statuses = [], []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), CostStandin)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server, f"http://127.0.0.1:{server.server_port}/services/hybridhub-cost/"
    server.shutdown()
    server.server_close()


def reporter_for(url, monkeypatch, **kw) -> TransferReporter:
    monkeypatch.setenv("JUPYTERHUB_USER", "alice")
    monkeypatch.setenv("JUPYTERHUB_API_TOKEN", "secret-server-token")
    return TransferReporter(Meter(), cost_url=url, **kw)


def test_a_report_carries_the_counts_and_the_servers_own_token(cost_standin, monkeypatch):
    _, url = cost_standin
    reporter = reporter_for(url, monkeypatch)
    assert reporter.send() is True and CostStandin.received == []  # nothing counted: nothing sent
    reporter.meter.add("upload_proxied", 10)
    reporter.meter.add("workspace_in", 5)
    assert reporter.send() is True
    (got,) = CostStandin.received
    assert got["path"] == "/services/hybridhub-cost/api/transfer"
    assert got["auth"] == "token secret-server-token"
    assert got["body"]["user"] == "alice" and got["body"]["bytes"] == {"upload_proxied": 10, "workspace_in": 5}
    assert reporter.meter.peek() == {}


def test_a_failed_report_keeps_its_counts_and_id_and_never_logs_the_token(cost_standin, monkeypatch, caplog):
    _, url = cost_standin
    reporter = reporter_for(url, monkeypatch)
    reporter.log = logging.getLogger("test-metering")
    CostStandin.statuses = [503]
    reporter.meter.add("download_proxied", 100)
    with caplog.at_level(logging.INFO, logger="test-metering"):
        assert reporter.send() is False
        reporter.meter.add("download_proxied", 1)  # came while the first report was pending
        assert reporter.send() is True  # the same report again (same id: the service counts it once)
        assert reporter.send() is True  # then what came since
    first, retry, later = CostStandin.received
    assert first["body"] == retry["body"] and first["body"]["bytes"] == {"download_proxied": 100}
    assert later["body"]["bytes"] == {"download_proxied": 1} and later["body"]["id"] != first["body"]["id"]
    assert "HTTP 503" in caplog.text and "secret-server-token" not in caplog.text and url not in caplog.text


def test_an_unreachable_cost_service_never_raises(monkeypatch):
    reporter = reporter_for("http://127.0.0.1:9/", monkeypatch, timeout_seconds=2)
    reporter.meter.add("workspace_out", 42)
    assert reporter.send() is False
    assert reporter.meter.peek() == {} and reporter._pending[1] == {"workspace_out": 42}


def test_reports_every_interval_and_the_rest_at_stop(cost_standin, monkeypatch):
    _, url = cost_standin
    reporter = reporter_for(url, monkeypatch, report_seconds=0.2)
    reporter.meter.add("upload_proxied", 1)
    reporter.start()
    try:
        deadline = time.monotonic() + 10
        while not CostStandin.received and time.monotonic() < deadline:
            time.sleep(0.05)
        assert CostStandin.received, "no report within 10 s at a 0.2 s interval"
        reporter.meter.add("upload_proxied", 2)
    finally:
        reporter.stop()
    total = sum(r["body"]["bytes"].get("upload_proxied", 0) for r in CostStandin.received)
    assert total == 3  # the last count went at stop


def test_without_a_cost_url_nothing_is_started(monkeypatch):
    monkeypatch.delenv("HYBRIDHUB_COST_SERVICE_URL", raising=False)
    monkeypatch.setenv("JUPYTERHUB_API_TOKEN", "t")
    monkeypatch.setenv("JUPYTERHUB_USER", "alice")
    reporter = TransferReporter(Meter())
    assert not reporter.enabled
    reporter.start()
    assert reporter._thread is None
    monkeypatch.setenv("HYBRIDHUB_COST_SERVICE_URL", "http://hub:10101/services/hybridhub-cost/")
    assert TransferReporter(Meter()).enabled


# -- the training template's reader: totals in the job log, one report at exit ----------------------------
def run_job(tmp_path, env: dict, uri: str, version: str) -> subprocess.CompletedProcess:
    """A training job's reads in a process of their own (the report goes at its exit)."""
    script = (f"import sys; sys.path.insert(0, {str(ML)!r}); import s3io\n"
              f"for _ in range(2): s3io.read_object({uri!r}, {version!r})\n")
    return subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120,
                          cwd=tmp_path)


@pytest.fixture
def training(object_store, tmp_path):
    from tests.storage.conftest import minio_for, new_bucket

    c = object_store.credentials
    admin = minio_for(object_store, c.admin_access_key, c.admin_secret_key)
    bucket = new_bucket(admin, versioned=True)
    version = admin.put_object(bucket, "train.csv", io.BytesIO(b"t" * 50_000), 50_000).version_id or ""
    env = {"PATH": os.environ["PATH"], "S3_ENDPOINT": object_store.endpoint, "AWS_REGION": "us-east-1",
           "AWS_ACCESS_KEY_ID": c.admin_access_key, "AWS_SECRET_ACCESS_KEY": c.admin_secret_key,
           "S3IO_CACHE_DIR": str(tmp_path / "cache"), "GITLAB_USER_LOGIN": "alice"}
    return env, f"s3://{bucket}/train.csv", version


def test_a_training_job_reports_its_reads_and_cache_hits_once_at_exit(training, cost_standin, tmp_path):
    env, uri, version = training
    _, url = cost_standin
    env = {**env, "HYBRIDHUB_TRANSFER_REPORT_URL": url + "api/transfer", "HYBRIDHUB_TRANSFER_REPORT_TOKEN": "ci-token-xyz"}
    job = run_job(tmp_path, env, uri, version)
    assert job.returncode == 0, job.stderr
    # the cache lines carry the totals so far; the job's end its totals and the report
    assert "50000 bytes downloaded, kept; this job: 50000 bytes read from the store, 0 from the cache" in job.stderr
    assert "50000 bytes not downloaded; this job: 50000 bytes read from the store, 50000 from the cache" in job.stderr
    assert job.stderr.strip().splitlines()[-2:] == [
        "s3io totals, this job: 50000 bytes read from the store, 50000 from the cache", "s3io transfer report sent for alice"]
    assert "ci-token-xyz" not in job.stderr
    (got,) = CostStandin.received
    assert got["auth"] == "token ci-token-xyz" and got["path"] == "/services/hybridhub-cost/api/transfer"
    assert got["body"]["user"] == "alice" and got["body"]["bytes"] == {"training_read": 50_000, "cache_saved": 50_000}


def test_a_refused_report_never_fails_the_job(training, cost_standin, tmp_path):
    env, uri, version = training
    _, url = cost_standin
    CostStandin.statuses = [403]
    env = {**env, "HYBRIDHUB_TRANSFER_REPORT_URL": url + "api/transfer", "HYBRIDHUB_TRANSFER_REPORT_TOKEN": "ci-token-xyz"}
    job = run_job(tmp_path, env, uri, version)
    assert job.returncode == 0, job.stderr
    assert "s3io transfer report to the cost service failed: HTTP 403 (the job goes on)" in job.stderr
    # unreachable, and not configured: the same, the totals still in the log
    job = run_job(tmp_path, {**env, "HYBRIDHUB_TRANSFER_REPORT_URL": "http://127.0.0.1:9/x"}, uri, version)
    assert job.returncode == 0 and "failed: URLError (the job goes on)" in job.stderr
    job = run_job(tmp_path, {k: v for k, v in env.items() if "REPORT" not in k}, uri, version)
    assert job.returncode == 0 and "this job: 0 bytes read from the store, 100000 from the cache" in job.stderr
    assert "transfer report" not in job.stderr and "s3io totals" not in job.stderr  # nothing but the cache lines


def test_a_server_process_sends_what_is_left_when_it_exits(cost_standin, tmp_path):
    """The interval far away: only the exit handler (registered by start) can send the count."""
    _, url = cost_standin
    script = ("from hybridhub.lab_ext.storage import metering\n"
              f"r = metering.TransferReporter(metering.METER, cost_url={url!r}, report_seconds=3600)\n"
              "r.start()\n"
              "metering.count_direct_upload(777)\n")
    env = {**os.environ, "JUPYTERHUB_USER": "alice", "JUPYTERHUB_API_TOKEN": "exit-token"}
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    (got,) = CostStandin.received
    assert got["body"]["bytes"] == {"direct_upload": 777} and got["auth"] == "token exit-token"


def test_a_jupyter_server_stopped_with_sigterm_reports_its_last_counts(object_store, bucket, cost_standin, tmp_path):
    """A real jupyter-server with the extension (the interval far away): a proxied upload, then
    SIGTERM as Kubernetes and the hub stop a server; the count arrives at its exit."""
    import signal

    import requests

    from hybridhub.hub_ext.demo.ports import free_ports

    _, url = cost_standin
    (port,) = free_ports(1)
    c = object_store.credentials
    env = {**os.environ, "JUPYTERHUB_USER": "alice", "JUPYTERHUB_API_TOKEN": "server-token",
           "HYBRIDHUB_COST_SERVICE_URL": url, "HYBRIDHUB_S3_ENDPOINT": object_store.endpoint,
           "HYBRIDHUB_S3_ACCESS_KEY": c.user_access_key, "HYBRIDHUB_S3_SECRET_KEY": c.user_secret_key}
    env.pop("HYBRIDHUB_S3_BROWSER_ENDPOINT", None)
    (tmp_path / "root").mkdir()
    server = subprocess.Popen([sys.executable, "-m", "jupyter_server", "--no-browser", "--allow-root",
                               f"--port={port}", "--ip=127.0.0.1", "--ServerApp.token=jp-token",
                               f"--ServerApp.root_dir={tmp_path / 'root'}", "--TransferReporter.report_seconds=3600"],
                              env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        base, auth = f"http://127.0.0.1:{port}/hybridhub/storage/", {"Authorization": "token jp-token"}
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(base + "config", headers=auth, timeout=5).status_code == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline and server.poll() is None, "the server did not start"
            time.sleep(0.3)
        put = requests.put(base + "upload", params={"bucket": bucket, "key": "last.bin"}, data=b"q" * 4321,
                           headers=auth, timeout=60)
        assert put.status_code in (200, 201), put.text
        assert CostStandin.received == []  # nothing sent before the end: the interval is an hour
        server.send_signal(signal.SIGTERM)
        log = server.communicate(timeout=60)[0]
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
    (got,) = CostStandin.received
    assert got["body"]["bytes"] == {"upload_proxied": 4321} and got["auth"] == "token server-token"
    assert "server-token" not in log
