"""The model server's request log (issue 19, design §4): the template's model folder served by the
real MLServer 1.7.1 with its runtime (ml/serving_runtime.py), the log read back from a real
SeaweedFS store (its own, so the test can stop and start it).

One JSON line per prediction in ``<PREDICTION_LOG_URI>/<model>/<version>/<UTC day>.jsonl``; a store
that is down never fails a prediction (counted on /metrics, logged once, retried); a restart the
same day keeps the earlier lines; a day boundary gives two objects; two writers are merged.
"""

from __future__ import annotations

import asyncio
import datetime
import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest
from minio import Minio

from hybridhub.hub_ext.demo.objectstore import EmbeddedObjectStore, StorePorts
from hybridhub.hub_ext.demo.ports import free_ports
from hybridhub.hub_ext.demo.sample_data import sensor_csv
from hybridhub.lab_ext.pipelines.template import TEMPLATE_DIR

from ..conftest import STORE_MAX_VOLUMES, _random_credentials

pytestmark = [pytest.mark.models]

NAME, VERSION = "sensor-failure", "1.2.3"
ROWS = [[48.0, 4.1, 12.0], [40.0, 1.8, 12.0]]  # hot and shaking; normal


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """A store of this module's own: the outage test stops and starts it."""
    store = EmbeddedObjectStore(tmp_path_factory.mktemp("log-store"), StorePorts.free(), _random_credentials(),
                                max_volumes=STORE_MAX_VOLUMES)  # fmt: skip
    store.start()
    try:
        yield store
    finally:
        store.stop()


def admin(store) -> Minio:
    c = store.credentials
    return Minio(store.endpoint.removeprefix("http://"), c.admin_access_key, c.admin_secret_key, secure=False)


@pytest.fixture
def bucket(store) -> str:
    name = f"log-{uuid.uuid4().hex[:12]}"
    admin(store).make_bucket(name)
    return name


@pytest.fixture(scope="module")
def model_folder(tmp_path_factory) -> Path:
    """The model folder the template's train job writes (model.joblib, settings, the runtime files)."""
    base = tmp_path_factory.mktemp("trained")
    (base / "train.csv").write_bytes(sensor_csv(2000, seed=1))
    trained = subprocess.run([sys.executable, str(TEMPLATE_DIR / "ml" / "train.py"), "--data", str(base / "train.csv"),
                              "--out", str(base / "model")], env={**os.environ, "MODEL_VERSION": VERSION},
                             cwd=base, capture_output=True, text=True, timeout=120)  # fmt: skip (its lineage.json there)
    assert trained.returncode == 0, trained.stderr
    settings = json.loads((base / "model" / "model-settings.json").read_text())
    assert settings["implementation"] == "serving_runtime.PredictionLoggingModel"
    return base / "model"


def s3_env(store) -> dict[str, str]:
    """What the jobs and the model server get (pipelines/service.py s3_job_env): the user's keys."""
    c = store.credentials
    return {"S3_ENDPOINT": store.endpoint, "AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": c.user_access_key,
            "AWS_SECRET_ACCESS_KEY": c.user_secret_key}  # fmt: skip


