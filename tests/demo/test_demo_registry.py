"""`./dev demo`: each user's server gets her own login on the demo's model registry, and nothing more.

The demo's hub makes alice and bob an MLflow login and workspace each (mlflow_accounts.py) and hands
each server only its user's (hub_config.registry_environment). What is asserted: the real servers'
process environments, the real MLflow server's answers to the credential alice's server holds, the
Models API of both users' servers, and every log file of the demo."""

from __future__ import annotations

import json
import os
import time
import uuid

import psutil
import pytest
import requests

from hybridhub.hub_ext.demo.layout import DemoPorts
from hybridhub.hub_ext.demo.mlflow_accounts import load_or_create_admin
from tests.hubclient import open_lab

from .test_demo import demo  # noqa: F401 (fixture)

pytestmark = [pytest.mark.demo, pytest.mark.models]

NAMES = ("HYBRIDHUB_MLFLOW_TRACKING_URI", "HYBRIDHUB_MLFLOW_TRACKING_USERNAME", "HYBRIDHUB_MLFLOW_TRACKING_PASSWORD",
         "HYBRIDHUB_MLFLOW_WORKSPACE")  # fmt: skip


def server_environment(demo, username: str) -> dict[str, str]:
    """The process environment of the user's jupyter server (a child of the demo, same OS user)."""
    for process in psutil.Process(demo["process"].pid).children(recursive=True):
        try:
            env = process.environ()
        except (psutil.AccessDenied, psutil.NoSuchProcess):
            continue
        if env.get("JUPYTERHUB_USER") == username and "singleuser" in " ".join(process.cmdline()):
            return env
    raise AssertionError(f"no server process of {username}")


def as_user(url: str, method: str, path: str, env: dict, **kwargs) -> requests.Response:
    """A request to the registry with exactly the login and workspace a server was given."""
    return requests.request(method, url + path, timeout=30, headers={"X-MLflow-Workspace": env["HYBRIDHUB_MLFLOW_WORKSPACE"]},
                            auth=(env["HYBRIDHUB_MLFLOW_TRACKING_USERNAME"], env["HYBRIDHUB_MLFLOW_TRACKING_PASSWORD"]),
                            **kwargs)  # fmt: skip


