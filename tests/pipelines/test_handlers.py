"""The pipeline routes through a real jupyter-server: authentication, the panel's whole flow
with the local backend and the real S3 server (pin → form defaults → launch → watch → trace
→ history), JSON errors with reason codes, and no S3 key in any response, log or file."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import time
import uuid

import pytest
from minio import Minio
from minio.commonconfig import ENABLED
from minio.versioningconfig import VersioningConfig
from tornado.httpclient import HTTPClientError

from hybridhub.hub_ext.demo.sample_data import sensor_csv

pytestmark = pytest.mark.pipelines


@pytest.fixture
def data_bucket(object_store) -> tuple[str, dict]:
    creds = object_store.credentials
    admin = Minio(object_store.endpoint.removeprefix("http://"), creds.admin_access_key, creds.admin_secret_key, secure=False)
    bucket = f"t-{uuid.uuid4().hex[:16]}"
    admin.make_bucket(bucket)
    admin.set_bucket_versioning(bucket, VersioningConfig(ENABLED))
    versions = {}
    for key, content in (("sensors/train.csv", sensor_csv(2000, 1)), ("sensors/test.csv", sensor_csv(500, 2))):
        versions[key] = admin.put_object(bucket, key, io.BytesIO(content), len(content)).version_id
    return bucket, versions


@pytest.fixture
def jp_root_dir(workspace):
    return workspace


@pytest.fixture
def jp_server_config(monkeypatch, object_store):
    creds = object_store.credentials
    monkeypatch.delenv("HYBRIDHUB_GITLAB_URL", raising=False)
    monkeypatch.delenv("HYBRIDHUB_GITLAB_TOKEN", raising=False)
    monkeypatch.setenv("HYBRIDHUB_S3_ENDPOINT", object_store.endpoint)
    monkeypatch.setenv("HYBRIDHUB_S3_ACCESS_KEY", creds.admin_access_key)
    monkeypatch.setenv("HYBRIDHUB_S3_SECRET_KEY", creds.admin_secret_key)
    return {"ServerApp": {"jpserver_extensions": {"hybridhub.lab_ext": True}}}


@pytest.fixture
async def server(jp_serverapp, jp_fetch):
    yield jp_fetch
    service = jp_serverapp.web_app.settings["hybridhub"].get("pipelines")
    if service is not None:
        await service.close()


async def call(fetch, *path: str, body: dict | None = None, **params):
    if body is None:
        response = await fetch("hybridhub", "pipelines", *path, params=params)
    else:
        response = await fetch("hybridhub", "pipelines", *path, method="POST", body=json.dumps(body))
    return json.loads(response.body)


async def error(fetch, *path: str, body: dict | None = None, **params) -> tuple[int, dict]:
    with pytest.raises(HTTPClientError) as info:
        await call(fetch, *path, body=body, **params)
    return info.value.code, json.loads(info.value.response.body)


async def test_routes_require_authentication(jp_fetch):
    for route in ("config", "projects", "runs"):
        with pytest.raises(HTTPClientError) as info:
            await jp_fetch("hybridhub", "pipelines", route, headers={"Authorization": "token wrong"})
        assert info.value.code in (401, 403)


async def test_panel_flow_with_a_pinned_s3_version(server, workspace, data_bucket, object_store, caplog):
    caplog.set_level(logging.DEBUG)
    # the HTTP client's request lines too: kubernetes_asyncio's Configuration() sets "urllib3" to WARNING
    caplog.set_level(logging.DEBUG, logger="urllib3")
    bucket, versions = data_bucket
    pins = [{"bucket": bucket, "key": "sensors/train.csv", "uri": f"s3://{bucket}/sensors/train.csv",
             "version_id": versions["sensors/train.csv"], "pinned_at": "2026-11-22T00:00:00Z"}]  # fmt: skip
    (workspace / ".hybridhub").mkdir(exist_ok=True)
    (workspace / ".hybridhub/data-pins.json").write_text(json.dumps({"version": 1, "pins": pins}))
    answers = []
    config = await call(server, "config")
    assert config["backends"] == ["local"] and config["default"] == "local" and config["pins"] == pins
    assert (await call(server, "projects"))["projects"][0]["id"] == "."
    assert (await call(server, "refs", project="."))["default"] == "main"
    form = (await call(server, "variables", project=".", ref="main"))["variables"]
    values = {v["key"]: v["value"] for v in form}
    assert values["DATA_URI"] == f"s3://{bucket}/sensors/train.csv"
    assert values["DATA_VERSION"] == versions["sensors/train.csv"]
    values.update(TEST_DATA_URI=f"s3://{bucket}/sensors/test.csv", EPOCHS="150")
    launch = {"project": ".", "ref": "main", "request_id": "panel-0001-abcd",
              "variables": [{"key": k, "value": v} for k, v in values.items()]}  # fmt: skip
    created = await call(server, "runs", body=launch)
    again = await call(server, "runs", body=launch)  # the browser retried the POST
    assert again["id"] == created["id"]
    offset, log = 0, ""
    deadline = time.monotonic() + 90
    while True:
        view = await call(server, "runs", str(created["id"]), project=".")
        trace = await call(server, "runs", str(created["id"]), "jobs", "1", "trace", project=".", offset=str(offset))
        answers += [json.dumps(view), json.dumps(trace)]
        log += trace["content"]
        offset = trace["next_offset"]
        if view["status"] not in ("pending", "running") and trace["complete"]:
            break
        assert time.monotonic() < deadline, view
        await asyncio.sleep(0.3)
    assert view["status"] == "success", (view, log)
    assert f"version {versions['sensors/train.csv']}" in log and "trained on 2000 rows" in log
    history = (await call(server, "runs", project="."))["pipelines"]
    assert history[0]["id"] == created["id"] and history[0]["metrics"]["accuracy"] >= 0.95
    played = await call(server, "runs", str(created["id"]), "jobs", "4", "play", body={"project": "."})
    assert [j["status"] for s in played["stages"] for j in s["jobs"] if j["name"] == "deploy"] == ["created"]
    secret = object_store.credentials.admin_secret_key
    files = "".join(p.read_text(errors="replace") for p in (workspace / ".hybridhub").rglob("*") if p.is_file())
    assert secret not in "".join(answers) + caplog.text + files + json.dumps(history)


async def test_errors_have_reason_codes(server, workspace):
    code, body = await error(server, "runs", body={"project": ".", "ref": "main", "variables": [{"key": "1BAD", "value": "x"}]})
    assert (code, body["reason"]) == (400, "invalid_variables")
    code, body = await error(server, "runs", body={"project": ".", "ref": "nope", "variables": []})
    assert (code, body["reason"]) == (404, "unknown_ref")
    code, body = await error(server, "runs", body={"project": "../..", "ref": "main"})
    assert (code, body["reason"]) == (404, "unknown_project")
    code, body = await error(server, "runs", body={"project": ".", "ref": "main", "request_id": "x y"})
    assert (code, body["reason"]) == (400, "invalid_request")
    code, body = await error(server, "runs", "999", project=".")
    assert (code, body["reason"]) == (404, "unknown_pipeline")
    code, body = await error(server, "runs", body={"project": ".", "ref": "main", "backend": "gitlab"})
    assert (code, body["reason"]) == (400, "invalid_request")  # GitLab is not configured here
    (workspace / "empty").mkdir()
    (workspace / "empty" / "PIPELINE.md").write_text("no pipeline here\n")
    from .conftest import commit_all, git

    git(workspace / "empty", "init", "-q", "-b", "main")
    commit_all(workspace / "empty", "first")
    code, body = await error(server, "variables", project="empty", ref="main")
    assert (code, body["reason"]) == (409, "no_ci_file") and body["message"]
    assert (await call(server, "template", path="empty"))["existing"] == ["PIPELINE.md"]
    code, body = await error(server, "template", body={"path": "empty"})
    assert (code, body["reason"], body["details"]) == (409, "files_exist", "PIPELINE.md")
    assert (workspace / "empty" / "PIPELINE.md").read_text() == "no pipeline here\n"
    written = await call(server, "template", body={"path": "empty", "overwrite": True})
    assert ".gitlab-ci.yml" in written["written"] and written["replaced"] == ["PIPELINE.md"]
    code, body = await error(server, "runs", "1", "jobs", "1", "trace", project=".", offset="-5")
    assert (code, body["reason"]) == (400, "invalid_request")
