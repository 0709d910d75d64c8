"""A jupyter-server extension of the culling tests: writes down what each request brought.

Loaded into the test hub's user servers (``tests/culling/hubproc.py``); for every request the
server finishes it appends one JSON line (method, URI, Authorization and Cookie headers) to
``$HYBRIDHUB_TEST_HEADER_LOG/<user>.jsonl``, so a test can check which credentials reached a
user server. Test code only: it writes raw header values.
"""

from __future__ import annotations

import json
import os
from pathlib import Path


def _jupyter_server_extension_points():
    return [{"module": "tests.culling.header_recorder"}]


def _load_jupyter_server_extension(serverapp):
    folder = os.environ.get("HYBRIDHUB_TEST_HEADER_LOG")
    if not folder:
        return
    path = Path(folder) / f"{os.environ.get('JUPYTERHUB_USER', 'unknown')}.jsonl"
    settings = serverapp.web_app.settings
    original = settings.get("log_function")

    def record(handler):
        request = handler.request
        line = {
            "method": request.method,
            "uri": request.uri,
            "status": handler.get_status(),
            "authorization": request.headers.get("Authorization", ""),
            "cookie": request.headers.get("Cookie", ""),
        }
        with path.open("a") as out:
            out.write(json.dumps(line) + "\n")
        if original:
            original(handler)

    settings["log_function"] = record
