"""Demo traffic for the served model: predictions from the rows of a data set, optionally shifted,
and the inspectors' verdicts for them (the labels the monitoring job joins on request_id).

    python ml/traffic.py [--url http://127.0.0.1:8080] --data s3://datasets/sensors/test.csv \\
        --rows 2000 [--shift temperature_c=+6] [--scale vibration_mm_s=1.5] \\
        [--labels s3://monitoring/labels/sensor-failure.csv]

Without --url, the model the local backend serves for this workspace (the stable front port in
``.hybridhub/pipelines/serving/front.json`` of the current folder or one above it). In a hybridhub
server's terminal the object store's address and the user's keys come from the server's
``HYBRIDHUB_S3_*`` variables when ``S3_ENDPOINT`` / ``AWS_*`` are not set.

A shift stands for a sensor that drifted out of calibration: the reading changes, the machine does
not, so each row keeps its own label (the verdict). Requests go one row each to MLServer's V2
inference route with a fresh request id; a refused or failed request is counted, never retried.
Labels are appended to the labels object (read, extended, written whole: S3 has no append).
Standard library and the project's s3io only.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import math
import os
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import s3io  # noqa: E402
from data import FEATURES, TARGET  # noqa: E402

TIMEOUT = 10


def changes(specs: list[str], kind: str) -> dict[str, float]:
    """``--shift temperature_c=+6`` / ``--scale vibration_mm_s=1.5`` as {feature: amount}."""
    found = {}
    for spec in specs:
        name, sep, amount = spec.partition("=")
        if not sep:
            raise SystemExit(f"--{kind} {spec}: expected FEATURE=AMOUNT, e.g. temperature_c=+6")
        if name not in FEATURES:
            raise SystemExit(f"--{kind} {spec}: no feature {name!r} (features: {', '.join(FEATURES)})")
        try:
            found[name] = float(amount)
        except ValueError:
            raise SystemExit(f"--{kind} {spec}: {amount!r} is not a number") from None
        if not math.isfinite(found[name]):
            raise SystemExit(f"--{kind} {spec}: {amount!r} is not a finite number")
    return found


def rows_of(content: bytes) -> list[tuple[list[float], str]]:
    """The feature values and the label of each row of the sensor CSV."""
    reader = csv.DictReader(io.StringIO(content.decode("utf-8")))
    missing = [c for c in FEATURES + [TARGET] if c not in (reader.fieldnames or [])]
    if missing:
        raise SystemExit(f"the data has no column(s) {', '.join(missing)}")
    rows = [([float(r[c]) for c in FEATURES], r[TARGET]) for r in reader]
    if not rows:
        raise SystemExit("the data has no rows")
    return rows


S3_FALLBACK = {"S3_ENDPOINT": "HYBRIDHUB_S3_ENDPOINT", "AWS_ACCESS_KEY_ID": "HYBRIDHUB_S3_ACCESS_KEY",
               "AWS_SECRET_ACCESS_KEY": "HYBRIDHUB_S3_SECRET_KEY"}  # fmt: skip
FRONT = Path(".hybridhub") / "pipelines" / "serving" / "front.json"


def use_server_keys(env=os.environ) -> None:
    """The hybridhub server's storage settings for s3io, unless the S3 ones are set."""
    if not env.get("S3_ENDPOINT") and not env.get("AWS_ENDPOINT_URL"):
        for name, fallback in S3_FALLBACK.items():
            if env.get(fallback) and not env.get(name):
                env[name] = env[fallback]


def local_url(start: Path) -> str:
    """The local serving front of the workspace ``start`` is in (the local backend writes front.json)."""
    for folder in (start, *start.parents):
        try:
            return json.loads((folder / FRONT).read_text(encoding="utf-8"))["url"]
        except (OSError, ValueError, KeyError, TypeError):
            continue
    raise SystemExit(f"no --url and no locally served model ({FRONT} in this folder or above): deploy the model "
                     "first (the pipeline's deploy job) or give --url")  # fmt: skip


def predict(url: str, model: str, request_id: str, values: list[float]) -> bool:
    body = {"id": request_id, "inputs": [{"name": "sensors", "shape": [1, len(values)], "datatype": "FP64", "data": values}]}
    request = urllib.request.Request(f"{url.rstrip('/')}/v2/models/{model}/infer", json.dumps(body).encode(),
                                     {"Content-Type": "application/json"}, method="POST")  # fmt: skip
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
            json.loads(response.read())
            return True
    except (urllib.error.URLError, OSError, ValueError):
        return False


def append_labels(uri: str, verdicts: list[tuple[str, str]]) -> None:
    """Add ``request_id,label`` lines to the labels object (created with its header when missing)."""
    try:
        earlier = s3io.read_bytes(uri).decode("utf-8")
    except FileNotFoundError:
        earlier = ""
    except SystemExit as exc:  # s3io ends a failed read with the URI and status: only "none yet" goes on
        if not s3io.missing(exc):
            raise
        earlier = ""
    if earlier and not earlier.endswith("\n"):
        earlier += "\n"
    lines = "".join(f"{request_id},{label}\n" for request_id, label in verdicts)
    s3io.write_bytes(uri, ((earlier or "request_id,label\n") + lines).encode("utf-8"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="", help="the model server (MLServer's REST port, or the front); "
                        "default: the model the local backend serves for this workspace")
    parser.add_argument("--data", required=True, help="rows to send: s3://bucket/key, https://… or a path")
    parser.add_argument("--version", default="", help="object version of --data")
    parser.add_argument("--model", default=os.environ.get("MODEL_NAME", "sensor-failure"))
    parser.add_argument("--rows", type=int, default=1000, help="predictions to send (the data is cycled)")
    parser.add_argument("--shift", action="append", default=[], metavar="FEATURE=AMOUNT", help="add AMOUNT to a feature")
    parser.add_argument("--scale", action="append", default=[], metavar="FEATURE=FACTOR", help="multiply a feature")
    parser.add_argument("--rate", type=float, default=0.0, help="predictions per second (0: as fast as answered)")
    parser.add_argument("--labels", default="", help="where the verdicts go (request_id,label CSV); empty: none")
    args = parser.parse_args(argv)
    shift, scale = changes(args.shift, "shift"), changes(args.scale, "scale")
    if args.rows < 1:
        raise SystemExit("--rows must be at least 1")
    url = args.url or local_url(Path.cwd())
    use_server_keys()
    rows = rows_of(s3io.read_bytes(args.data, args.version))
    sent, failed, verdicts = 0, 0, []
    began = time.monotonic()
    for i in range(args.rows):
        values, label = rows[i % len(rows)]
        values = [v * scale.get(name, 1.0) + shift.get(name, 0.0) for name, v in zip(FEATURES, values)]
        request_id = str(uuid.uuid4())
        if predict(url, args.model, request_id, values):
            sent += 1
            verdicts.append((request_id, label))
        else:
            failed += 1
        if args.rate > 0:
            time.sleep(max(0.0, began + (i + 1) / args.rate - time.monotonic()))
    if args.labels and verdicts:
        append_labels(args.labels, verdicts)
    changed = ", ".join([f"{k} {v:+g}" for k, v in shift.items()] + [f"{k} x{v:g}" for k, v in scale.items()]) or "none"
    print(f"sent {sent} predictions to {args.model} ({failed} failed) in {time.monotonic() - began:.1f} s; "
          f"shift: {changed}; labels: {len(verdicts) if args.labels else 0}", flush=True)  # fmt: skip
    return 1 if failed and not sent else 0


if __name__ == "__main__":
    raise SystemExit(main())
