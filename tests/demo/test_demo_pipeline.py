"""The demo's pipeline panel works: the example project in alice's workspace trains on the sample
bucket, the version is registered in the demo's model registry (a real MLflow tracking server)
with its lineage, the approved deploy serves the model, a client gets a prediction from it, and
nothing of it (model server, registry) is left when the demo stops."""

from __future__ import annotations

import base64
import json
import re
import signal
import time
import urllib.request

import psutil
import pytest
from minio import Minio

from hybridhub.hub_ext.demo.layout import DemoPorts
from hybridhub.hub_ext.demo.mlflow_accounts import load_or_create_admin, workspace_of
from hybridhub.hub_ext.demo.ports import port_accepts
from tests.hubclient import open_lab

from .test_demo import demo  # noqa: F401 (fixture)

pytestmark = [pytest.mark.demo, pytest.mark.pipelines, pytest.mark.models]


def jobs_of(run: dict) -> dict[str, dict]:
    return {job["name"]: job for stage in run.get("stages", []) for job in stage.get("jobs", [])}


def registry_get(port: int, path: str, login: dict, **params) -> dict:
    """MLflow's REST API (GET /api/2.0/mlflow/<path>) on the demo's tracking server with a user's
    ``login`` (the demo's registry has logins: basic auth and the X-MLflow-Workspace header)."""
    query = "&".join(f"{k}={v}" for k, v in params.items())
    request = urllib.request.Request(f"http://127.0.0.1:{port}/api/2.0/mlflow/{path}?{query}", headers=login)
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())



def registry_login(demo, username: str) -> dict:
    """The headers of her MLflow login, from the demo's hub-side credential (mlflow_accounts.py)."""
    admin = load_or_create_admin(demo["data_dir"] / "mlflow-admin.json")
    basic = base64.b64encode(f"{username}:{admin.user_password(username)}".encode()).decode()
    return {"Authorization": f"Basic {basic}", "X-MLflow-Workspace": workspace_of(username)}


def registered_run(port: int, model: str, pipeline_id: int, login: dict) -> dict:
    """The registry's record of the version the pipeline made: its model version and its run."""
    latest = registry_get(port, "registered-models/get", login, name=model)["registered_model"]["latest_versions"][-1]
    run = registry_get(port, "runs/get", login, run_id=latest["run_id"])["run"]
    tags = {t["key"]: t["value"] for t in run["data"].get("tags", [])}
    assert tags["hybridhub.pipeline_id"] == str(pipeline_id), tags
    return {"version": latest, "run": run, "tags": tags,
            "metrics": {m["key"]: m["value"] for m in run["data"].get("metrics", [])}}  # fmt: skip


def logged_predictions(demo, username: str, prefix: str, seconds: float = 30) -> list[dict]:
    """The request log's lines under ``prefix`` in the user's bucket, read with her own demo keys;
    the log uploads every few seconds, so wait for the object."""
    keys = json.loads((demo["data_dir"] / "secrets.json").read_text())["users"][username]
    store = Minio(f"127.0.0.1:{DemoPorts.from_base(demo['base']).store.s3}", access_key=keys["access_key"],
                  secret_key=keys["secret_key"], secure=False)  # fmt: skip
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        objects = list(store.list_objects(f"home-{username}", prefix=prefix, recursive=True))
        if objects:
            assert [o.object_name.endswith(".jsonl") for o in objects] == [True], objects  # one object a day
            body = store.get_object(f"home-{username}", objects[0].object_name).read().decode()
            return [json.loads(line) for line in body.splitlines() if line.strip()]
        time.sleep(1)
    raise AssertionError(f"no prediction log under home-{username}/{prefix}")


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
    # the version is in the demo's model registry (its REST API), with the tags of the convention
    registry_port = DemoPorts.from_base(demo["base"]).mlflow
    login = registry_login(demo, "alice")
    found = registered_run(registry_port, "sensor-failure", run_id, login)
    tags = found["tags"]
    assert tags["hybridhub.version"] == f"1.0.{run_id}" and tags["hybridhub.model"] == "sensor-failure"
    assert tags["hybridhub.registry_version"] == found["version"]["version"]
    assert tags["hybridhub.gate"] == "passed" and found["metrics"]["accuracy"] >= 0.95
    assert len(tags["hybridhub.commit"]) == 40 and tags["gitlab.CI_JOB_ID"]
    train_data = json.loads(tags["hybridhub.data.train"])
    # the sample bucket keeps versions: the "latest" run recorded the version id it read
    assert train_data["uri"] == "s3://datasets/sensors/train.csv" and train_data["versioned"] is True
    assert train_data["version_id"] and train_data["requested_version"] == ""
    assert tags["hybridhub.image_context_digest"].startswith("sha256:") and "hybridhub.image_digest" not in tags
    artifacts = registry_get(registry_port, "artifacts/list", login, run_id=found["run"]["info"]["run_id"])["files"]
    assert {"model", "lineage.json"} <= {f["path"] for f in artifacts}
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
    # the model server logged that prediction to alice's own bucket (the day's JSON Lines object)
    lines = logged_predictions(demo, "alice", f"predictions/sensor-failure/1.0.{run_id}/")
    assert {"inputs": [[48.0, 4.1, 12.0]], "predict": [1]} in [
        {"inputs": line["inputs"], "predict": line["outputs"]["predict"]} for line in lines], lines

    # the model server is a child of alice's server; stopping the demo leaves none of it
    serving = demo["data_dir"] / "users" / "alice" / ".hybridhub" / "pipelines" / "serving"
    model_server = psutil.Process(json.loads((serving / "current.json").read_text())["pid"])
    assert "mlserver" in " ".join(model_server.cmdline())
    registry = [p for p in psutil.Process(demo["process"].pid).children(recursive=True)
                if f"--port {registry_port}" in " ".join(p.cmdline())]  # fmt: skip
    assert registry, "the demo's MLflow server is not a child of the demo"
    demo["process"].send_signal(signal.SIGINT)
    assert demo["process"].wait(60) == 0
    gone, alive = psutil.wait_procs([model_server, *registry], timeout=15)
    assert alive == [] and not port_accepts(registry_port)