class Server:
    """``mlserver start <model folder>`` as the image and local serving start it (parallel_workers=0)."""

    def __init__(self, folder: Path, env: dict[str, str], log_path: Path):
        http, grpc, metrics = free_ports(3)
        self.url, self.metrics_url = f"http://127.0.0.1:{http}", f"http://127.0.0.1:{metrics}/metrics"
        self.grpc_address = f"127.0.0.1:{grpc}"
        base = {k: os.environ[k] for k in ("PATH", "HOME", "LANG") if k in os.environ}
        env = {**base, "MLSERVER_HOST": "127.0.0.1", "MLSERVER_HTTP_PORT": str(http), "MLSERVER_GRPC_PORT": str(grpc),
               "MLSERVER_METRICS_PORT": str(metrics), "MLSERVER_PARALLEL_WORKERS": "0", "MLSERVER_DEBUG": "false", **env}
        self.log_path = log_path
        with open(log_path, "ab") as log:
            self.proc = subprocess.Popen([str(Path(sys.executable).with_name("mlserver")), "start", str(folder)],
                                         cwd=folder, env=env, stdout=log, stderr=subprocess.STDOUT)  # fmt: skip
        deadline = time.monotonic() + 60
        while status(f"{self.url}/v2/models/{NAME}/versions/{VERSION}/ready") != 200:
            assert self.proc.poll() is None and time.monotonic() < deadline, log_path.read_text()[-3000:]
            time.sleep(0.2)

    def infer(self, rows: list[list[float]], request_id: str, outputs: tuple[str, ...] = ("predict",)) -> dict:
        body = {"id": request_id, "inputs": [{"name": "sensors", "shape": [len(rows), 3], "datatype": "FP64",
                                              "data": [v for r in rows for v in r]}],
                "outputs": [{"name": o} for o in outputs]}  # fmt: skip
        request = urllib.request.Request(f"{self.url}/v2/models/{NAME}/infer", data=json.dumps(body).encode(),
                                         headers={"Content-Type": "application/json"})  # fmt: skip
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 200
            return json.loads(response.read())

    def metric(self, name: str) -> float:
        with urllib.request.urlopen(self.metrics_url, timeout=5) as response:
            text = response.read().decode()
        found = re.search(rf'^{name}\{{model_name="{NAME}",model_version="{VERSION}"\}} ([0-9.e+]+)$', text, re.M)
        return float(found.group(1)) if found else 0.0

    def stop(self) -> int:
        """SIGTERM, what `docker stop` and local serving send."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()


@pytest.fixture
def servers():
    started: list[Server] = []
    yield started
    for server in started:
        server.stop()


def status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return 0


def read_log(store, bucket: str, day: str) -> list[dict]:
    try:
        response = admin(store).get_object(bucket, f"predictions/{NAME}/{VERSION}/{day}.jsonl")
    except Exception as exc:  # noqa: BLE001 - minio's S3Error NoSuchKey: not there (yet)
        if "NoSuchKey" in str(exc):
            return []
        raise
    try:
        return [json.loads(line) for line in response.read().decode().splitlines()]
    finally:
        response.close()


def wait_for_lines(store, bucket: str, day: str, count: int, timeout: float = 30) -> list[dict]:
    deadline = time.monotonic() + timeout
    while len(lines := read_log(store, bucket, day)) < count:
        assert time.monotonic() < deadline, f"{len(lines)} of {count} lines in the store"
        time.sleep(0.2)
    return lines


def today() -> str:
    return datetime.datetime.now(datetime.timezone.utc).date().isoformat()


def log_env(store, bucket: str, spool: Path, interval: str = "0.3") -> dict[str, str]:
    return {**s3_env(store), "PREDICTION_LOG_URI": f"s3://{bucket}/predictions", "PREDICTION_LOG_SPOOL_DIR": str(spool),
            "PREDICTION_LOG_INTERVAL": interval}  # fmt: skip


def test_each_prediction_is_one_line_and_a_restart_keeps_the_days_lines(store, bucket, model_folder, tmp_path, servers):
    servers.append(first := Server(model_folder, log_env(store, bucket, tmp_path / "spool-1"), tmp_path / "1.log"))
    answers = [first.infer(ROWS, "req-a"), first.infer(ROWS[:1], "req-b", ("predict_proba",)),
               first.infer(ROWS[1:], "req-c", ("predict", "predict_proba"))]  # fmt: skip
    assert [a["model_version"] for a in answers] == [VERSION] * 3
    day = today()
    lines = wait_for_lines(store, bucket, day, 3)
    assert [line["request_id"] for line in lines] == ["req-a", "req-b", "req-c"]
    for line in lines:
        assert (line["model"], line["version"]) == (NAME, VERSION) and line["ts"].startswith(day)
        assert line["ts"].endswith("Z") and len(line["id"]) == 32
        assert set(line["outputs"]) == {"predict", "predict_proba"}  # both, whatever was asked
    assert lines[0]["inputs"] == ROWS and lines[0]["outputs"]["predict"] == answers[0]["outputs"][0]["data"] == [1, 0]
    assert lines[1]["inputs"] == ROWS[:1] and lines[1]["outputs"]["predict"] == [1]
    proba = answers[1]["outputs"][0]["data"]
    assert lines[1]["outputs"]["predict_proba"] == [proba] and proba[1] > 0.9
    assert lines[2]["outputs"]["predict"] == [0] and lines[2]["outputs"]["predict_proba"][0][1] < 0.1
    assert first.metric("prediction_log_records_total") == 3 and first.metric("prediction_log_failures_total") == 0
    assert first.stop() == 0

    # the same version starts again (a new container: an empty spool) and uploads only at its
    # shutdown (interval 60 s): the day's object keeps the first server's lines
    servers.append(second := Server(model_folder, log_env(store, bucket, tmp_path / "spool-2", "60"), tmp_path / "2.log"))
    second.infer(ROWS, "req-d")
    assert len(read_log(store, bucket, day)) == 3  # not uploaded yet
    assert second.stop() == 0
    lines = read_log(store, bucket, day)
    assert [line["request_id"] for line in lines] == ["req-a", "req-b", "req-c", "req-d"]
    assert len({line["id"] for line in lines}) == 4


def test_lines_of_a_killed_server_are_uploaded_by_the_next_one_on_its_spool(store, bucket, model_folder, tmp_path,
                                                                              servers):  # fmt: skip
    """A process that dies (SIGKILL: no shutdown upload) leaves its lines in the spool; the server
    started again on it (local serving revives it on the same release folder) uploads them."""
    spool = tmp_path / "spool"
    servers.append(first := Server(model_folder, log_env(store, bucket, spool, "60"), tmp_path / "1.log"))
    first.infer(ROWS, "before-kill")
    day = today()
    spool_file = spool / NAME / VERSION / f"{day}.jsonl"
    deadline = time.monotonic() + 10
    while not (spool_file.is_file() and spool_file.read_bytes().endswith(b"\n")):  # spooled within ms
        assert time.monotonic() < deadline
        time.sleep(0.05)
    first.proc.kill()
    first.proc.wait()
    with open(spool_file, "ab") as cut:  # and it died in the middle of the next line
        cut.write(b'{"id": "0123456789abcdef0123456789abcdef", "ts": "20')
    assert read_log(store, bucket, day) == []
    servers.append(Server(model_folder, log_env(store, bucket, spool), tmp_path / "2.log"))
    (line,) = wait_for_lines(store, bucket, day, 1)
    assert line["request_id"] == "before-kill"
    time.sleep(1)  # a few more upload rounds: the cut line never shows up
    assert len(read_log(store, bucket, day)) == 1 and spool_file.read_bytes().endswith(b"\n")


def test_a_store_that_is_down_never_fails_a_prediction(store, bucket, model_folder, tmp_path, servers):
    servers.append(server := Server(model_folder, log_env(store, bucket, tmp_path / "spool"), tmp_path / "s.log"))
    server.infer(ROWS, "before")
    wait_for_lines(store, bucket, today(), 1)
    store.stop()
    try:
        for i in range(5):
            started = time.monotonic()
            assert server.infer(ROWS, f"down-{i}")["outputs"][0]["data"] == [1, 0]
            assert time.monotonic() - started < 2  # the answer does not wait for the store
        deadline = time.monotonic() + 20
        while server.metric("prediction_log_failures_total") < 2:  # retried, each attempt counted
            assert time.monotonic() < deadline, server.log_path.read_text()[-3000:]
            time.sleep(0.2)
        assert server.metric("prediction_log_records_total") == 6
    finally:
        store.start()
    lines = wait_for_lines(store, bucket, today(), 6)  # the retries catch up once it is back
    assert [line["request_id"] for line in lines] == ["before"] + [f"down-{i}" for i in range(5)]
    deadline = time.monotonic() + 20  # the line is written once the upload's answer is in: it may follow the object
    while "prediction log: working again" not in server.log_path.read_text():
        assert time.monotonic() < deadline, server.log_path.read_text()[-3000:]
        time.sleep(0.2)
    log = server.log_path.read_text()
    assert log.count("prediction log: GET s3://") == 1, log  # the first failure, once, with its reason
    assert "prediction log: working again" in log
    for secret in (store.credentials.user_secret_key, store.credentials.user_access_key):
        assert secret not in log


def test_without_a_log_uri_nothing_is_logged(store, model_folder, tmp_path, servers):
    env = {**s3_env(store), "PREDICTION_LOG_SPOOL_DIR": str(tmp_path / "spool")}
    servers.append(server := Server(model_folder, env, tmp_path / "s.log"))
    assert server.infer(ROWS, "x")["outputs"][0]["data"] == [1, 0]
    assert server.metric("prediction_log_records_total") == 0 and not (tmp_path / "spool").exists()
    assert "PREDICTION_LOG_URI is not set" in server.log_path.read_text()


def test_a_bad_log_uri_keeps_the_model_from_loading(model_folder, tmp_path):
    """A misconfigured log shows at deploy time (not ready: the old server keeps serving)."""
    with pytest.raises(AssertionError, match="PREDICTION_LOG_URI must be s3://bucket/prefix"):
        Server(model_folder, {"PREDICTION_LOG_URI": "https://user:pw@example.com/x"}, tmp_path / "s.log")


@pytest.fixture
def runtime(model_folder, monkeypatch):
    """The runtime imported in this process the way MLServer imports it (ModelSettings.implementation
    with the model folder on sys.path, mlserver/settings.py), so its clock can be patched."""
    from mlserver.settings import ModelSettings

    settings = ModelSettings.parse_file(str(model_folder / "model-settings.json"))
    implementation = settings.implementation
    yield implementation, settings, sys.modules["prediction_log"]
    for name in ("serving_runtime", "prediction_log", "s3io"):
        sys.modules.pop(name, None)


def test_a_day_boundary_gives_two_objects(store, bucket, runtime, tmp_path, monkeypatch):
    from mlserver.types import InferenceRequest

    implementation, settings, prediction_log = runtime
    for key, value in log_env(store, bucket, tmp_path / "spool", "60").items():
        monkeypatch.setenv(key, value)
    clock = [datetime.datetime(2026, 3, 31, 23, 59, 59, 900000, tzinfo=datetime.timezone.utc)]
    monkeypatch.setattr(prediction_log, "now", lambda: clock[0])

    async def two_predictions():
        model = implementation(settings)
        await model.load()
        request = {"inputs": [{"name": "sensors", "shape": [1, 3], "datatype": "FP64", "data": ROWS[0]}]}
        await model.predict(InferenceRequest.model_validate({**request, "id": "late"}))
        clock[0] += datetime.timedelta(seconds=0.2)  # 00:00:00.100 the next day
        await model.predict(InferenceRequest.model_validate({**request, "id": "early"}))
        await model.unload()  # uploads what is new
        return model._prediction_log

    log = asyncio.run(two_predictions())
    assert [line["request_id"] for line in read_log(store, bucket, "2026-03-31")] == ["late"]
    assert [line["request_id"] for line in read_log(store, bucket, "2026-04-01")] == ["early"]
    assert read_log(store, bucket, "2026-04-01")[0]["ts"] == "2026-04-01T00:00:00.100Z"
    assert log.failures == 0
    # the past day is complete in the store: its spool is gone, the current day's is kept
    assert sorted(p.name for p in log.spool.iterdir()) == ["2026-04-01.jsonl"]


def test_two_writers_of_one_version_are_merged_not_overwritten(store, bucket, runtime, tmp_path, monkeypatch):
    """Two replicas (or the old server draining during a swap) write the same day's object."""
    _, _, prediction_log = runtime
    for key, value in s3_env(store).items():
        monkeypatch.setenv(key, value)
    uri = f"s3://{bucket}/predictions"
    one = prediction_log.PredictionLog(uri, NAME, VERSION, tmp_path / "a", interval=60)
    two = prediction_log.PredictionLog(uri, NAME, VERSION, tmp_path / "b", interval=60)
    try:
        one.record(ROWS[:1], {"predict": [1]}, "one-1")
        two.record(ROWS[1:], {"predict": [0]}, "two-1")
        assert one.flush() and two.flush()  # two uploads of the whole object: the second adds, keeps
        one.record(ROWS[:1], {"predict": [1]}, "one-2")
        assert one.flush() and two.flush()
    finally:
        one.close()
        two.close()
    lines = read_log(store, bucket, today())
    assert sorted(line["request_id"] for line in lines) == ["one-1", "one-2", "two-1"]
    # an object a concurrent writer replaced with an older copy (a lost race) gets the lines back
    (theirs,) = [line for line in lines if line["request_id"] == "two-1"]
    admin(store).put_object(bucket, f"predictions/{NAME}/{VERSION}/{today()}.jsonl", *_body(json.dumps(theirs) + "\n"))
    again = prediction_log.PredictionLog(uri, NAME, VERSION, tmp_path / "a", interval=60)
    try:
        assert again.flush(verify=True)
    finally:
        again.close()
    assert [line["request_id"] for line in read_log(store, bucket, today())] == ["two-1", "one-1", "one-2"]


def _body(text: str):
    import io

    data = text.encode()
    return io.BytesIO(data), len(data)


def test_the_runtime_files_travel_in_the_model_folder(model_folder):
    for name in ("serving_runtime.py", "prediction_log.py", "s3io.py"):
        assert (model_folder / name).read_bytes() == (TEMPLATE_DIR / "ml" / name).read_bytes()