def test_each_server_gets_only_its_users_registry_login(demo):  # noqa: F811
    admin_file = demo["data_dir"] / "mlflow-admin.json"
    assert admin_file.stat().st_mode & 0o077 == 0  # the administrator credential: the demo's hub side only
    admin = load_or_create_admin(admin_file)
    registry = f"http://127.0.0.1:{DemoPorts.from_base(demo['base']).mlflow}"
    labs = {name: open_lab(demo["url"], name, demo["user_password"], "pipelines") for name in ("alice", "bob")}
    envs = {name: server_environment(demo, name) for name in labs}
    for name, other in (("alice", "bob"), ("bob", "alice")):
        env = envs[name]
        assert {k: env.get(k) for k in NAMES} == {
            "HYBRIDHUB_MLFLOW_TRACKING_URI": registry, "HYBRIDHUB_MLFLOW_TRACKING_USERNAME": name,
            "HYBRIDHUB_MLFLOW_TRACKING_PASSWORD": admin.user_password(name), "HYBRIDHUB_MLFLOW_WORKSPACE": f"user-{name}"}
        values = "\n".join(env.values())
        for secret in (admin.user_password(other), admin.password, admin.user_secret, admin.flask_secret):
            assert secret not in values
        assert not any(k.startswith("MLFLOW_") for k in env)  # the server's own process: no MLflow client defaults

    # the credential alice's server holds opens her workspace: a version of a model there, tagged for
    # her example project exactly as the pipeline's train job tags it (design §1)
    hub, api, _ = labs["alice"]
    project = hub.session.get(api + "projects", params={"backend": "local"}, timeout=30).json()["projects"][0]["id"]
    model = f"mine-{uuid.uuid4().hex[:8]}"
    alice = envs["alice"]
    experiment = as_user(registry, "POST", "/api/2.0/mlflow/experiments/create", alice, json={"name": f"[model]{model}"})
    assert experiment.status_code == 200, experiment.text
    # one run tagged with the folder of her project, one with the folder of bob's (the project
    # filter of the Models API: models/service.py project_versions): without isolation bob's panel
    # would list it
    runs = []
    for owner in ("alice", "bob"):
        folder = os.path.basename(os.path.normpath(demo["data_dir"] / "users" / owner / project))
        tags = [{"key": "hybridhub.version", "value": f"1.0.{len(runs) + 1}"}, {"key": "hybridhub.model", "value": model},
                {"key": "hybridhub.project", "value": folder}]  # fmt: skip
        run = as_user(registry, "POST", "/api/2.0/mlflow/runs/create", alice,
                      json={"experiment_id": experiment.json()["experiment_id"], "tags": tags})  # fmt: skip
        assert run.status_code == 200, run.text
        runs.append(run)
    made = as_user(registry, "POST", "/api/2.0/mlflow/registered-models/create", alice, json={"name": model})
    assert made.status_code == 200, made.text

    # each server's Models API: alice's lists it, bob's (same project name, same registry) does not
    listed = {}
    for name, (session, _, _) in labs.items():
        answer = session.session.get(f"{demo['url']}user/{name}/hybridhub/models", params={"project": project}, timeout=60)
        assert answer.status_code == 200, answer.text
        listed[name] = [m["name"] for m in answer.json()["models"]]
    assert model in listed["alice"] and model not in listed["bob"]
    # bob's credential, in her workspace or his: refused on her run and her model (the real server's 403)
    bob = envs["bob"]
    run_id = runs[1].json()["run"]["info"]["run_id"]
    for workspace in ("user-alice", "user-bob"):
        snooping = {**bob, "HYBRIDHUB_MLFLOW_WORKSPACE": workspace}
        assert as_user(registry, "GET", "/api/2.0/mlflow/runs/get", snooping, params={"run_id": run_id}).status_code == 403
        assert as_user(registry, "DELETE", "/api/2.0/mlflow/registered-models/delete", snooping,
                       json={"name": model}).status_code in (403, 404)  # fmt: skip
    assert as_user(registry, "GET", "/api/2.0/mlflow/registered-models/get", alice, params={"name": model}).status_code == 200
    # the registry's own pages ask a browser for a login (so the panel links none: docs/models.md)
    page = requests.get(registry + "/", timeout=30)
    assert page.status_code == 401 and page.headers.get("WWW-Authenticate", "").startswith("Basic")
    # the model's config the browser gets has the registry's address, never a login
    config = labs["alice"][0].session.get(f"{demo['url']}user/alice/hybridhub/models/config", timeout=30)
    assert config.json()["registry"] == "mlflow" and config.json()["registry_url"] == registry
    assert alice["HYBRIDHUB_MLFLOW_TRACKING_PASSWORD"] not in config.text

    # alice's example pipeline (local jobs: model_job_env hands them her login): its version is in her
    # workspace, her server's Models API lists it, bob's does not; her password in no job's log
    hub, api, xsrf = labs["alice"]
    launched = hub.session.post(api + "runs", json={"backend": "local", "project": project, "ref": "main", "variables": [],
                                                    "request_id": "registry-test-1"},
                                headers={"X-XSRFToken": xsrf}, timeout=60)  # fmt: skip
    assert launched.status_code == 201, launched.text
    pipeline = launched.json()["id"]
    where = {"backend": "local", "project": project}
    deadline = time.monotonic() + 240
    while True:
        view = hub.session.get(api + f"runs/{pipeline}", params=where, timeout=30).json()
        jobs = {job["name"]: job for stage in view.get("stages", []) for job in stage.get("jobs", [])}
        if jobs.get("build", {}).get("status") in ("success", "failed", "skipped"):
            break
        assert time.monotonic() < deadline, view
        time.sleep(2)
    assert {n: j["status"] for n, j in jobs.items()} == {"train": "success", "test": "success", "build": "success",
                                                         "deploy": "manual"}  # fmt: skip
    version = as_user(registry, "GET", "/api/2.0/mlflow/registered-models/get", alice, params={"name": "sensor-failure"})
    assert version.status_code == 200, version.text
    assert as_user(registry, "GET", "/api/2.0/mlflow/registered-models/get", bob,
                   params={"name": "sensor-failure"}).status_code == 403  # fmt: skip
    for name, (session, _, _) in labs.items():
        answer = session.session.get(f"{demo['url']}user/{name}/hybridhub/models", params={"project": project}, timeout=60)
        listed[name] = [m["name"] for m in answer.json()["models"]]
    assert "sensor-failure" in listed["alice"] and "sensor-failure" not in listed["bob"]
    # her lineage card offers no link to the registry's UI: it would ask her browser for a password
    # only her server holds (the panel is where she sees her versions)
    hub_session = labs["alice"][0].session
    versions = hub_session.get(f"{demo['url']}user/alice/hybridhub/models/versions",
                               params={"project": project, "name": "sensor-failure"}, timeout=60).json()["versions"]  # fmt: skip
    lineage = hub_session.get(f"{demo['url']}user/alice/hybridhub/models/lineage", timeout=60,
                              params={"project": project, "name": "sensor-failure", "version": versions[0]["version"]})  # fmt: skip
    assert lineage.status_code == 200, lineage.text
    assert lineage.json()["links"]["registry"] is None and alice["HYBRIDHUB_MLFLOW_TRACKING_PASSWORD"] not in lineage.text
    traces = [hub.session.get(api + f"runs/{pipeline}/jobs/{job['id']}/trace", params={**where, "offset": 0},
                              timeout=30).json()["content"] for job in jobs.values() if job["status"] == "success"]  # fmt: skip
    assert len(traces) == 3 and "sensor-failure" in "".join(traces)
    stored = [p for p in (demo["data_dir"] / "users" / "alice" / ".hybridhub").rglob("*") if p.is_file()]
    assert stored
    for text in traces + [p.read_text(errors="replace") for p in stored]:
        assert alice["HYBRIDHUB_MLFLOW_TRACKING_PASSWORD"] not in text

    # no password in any log of the demo (hub, users' servers, registry, store) nor in what it printed
    secrets = [admin.password, admin.user_secret, admin.flask_secret, *(admin.user_password(n) for n in labs)]
    logs = {p: p.read_text(errors="replace") for p in (demo["data_dir"] / "logs").rglob("*") if p.is_file()}
    assert any("mlflow" in p.name for p in logs) and any("jupyterhub" in p.name for p in logs), list(logs)
    for path, text in logs.items():
        for secret in secrets:
            assert secret not in text, path
    printed = demo["output"].text  # what the demo printed so far (its banner included)
    assert "model registry (MLflow)" in printed
    for secret in secrets:
        assert secret not in printed
    assert json.loads(admin_file.read_text())["username"] == admin.username
