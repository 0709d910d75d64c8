"""The monitoring demo (issue 20), as a person runs it in `hybridhub demo`: the example model trained
and deployed locally, the template's traffic script sending the demo's test data through the served
port (unshifted, then with two sensors out of calibration) as alice's terminal would, the monitoring
pipeline launched through the Pipelines REST route with MONITOR=true and RETRAIN_ON_ALERT=true (the
local backend runs it with gitlab-ci-local), the report in alice's bucket with a data-drift alert,
the retrain pipeline created by the backend and listed by the route, and a second monitoring run
inside the cool-down that starts none. The Models panel's health route charts the day."""

from __future__ import annotations

import datetime
import json
import os
import re
import subprocess
import sys
import time

import pytest
from minio import Minio

from hybridhub.hub_ext.demo.layout import DemoPorts
from hybridhub.lab_ext.pipelines.template import TEMPLATE_DIR
from tests.hubclient import open_lab

from .test_demo import demo  # noqa: F401 (fixture)
from .test_demo_pipeline import jobs_of

pytestmark = [pytest.mark.demo, pytest.mark.monitoring]

MODEL = "sensor-failure"
TRAFFIC = TEMPLATE_DIR / "ml" / "traffic.py"


class Lab:
    """alice's Pipelines routes (the panel's REST API) on the local backend."""

    def __init__(self, demo):
        self.hub, self.api, self.xsrf = open_lab(demo["url"], "alice", demo["user_password"], "pipelines")
        self.project = self.hub.session.get(self.api + "projects", params={"backend": "local"},
                                            timeout=30).json()["projects"][0]["id"]  # fmt: skip
        self.where = {"backend": "local", "project": self.project}

    def launch(self, variables: dict, request_id: str) -> int:
        launched = self.hub.session.post(self.api + "runs", json={**self.where, "ref": "main", "request_id": request_id,
                                         "variables": [{"key": k, "value": v} for k, v in variables.items()]},
                                         headers={"X-XSRFToken": self.xsrf}, timeout=60)  # fmt: skip
        assert launched.status_code == 201, launched.text
        return launched.json()["id"]

    def run(self, run_id: int) -> dict:
        return self.hub.session.get(self.api + f"runs/{run_id}", params=self.where, timeout=30).json()

    def runs(self) -> list[dict]:
        return self.hub.session.get(self.api + "runs", params={**self.where, "limit": 50}, timeout=30).json()["pipelines"]

    def wait(self, run_id: int, done, seconds: float) -> dict:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            run = self.run(run_id)
            if done(run):
                return run
            time.sleep(2)
        raise AssertionError(f"pipeline {run_id} stuck: {run}")

    def trace(self, run_id: int, job: str) -> str:
        job_id = jobs_of(self.run(run_id))[job]["id"]
        return self.hub.session.get(self.api + f"runs/{run_id}/jobs/{job_id}/trace", params={**self.where, "offset": 0},
                                    timeout=30).json()["content"]  # fmt: skip


def finished(run: dict) -> bool:
    return run["status"] not in ("pending", "running")


def retrains(lab: Lab) -> list[dict]:
    return [r for r in lab.runs() if any(v["key"] == "RETRAIN_FOR" for v in r["variables"])]


