"""The demo's pipeline panel works: the example project in alice's workspace trains on the sample bucket."""

from __future__ import annotations

import time

import pytest

from tests.hubclient import open_lab

from .test_demo import demo  # noqa: F401 (fixture)

pytestmark = [pytest.mark.demo, pytest.mark.pipelines]


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
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        run = hub.session.get(api + f"runs/{run_id}", params={"backend": "local", "project": project}, timeout=30).json()
        jobs = {job["name"]: job["status"] for stage in run.get("stages", []) for job in stage.get("jobs", [])} \
            if "stages" in run else {job["name"]: job["status"] for job in run.get("jobs", [])}
        if jobs.get("train") in ("success", "failed") and jobs.get("test") in ("success", "failed"):
            break
        time.sleep(2)
    assert jobs.get("train") == "success" and jobs.get("test") == "success", run
    assert jobs.get("deploy") == "manual", jobs  # deploy waits for approval
