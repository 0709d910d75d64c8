"""The model server the image runs: POST /predict with the sensor readings, GET /healthz."""

from __future__ import annotations

import json
import os
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from data import FEATURES  # noqa: E402
from evaluate import predict  # noqa: E402

MODEL = json.loads(Path(os.environ.get("MODEL_PATH", "model/model.json")).read_text(encoding="utf-8"))


class Handler(BaseHTTPRequestHandler):
    def _reply(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:  # noqa: N802
        self._reply(200, {"status": "ok"} if self.path == "/healthz" else {"features": FEATURES})

    def do_POST(self) -> None:  # noqa: N802
        try:
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
            row = [float(body[name]) for name in FEATURES]
        except (ValueError, KeyError, TypeError):
            self._reply(400, {"message": f"send a JSON object with {', '.join(FEATURES)}"})
            return
        score = predict(MODEL, [row])[0]
        self._reply(200, {"failure_probability": round(score, 6), "failure": score >= 0.5})


if __name__ == "__main__":
    ThreadingHTTPServer(("0.0.0.0", int(os.environ.get("PORT", "8080"))), Handler).serve_forever()
