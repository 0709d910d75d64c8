"""The demo's pipeline panel works: the example project in alice's workspace trains on the sample
bucket, the approved deploy serves the model, a client gets a prediction from it, and nothing
of it is left when the demo stops."""

from __future__ import annotations

import json
import re
import signal
import time
import urllib.request

import psutil
import pytest

from tests.hubclient import open_lab

from .test_demo import demo  # noqa: F401 (fixture)

pytestmark = [pytest.mark.demo, pytest.mark.pipelines, pytest.mark.models]


def jobs_of(run: dict) -> dict[str, dict]:
    return {job["name"]: job for stage in run.get("stages", []) for job in stage.get("jobs", [])}


def test_example_pipeline_runs_locally_in_the_demo(demo):  # noqa: F811
    hub, api, xsrf = open_lab(demo["url"], "alice", demo["user_password"], "pipelines")

    config = hub.session.get(api + "config", timeout=30).json()
    assert "local" in config["backends"]
    projects = hub.session.get(api + "projects", params={"backend": "local"}, timeout=30).json()["projects"]
    project = projects[0]["id"]
    variables = hub.session.get(api + "variables", params={"backend": "local", "project": project, "ref": "main"},
                                timeout=30).json()["variables"]
    assert any(v["key"] == "DATA_URI" and v["value"] == "s3://datasets/sensors/train.csv" for v in variables)

    launched = hub.session.post(api + "runs", json={"backend": "local", "project": project, "ref": "main",
                                                    "variables": [], "request_id": "demo-test-1"},
                                headers={"X-XSRFToken": xsrf}, timeout=60)
    assert launched.status_code == 201, launched.text
    run_id = launched.json()["id"]
    where = {"backend": "local", "project": project}

    def wait(done, seconds: float) -> dict:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            run = hub.session.get(api + f"runs/{run_id}", params=where, timeout=30).json()
            if done({name: job["status"] for name, job in jobs_of(run).items()}):
                return run
            time.sleep(2)
        raise AssertionError(f"pipeline stuck: {run}")

    run = wait(lambda jobs: jobs.get("build") in ("success", "failed", "skipped"), 240)
    jobs = {name: job["status"] for name, job in jobs_of(run).items()}
    assert jobs == {"train": "success", "test": "success", "build": "success", "deploy": "manual"}, run
    # a person approves the deploy: the model server starts and answers
    deploy = jobs_of(run)["deploy"]["id"]
    played = hub.session.post(api + f"runs/{run_id}/jobs/{deploy}/play", json=where, headers={"X-XSRFToken": xsrf},
                              timeout=60)  # fmt: skip
    assert played.status_code == 200, played.text
    run = wait(lambda jobs: jobs.get("deploy") in ("success", "failed"), 180)
    log = hub.session.get(api + f"runs/{run_id}/jobs/{deploy}/trace", params={**where, "offset": 0}, timeout=30).json()
    assert jobs_of(run)["deploy"]["status"] == "success", log["content"]
    assert f"prediction from sensor-failure 1.0.{run_id} at http://127.0.0.1:" in log["content"], log["content"]
    assert "would" not in log["content"]
    # the person's own request, to the URL the job printed
    url = re.search(r"SERVING sensor-failure \S+\x1b\[0m at (http://127\.0\.0\.1:\d+)", log["content"]).group(1)
    body = {"inputs": [{"name": "sensors", "shape": [1, 3], "datatype": "FP64", "data": [48, 4.1, 12]}]}
    request = urllib.request.Request(f"{url}/v2/models/sensor-failure/infer", data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})  # fmt: skip
    with urllib.request.urlopen(request, timeout=30) as response:
        answer = json.loads(response.read())
    assert answer["model_version"] == f"1.0.{run_id}" and answer["outputs"][0]["data"] == [1]

    # the model server is a child of alice's server; stopping the demo leaves none of it
    serving = demo["data_dir"] / "users" / "alice" / ".hybridhub" / "pipelines" / "serving"
    model_server = psutil.Process(json.loads((serving / "current.json").read_text())["pid"])
    assert "mlserver" in " ".join(model_server.cmdline())
    demo["process"].send_signal(signal.SIGINT)
    assert demo["process"].wait(60) == 0
    gone, alive = psutil.wait_procs([model_server], timeout=15)
    assert alive == []
