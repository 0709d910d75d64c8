"""Model server: a small HTTP API around the trained model (the deploy stage runs it on-prem).

    GET  /healthz   200 {"status": "ok", "model": name, "version": v} or 503 when no model loaded
    GET  /metrics   Prometheus text: requests, errors, latency histogram, predictions, model info
    POST /predict   {"instances": [[...], {...}]} -> {"predictions": [...], "model": ..., "version": ...}

    python app.py --host 0.0.0.0 --port 8080 --model /models/model.json
    (or MODEL_PATH, HOST, PORT in the environment). Standard library only.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import threading
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from model import InputError, LinearModel, ModelError, load_model

MAX_BODY_BYTES = 1 << 20
BUCKETS = (0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0)


class Metrics:
    """Counters and a latency histogram in Prometheus' text exposition format."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests: dict[tuple[str, str, int], int] = {}
        self.predictions = 0
        self.buckets = [0] * len(BUCKETS)
        self.latency_sum = 0.0
        self.latency_count = 0

    def observe(self, method: str, path: str, code: int, seconds: float, predictions: int = 0) -> None:
        with self._lock:
            key = (method, path, code)
            self.requests[key] = self.requests.get(key, 0) + 1
            self.predictions += predictions
            if path == "/predict":
                self.latency_sum += seconds
                self.latency_count += 1
                for i, bound in enumerate(BUCKETS):
                    if seconds <= bound:
                        self.buckets[i] += 1

    def render(self, model: LinearModel | None) -> str:
        with self._lock:
            lines = ["# HELP model_server_requests_total HTTP requests by method, path and status code.",
                     "# TYPE model_server_requests_total counter"]
            for (method, path, code), n in sorted(self.requests.items()):
                lines.append(f'model_server_requests_total{{method="{method}",path="{path}",code="{code}"}} {n}')
            lines += ["# HELP model_server_predictions_total Instances predicted.",
                      "# TYPE model_server_predictions_total counter",
                      f"model_server_predictions_total {self.predictions}",
                      "# HELP model_server_predict_duration_seconds Time to answer /predict.",
                      "# TYPE model_server_predict_duration_seconds histogram"]
            for bound, n in zip(BUCKETS, self.buckets):
                lines.append(f'model_server_predict_duration_seconds_bucket{{le="{bound}"}} {n}')
            lines += [f'model_server_predict_duration_seconds_bucket{{le="+Inf"}} {self.latency_count}',
                      f"model_server_predict_duration_seconds_sum {self.latency_sum:.6f}",
                      f"model_server_predict_duration_seconds_count {self.latency_count}"]
        lines += ["# HELP model_server_model_loaded 1 when a model is loaded.",
                  "# TYPE model_server_model_loaded gauge",
                  f"model_server_model_loaded {1 if model else 0}"]
        if model:
            lines += ["# HELP model_server_model_info The loaded model.", "# TYPE model_server_model_info gauge",
                      f'model_server_model_info{{name="{_label(model.name)}",version="{_label(model.version)}"}} 1']
        return "\n".join(lines) + "\n"


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


class Handler(BaseHTTPRequestHandler):
    server: ModelServer
    server_version = "hybridhub-model-server"
    sys_version = ""

    def log_message(self, format, *args):  # one line per request, no bodies
        if not self.server.quiet:
            super().log_message(format, *args)

    def _send(self, code: int, body: bytes, content_type: str, predictions: int = 0) -> None:
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        path = self.path.split("?", 1)[0]
        known = path if path in ("/healthz", "/metrics", "/predict") else "other"
        self.server.metrics.observe(self.command, known, code, time.perf_counter() - self._started, predictions)

    def _json(self, code: int, payload: dict, predictions: int = 0) -> None:
        self._send(code, json.dumps(payload).encode(), "application/json", predictions)

    def do_GET(self):
        self._started = time.perf_counter()
        path = self.path.split("?", 1)[0]
        model = self.server.model
        if path == "/healthz":
            if model is None:
                self._json(503, {"status": "unavailable", "reason": self.server.load_error or "no model loaded"})
            else:
                self._json(200, {"status": "ok", "model": model.name, "version": model.version})
        elif path == "/metrics":
            self._send(200, self.server.metrics.render(model).encode(), "text/plain; version=0.0.4; charset=utf-8")
        elif path == "/predict":
            self._json(405, {"error": "use POST"})
        else:
            self._json(404, {"error": "not found"})

    def do_POST(self):
        self._started = time.perf_counter()
        if self.path.split("?", 1)[0] != "/predict":
            self._json(404, {"error": "not found"})
            return
        model = self.server.model
        if model is None:
            self._json(503, {"error": "no model loaded"})
            return
        try:
            length = int(self.headers.get("Content-Length", ""))
        except ValueError:
            self._json(411, {"error": "Content-Length required"})
            return
        if length > MAX_BODY_BYTES:
            self._json(413, {"error": f"body over {MAX_BODY_BYTES} bytes"})
            return
        try:
            body = json.loads(self.rfile.read(length) or b"null")
            if not isinstance(body, dict) or "instances" not in body:
                raise InputError("body must be a JSON object with 'instances'")
            predictions = model.predict(body["instances"])
        except (json.JSONDecodeError, UnicodeDecodeError):
            self._json(400, {"error": "body is not valid JSON"})
        except InputError as e:
            self._json(400, {"error": str(e)})
        else:
            self._json(200, {"predictions": predictions, "model": model.name, "version": model.version},
                       predictions=len(predictions))


class ModelServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], model_path: str, quiet: bool = False) -> None:
        super().__init__(address, Handler)
        self.metrics = Metrics()
        self.quiet = quiet
        self.model: LinearModel | None = None
        self.load_error = ""
        try:
            self.model = load_model(model_path)
        except ModelError as e:  # stay up and report it on /healthz
            self.load_error = str(e)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default=os.environ.get("HOST", "0.0.0.0"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8080")))
    parser.add_argument("--model", default=os.environ.get("MODEL_PATH", "/models/model.json"))
    args = parser.parse_args(argv)
    server = ModelServer((args.host, args.port), args.model)
    if server.load_error:
        print(f"model not loaded: {server.load_error}", flush=True)
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    print(f"serving on http://{args.host}:{server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