def terminal_env(demo, keys: dict) -> dict:
    """alice's terminal in JupyterLab: the storage settings her server has (HYBRIDHUB_S3_*)."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "S3_", "HYBRIDHUB_"))}
    return {**base, "HYBRIDHUB_S3_ENDPOINT": f"http://127.0.0.1:{DemoPorts.from_base(demo['base']).store.s3}",
            "HYBRIDHUB_S3_ACCESS_KEY": keys["access_key"], "HYBRIDHUB_S3_SECRET_KEY": keys["secret_key"]}  # fmt: skip


def wait_for_log(store: Minio, key: str, lines: int, seconds: float = 60) -> None:
    """The model server uploads its request log every few seconds: wait until all lines are in."""
    deadline = time.monotonic() + seconds
    count = 0
    while time.monotonic() < deadline:
        try:
            count = store.get_object("home-alice", key).read().count(b"\n")
        except Exception:  # noqa: BLE001 - minio's S3Error NoSuchKey: not uploaded yet
            count = 0
        if count >= lines:
            return
        time.sleep(1)
    raise AssertionError(f"{count} of {lines} lines in home-alice/{key}")


def test_the_monitoring_demo_detects_the_shift_and_starts_one_retrain(demo):  # noqa: F811
    lab = Lab(demo)
    # the example trained and deployed (a person approves the manual deploy)
    trained = lab.launch({}, "monitoring-demo-train")
    run = lab.wait(trained, lambda r: jobs_of(r).get("build", {}).get("status") in ("success", "failed"), 240)
    assert jobs_of(run)["build"]["status"] == "success", run
    played = lab.hub.session.post(lab.api + f"runs/{trained}/jobs/{jobs_of(run)['deploy']['id']}/play", json=lab.where,
                                  headers={"X-XSRFToken": lab.xsrf}, timeout=60)  # fmt: skip
    assert played.status_code == 200, played.text
    run = lab.wait(trained, lambda r: jobs_of(r)["deploy"]["status"] in ("success", "failed"), 180)
    deploy_log = lab.trace(trained, "deploy")
    assert jobs_of(run)["deploy"]["status"] == "success", deploy_log
    url = re.search(r"SERVING sensor-failure \S+\x1b\[0m at (http://127\.0\.0\.1:\d+)", deploy_log).group(1)
    version = f"1.0.{trained}"

    # the traffic, as the README's demo section runs it in alice's terminal (her workspace folder)
    keys = json.loads((demo["data_dir"] / "secrets.json").read_text())["users"]["alice"]
    home = demo["data_dir"] / "users" / "alice"
    common = [sys.executable, str(TRAFFIC), "--data", "s3://datasets/sensors/test.csv", "--rows", "300",
              "--labels", "s3://home-alice/monitoring/labels.csv"]  # fmt: skip
    for extra in ([], ["--shift", "temperature_c=+6", "--shift", "vibration_mm_s=+1.5"]):
        sent = subprocess.run(common + extra, env=terminal_env(demo, keys), cwd=home, capture_output=True, text=True,
                              timeout=300)  # fmt: skip
        assert sent.returncode == 0 and "sent 300 predictions to sensor-failure (0 failed)" in sent.stdout, sent.stderr
    assert url == json.loads((home / ".hybridhub" / "pipelines" / "serving" / "front.json").read_text())["url"]
    store = Minio(f"127.0.0.1:{DemoPorts.from_base(demo['base']).store.s3}", access_key=keys["access_key"],
                  secret_key=keys["secret_key"], secure=False)  # fmt: skip
    day = datetime.datetime.now(datetime.timezone.utc).date().isoformat()
    wait_for_log(store, f"predictions/{MODEL}/{version}/{day}.jsonl", 601)  # and the deploy job's own check

    # the monitoring pipeline, launched as the Run form does with MONITOR=true (the form offers the
    # CI file's variables: these two among them)
    offered = lab.hub.session.get(lab.api + "variables", params={**lab.where, "ref": "main"}, timeout=30).json()
    assert {"MONITOR": "false", "RETRAIN_ON_ALERT": "false"}.items() <= {
        v["key"]: v["value"] for v in offered["variables"]}.items()
    settings = {"MONITOR": "true", "RETRAIN_ON_ALERT": "true", "LABELS_URI": "s3://home-alice/monitoring/labels.csv"}
    monitored = lab.launch(settings, "monitoring-demo-monitor-1")
    run = lab.wait(monitored, finished, 180)
    monitor_log = lab.trace(monitored, "monitor")
    assert set(jobs_of(run)) == {"monitor"} and run["status"] == "success", monitor_log
    assert "Retraining requested" in monitor_log and keys["secret_key"] not in monitor_log
    report = json.loads(store.get_object("home-alice", f"predictions/{MODEL}/{version}/monitoring/{day}.json").read())
    assert report["status"] == "alert" and report["version"] == version
    assert "data_drift" in [a["kind"] for a in report["alerts"]]
    assert report["daily"][-1]["requests"] == 601 and report["accuracy"]["labelled"] == 600
    assert {name for name, f in report["drift"]["features"].items() if f["drift"]} >= {"temperature_c", "vibration_mm_s"}
    store.stat_object("home-alice", f"predictions/{MODEL}/{version}/monitoring/{day}.html")

    # the retrain the backend started: listed by the Pipelines route, training on the newest data
    deadline = time.monotonic() + 60
    while not (started := retrains(lab)):
        assert time.monotonic() < deadline, lab.runs()
        time.sleep(1)
    (retrain,) = started
    assert {v["key"]: v["value"] for v in retrain["variables"]} == {
        "DATA_VERSION": "", "TEST_DATA_VERSION": "", "RETRAIN_FOR": version, "MONITOR": "false"}
    retrained = lab.wait(retrain["id"], lambda r: jobs_of(r)["build"]["status"] in ("success", "failed"), 240)
    assert [jobs_of(retrained)[j]["status"] for j in ("train", "test", "build", "deploy")] == [
        "success", "success", "success", "manual"]
    record = json.loads((home / ".hybridhub" / "pipelines" / "alerts" / f"{MODEL}.json").read_text())
    assert record["alerts"][-1]["decision"] == "started" and record["alerts"][-1]["retrain_pipeline_id"] == retrain["id"]

    # a second monitoring run inside the cool-down starts none
    again = lab.launch(settings, "monitoring-demo-monitor-2")
    run = lab.wait(again, finished, 180)
    assert run["status"] == "success", lab.trace(again, "monitor")
    assert "Retraining skipped (`cooldown`)" in lab.trace(again, "monitor")
    artifacts = home / ".hybridhub" / "pipelines" / str(again) / "src" / ".gitlab-ci-local" / "artifacts" / "monitor"
    assert (artifacts / "monitoring-report.json").is_file() and not (artifacts / "retrain-request.json").exists()
    assert [r["id"] for r in retrains(lab)] == [retrain["id"]]
    record = json.loads((home / ".hybridhub" / "pipelines" / "alerts" / f"{MODEL}.json").read_text())
    assert (record["alerts"][-1]["decision"], record["alerts"][-1]["reason"]) == ("skipped", "cooldown")

    # the Models panel charts the day: its drift share from the report
    health = lab.hub.session.get(f"{demo['url']}user/alice/hybridhub/models/health", timeout=60,
                                 params={"project": lab.project, "name": MODEL, "version": version})  # fmt: skip
    assert health.status_code == 200, health.text
    (today,) = [d for d in health.json()["days"] if d["date"] == day]
    assert today["drift_share"] == pytest.approx(report["daily"][-1]["drift_share"]) and today["drift_share"] >= 0.5
    assert today["requests"] == 601 and health.json()["latest"]["status"] == "alert"
