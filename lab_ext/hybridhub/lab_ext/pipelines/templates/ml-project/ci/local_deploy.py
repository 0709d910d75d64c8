"""The deploy job of a local run: hand the model folder to the local model server, wait until it
serves that version, then ask it for a prediction and print it.

    python3 ci/local_deploy.py model

The server is not started here: hybridhub's local backend runs MLServer for the workspace and
swaps versions without dropping requests (start the new one, wait until ready, switch, stop the
old one). This job copies the folder to ``$HYBRIDHUB_SERVING_DIR/requests/<id>/`` and waits for
``status/<id>.json``. Standard library only.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

WAIT_SECONDS = float(os.environ.get("DEPLOY_TIMEOUT", "180"))
SAMPLE = [[48.0, 4.1, 12.0], [40.0, 1.8, 12.0]]  # hot and shaking; normal


def hand_over(model: Path, serving: Path) -> str:
    request_id = f"p{os.environ.get('HYBRIDHUB_PIPELINE_ID', '0')}-{int(time.time() * 1000)}"
    staging = serving / "staging" / request_id
    shutil.copytree(model, staging)
    (staging / "request.json").write_text(json.dumps({"pipeline": os.environ.get("HYBRIDHUB_PIPELINE_ID", ""),
                                                      "commit": os.environ.get("CI_COMMIT_SHA", "")}))  # fmt: skip
    (serving / "requests").mkdir(parents=True, exist_ok=True)
    os.replace(staging, serving / "requests" / request_id)  # complete, or not there at all
    return request_id


def wait_for(serving: Path, request_id: str) -> dict:
    path, seen, deadline = serving / "status" / f"{request_id}.json", "", time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        try:
            status = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            status = {}
        if status.get("state") and status["state"] != seen:
            seen = status["state"]
            print(f"model server: {seen}", flush=True)
        if seen in ("serving", "failed"):
            return status
        time.sleep(0.3)
    raise SystemExit(f"the local model server did not answer within {WAIT_SECONDS:.0f} s")


def predict(url: str, name: str) -> dict:
    # V2 inference protocol: https://kserve.github.io/website/latest/modelserving/data_plane/v2_protocol/
    body = {"inputs": [{"name": "sensors", "shape": [len(SAMPLE), 3], "datatype": "FP64",
                        "data": [v for row in SAMPLE for v in row]}],
            "outputs": [{"name": "predict"}, {"name": "predict_proba"}]}  # fmt: skip
    request = urllib.request.Request(f"{url}/v2/models/{name}/infer", data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})  # fmt: skip
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as exc:
        raise SystemExit(f"prediction failed: HTTP {exc.code} {exc.read()[:300]!r}") from None
    except urllib.error.URLError as exc:
        raise SystemExit(f"prediction failed: {exc.reason}") from None


def main(argv: list[str]) -> int:
    model = Path(argv[1] if len(argv) > 1 else "model")
    serving = Path(os.environ.get("HYBRIDHUB_SERVING_DIR", ""))
    if not os.environ.get("HYBRIDHUB_SERVING_DIR") or not serving.is_dir():
        raise SystemExit("HYBRIDHUB_SERVING_DIR is not set: run this job with hybridhub's local backend")
    settings = json.loads((model / "model-settings.json").read_text(encoding="utf-8"))
    name, version = settings["name"], settings["parameters"]["version"]
    print(f"deploying {name} {version} to the local model server (MLServer)", flush=True)
    status = wait_for(serving, hand_over(model, serving))
    if status["state"] == "failed":
        print(f"\x1b[31mDEPLOY FAILED: {status.get('reason', 'unknown')}\x1b[0m")
        return 1
    url = status["url"]
    answer = predict(url, name)
    outputs = {o["name"]: o["data"] for o in answer.get("outputs", [])}
    print(f"prediction from {answer.get('model_name')} {answer.get('model_version')} at {url}:")
    for row, label, proba in zip(SAMPLE, outputs.get("predict", []), zip(*[iter(outputs.get("predict_proba", []))] * 2)):
        print(f"  {dict(zip(('temperature_c', 'vibration_mm_s', 'current_a'), row))} -> failure={label} "
              f"(probability {proba[1]:.3f})")  # fmt: skip
    if answer.get("model_version") != version:
        print(f"\x1b[31mDEPLOY FAILED: the server answered with version {answer.get('model_version')}\x1b[0m")
        return 1
    if status.get("previous"):
        print(f"replaced {status['previous']} without stopping the service")
    print(f"\x1b[32mSERVING {name} {version}\x1b[0m at {url} (metrics: {status.get('metrics_url', '')})")
    print(f"try: curl -s {url}/v2/models/{name}/infer -H 'Content-Type: application/json' "
          f"-d '{{\"inputs\": [{{\"name\": \"sensors\", \"shape\": [1, 3], \"datatype\": \"FP64\", \"data\": [48, 4.1, 12]}}]}}'")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
