"""The model-server image: MLServer with its scikit-learn runtime, run here as the image runs it
(its ENV settings, `mlserver start` on a model repository) with a model the template trains."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shlex
import signal
import subprocess
import sys
import time
import tomllib
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from hybridhub.hub_ext.demo.sample_data import sensor_csv
from hybridhub.lab_ext.pipelines.template import TEMPLATE_DIR

from .dockerfiles import parse
from .z2jh import REPO

pytestmark = [pytest.mark.deploy, pytest.mark.models]

IMAGE = REPO / "images" / "model-server"
SERVED_PINS = ("mlserver", "mlserver-sklearn", "scikit-learn")


def requirement_pins(path: Path) -> dict[str, str]:
    pins = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if "==" in line:
            name, version = line.split("==")
            pins[name.strip().lower()] = version.strip()
    return pins


def test_one_version_of_the_runtime_everywhere():
    """The image, the demo's local serving (pyproject's demo extra), the trainer and the template
    agree: a joblib model loads reliably only with the scikit-learn that saved it."""
    image = requirement_pins(IMAGE / "requirements.txt")
    demo = {}
    for spec in tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["optional-dependencies"]["demo"]:
        if "==" in spec:
            name, version = spec.split("==")
            demo[name.lower()] = version
    assert {k: image[k] for k in SERVED_PINS} == {k: demo[k] for k in SERVED_PINS}
    for other in (REPO / "images" / "trainer" / "requirements.txt", TEMPLATE_DIR / "requirements.txt"):
        pins = requirement_pins(other)
        assert pins["scikit-learn"] == image["scikit-learn"] and pins["joblib"] == image["joblib"], other


def test_no_hand_written_server_is_left():
    assert sorted(p.name for p in IMAGE.iterdir()) == ["Dockerfile", "requirements.txt"]
    assert not (TEMPLATE_DIR / "ml" / "serve.py").exists()


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get(url: str, body: dict | None = None) -> tuple[int, str]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()
    except OSError:
        return 0, ""


@pytest.fixture
def image_server(tmp_path):
    with start_image_server(tmp_path, {}) as server:
        yield server


@contextlib.contextmanager
def start_image_server(tmp_path, run_env: dict[str, str]):
    """`mlserver start /mnt/models` with the image's ENV (plus ``run_env``: what `podman run -e`
    adds), ports moved to free loopback ones."""
    dockerfile = parse(IMAGE / "Dockerfile")
    env_line = " ".join(dockerfile.all("ENV")).replace("\\\n", " ")
    settings = dict(item.split("=", 1) for item in shlex.split(env_line))
    command = json.loads(dockerfile.all("CMD")[-1])
    assert command[:2] == ["mlserver", "start"] and command[2] == "/mnt/models"
    health = json.loads(dockerfile.all("HEALTHCHECK")[-1].split("CMD", 1)[1])
    assert "http://127.0.0.1:8080/v2/health/ready" in health[-1] and settings["MLSERVER_HTTP_PORT"] == "8080"
    # the project image's layout: its model folder under /mnt/models (the template's Dockerfile)
    assert "COPY model/ /mnt/models/model/" in (TEMPLATE_DIR / "Dockerfile").read_text()
    models = tmp_path / "mnt-models"
    (tmp_path / "train.csv").write_bytes(sensor_csv(2000, seed=1))
    trained = subprocess.run([sys.executable, str(TEMPLATE_DIR / "ml" / "train.py"), "--data", str(tmp_path / "train.csv"),
                              "--out", str(models / "model")], env={**os.environ, "MODEL_VERSION": "2.3.4"},
                             cwd=tmp_path, capture_output=True, text=True, timeout=120)  # fmt: skip (its lineage.json there)
    assert trained.returncode == 0, trained.stderr
    ports = {"MLSERVER_HTTP_PORT": free_port(), "MLSERVER_GRPC_PORT": free_port(), "MLSERVER_METRICS_PORT": free_port()}
    env = {**os.environ, **settings, **{k: str(v) for k, v in ports.items()}, "MLSERVER_HOST": "127.0.0.1", **run_env}
    mlserver = Path(sys.executable).with_name("mlserver")
    log = open(tmp_path / "mlserver.log", "wb")
    proc = subprocess.Popen([str(mlserver), "start", str(models)], cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{ports['MLSERVER_HTTP_PORT']}"
    try:
        deadline = time.monotonic() + 60
        while get(base + "/v2/health/ready")[0] != 200:
            assert proc.poll() is None and time.monotonic() < deadline, (tmp_path / "mlserver.log").read_text()[-2000:]
            time.sleep(0.3)
        yield proc, base, f"http://127.0.0.1:{ports['MLSERVER_METRICS_PORT']}/metrics"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        log.close()


def test_serves_the_trained_model_with_health_and_metrics(image_server):
    proc, base, metrics_url = image_server
    assert get(base + "/v2/models/sensor-failure/versions/2.3.4/ready")[0] == 200
    assert get(base + "/v2/models/sensor-failure/versions/9.9.9/ready")[0] == 404
    body = {"inputs": [{"name": "sensors", "shape": [2, 3], "datatype": "FP64", "data": [48, 4.1, 12, 40, 1.8, 12]}],
            "outputs": [{"name": "predict"}, {"name": "predict_proba"}]}  # fmt: skip
    status, text = get(base + "/v2/models/sensor-failure/infer", body)
    assert status == 200, text
    answer = json.loads(text)
    assert answer["model_name"] == "sensor-failure" and answer["model_version"] == "2.3.4"
    outputs = {o["name"]: o for o in answer["outputs"]}
    assert outputs["predict"]["data"] == [1, 0]
    failing, fine = outputs["predict_proba"]["data"][1], outputs["predict_proba"]["data"][3]
    assert failing > 0.9 and fine < 0.1
    status, text = get(base + "/v2/models/sensor-failure/infer", {"inputs": [{"name": "x", "shape": [1, 2],
                                                                                "datatype": "FP64", "data": [1, 2]}]})
    # the template's runtime (ml/serving_runtime.py) checks the request against model-settings.json's
    # input before scikit-learn sees it and raises MLServer's InferenceError: HTTP 400 {"error": …}
    # (mlserver/errors.py, mlserver/rest/errors.py); tests/models/test_model_input.py tests it in depth
    assert status == 400 and json.loads(text)["error"].startswith("expected input 'sensors' of shape [n, 3]"), text
    assert get(base + "/v2/models/nope/infer", body)[0] == 404
    status, metrics = get(metrics_url)
    assert status == 200
    assert re.search(r'^model_infer_request_success_total\{model="sensor-failure",[^}]*\} 1\.0$', metrics, re.M), metrics


def test_stops_cleanly_on_sigterm(image_server):
    proc, base, _ = image_server
    proc.send_signal(signal.SIGTERM)  # what `docker stop` sends
    assert proc.wait(timeout=30) == 0
    assert get(base + "/v2/health/ready")[0] == 0


def test_the_image_logs_predictions_when_run_with_a_log_uri(tmp_path, object_store):
    """ci/deploy.sh's `-e PREDICTION_LOG_URI -e S3_ENDPOINT -e AWS_*`: with the image's own settings
    (MLSERVER_PARALLEL_WORKERS=0, whose /metrics is prometheus_client's default registry) the
    log's counters are on /metrics and the line is in the store (tests/models/test_prediction_log.py
    tests the log in depth)."""
    from minio import Minio

    deploy = (TEMPLATE_DIR / "ci" / "deploy.sh").read_text()
    passed = re.findall(r"-e ([A-Z0-9_]+)", deploy)
    assert {"PREDICTION_LOG_URI", "S3_ENDPOINT", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION"} <= set(passed)
    assert not re.search(r"-e [A-Z0-9_]+=", deploy)  # by name only: no value on the command line
    creds = object_store.credentials
    admin = Minio(object_store.endpoint.removeprefix("http://"), creds.admin_access_key, creds.admin_secret_key,
                  secure=False)  # fmt: skip
    bucket = f"image-{os.urandom(6).hex()}"
    admin.make_bucket(bucket)
    run_env = {"PREDICTION_LOG_URI": f"s3://{bucket}/predictions", "S3_ENDPOINT": object_store.endpoint,
               "AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": creds.user_access_key,
               "AWS_SECRET_ACCESS_KEY": creds.user_secret_key, "PREDICTION_LOG_SPOOL_DIR": str(tmp_path / "spool")}  # fmt: skip
    with start_image_server(tmp_path, run_env) as (proc, base, metrics_url):
        body = {"inputs": [{"name": "sensors", "shape": [1, 3], "datatype": "FP64", "data": [48, 4.1, 12]}]}
        status, text = get(base + "/v2/models/sensor-failure/infer", body)
        assert status == 200, text
        status, metrics = get(metrics_url)
        assert re.search(r'^prediction_log_records_total\{model_name="sensor-failure",model_version="2.3.4"\} 1\.0$',
                         metrics, re.M), metrics  # fmt: skip
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    day = time.strftime("%Y-%m-%d", time.gmtime())
    response = admin.get_object(bucket, f"predictions/sensor-failure/2.3.4/{day}.jsonl")
    (line,) = [json.loads(x) for x in response.read().decode().splitlines()]
    response.close()
    assert line["inputs"] == [[48.0, 4.1, 12.0]] and line["outputs"]["predict"] == [1]
