"""The model-serving API, in-process on 127.0.0.1 and as the image runs it (python app.py)."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import urllib.error
import urllib.request

import pytest

from .z2jh import REPO

pytestmark = pytest.mark.deploy

SERVER_DIR = REPO / "images" / "model-server"
CLASSIFIER = {
    "format": "hybridhub-linear/1", "name": "sensor-anomaly", "version": "7", "task": "classification",
    "features": ["temperature", "vibration"], "classes": ["ok", "anomaly"],
    "weights": [[0.0, 0.0], [0.1, 2.0]], "bias": [0.0, -3.0],
}
REGRESSOR = {"format": "hybridhub-linear/1", "name": "load", "version": "1", "task": "regression",
             "features": ["a", "b"], "weights": [2.0, -1.0], "bias": 0.5}


@pytest.fixture
def server_module():
    sys.path.insert(0, str(SERVER_DIR))
    try:
        import app

        yield app
    finally:
        sys.path.remove(str(SERVER_DIR))
        sys.modules.pop("app", None)
        sys.modules.pop("model", None)


@pytest.fixture
def serve(server_module, tmp_path):
    servers = []

    def start(model: dict | str) -> str:
        path = tmp_path / "model.json"
        path.write_text(model if isinstance(model, str) else json.dumps(model))
        server = server_module.ModelServer(("127.0.0.1", 0), str(path), quiet=True)
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def call(url: str, body=None, raw: bytes | None = None):
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def test_health_predict_and_metrics(serve):
    base = serve(CLASSIFIER)
    status, body = call(base + "/healthz")
    assert status == 200 and json.loads(body) == {"status": "ok", "model": "sensor-anomaly", "version": "7"}
    status, body = call(base + "/predict", {"instances": [[20.0, 0.1], {"temperature": 30.0, "vibration": 3.0}]})
    assert status == 200
    ok, anomaly = json.loads(body)["predictions"]
    assert ok["label"] == "ok" and anomaly["label"] == "anomaly" and 0.5 < anomaly["probability"] <= 1
    status, metrics = call(base + "/metrics")
    assert status == 200
    assert 'model_server_requests_total{method="POST",path="/predict",code="200"} 1' in metrics
    assert "model_server_predictions_total 2" in metrics
    assert "model_server_predict_duration_seconds_count 1" in metrics
    assert 'model_server_model_info{name="sensor-anomaly",version="7"} 1' in metrics
    assert "model_server_model_loaded 1" in metrics


def test_regression(serve):
    status, body = call(serve(REGRESSOR) + "/predict", {"instances": [[1, 1], [0, 2]]})
    assert status == 200 and json.loads(body)["predictions"] == [1.5, -1.5]


@pytest.mark.parametrize("payload, message", [
    ({"instances": [[1]]}, "needs 2 values"),
    ({"instances": [{"a": 1}]}, "missing feature"),
    ({"instances": [["x", 1]]}, "finite numbers"),
    ({"instances": []}, "non-empty"),
    ({"rows": []}, "'instances'"),
])
def test_bad_requests_are_400_with_a_reason(serve, payload, message):
    status, body = call(serve(REGRESSOR) + "/predict", payload)
    assert status == 400 and message in json.loads(body)["error"]


def test_invalid_json_and_unknown_paths(serve):
    base = serve(REGRESSOR)
    assert call(base + "/predict", raw=b"{not json")[0] == 400
    assert call(base + "/nope")[0] == 404
    assert call(base + "/predict")[0] == 405
    status, metrics = call(base + "/metrics")
    assert 'path="other",code="404"' in metrics


def test_unloadable_model_reports_unhealthy(serve):
    base = serve('{"format": "pickle"}')
    status, body = call(base + "/healthz")
    assert status == 503 and "hybridhub-linear/1" in json.loads(body)["reason"]
    assert call(base + "/predict", {"instances": [[1, 2]]})[0] == 503
    assert "model_server_model_loaded 0" in call(base + "/metrics")[1]


def test_runs_as_the_image_runs_it(tmp_path):
    model = tmp_path / "model.json"
    model.write_text(json.dumps(REGRESSOR))
    proc = subprocess.Popen([sys.executable, "app.py", "--host", "127.0.0.1", "--port", "0", "--model", str(model)],
                            cwd=SERVER_DIR, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        line = proc.stdout.readline()
        assert line.startswith("serving on http://127.0.0.1:"), line
        base = line.split()[-1]
        assert call(base + "/healthz")[0] == 200
        proc.terminate()  # SIGTERM: the server shuts down cleanly
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
