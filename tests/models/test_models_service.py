"""The Models service's core functions against a real MLflow server (versions written the way
design §1 says the pipeline writes them: tests/models/registry_writer.py) and the local
backend's real environment record (pipelines/local_store.py EnvironmentStore): listing, the
version in production, lineage, and every refusal made before anything is written."""

from __future__ import annotations

import json
import socket
import urllib.request

import pytest

from hybridhub.lab_ext.models.errors import ModelsError
from hybridhub.lab_ext.models.registry import Registry, check_version
from tests.models.registry_writer import data_record, register

from .conftest import make_service

pytestmark = pytest.mark.models


def deploy(service, pipeline_id: int, status: str, job_id: int = 4, sha: str = "a" * 40) -> dict:
    """A run of pipeline ``pipeline_id``'s deploy job, recorded by the local backend's own store."""
    record = {"id": pipeline_id, "project": ".", "sha": sha, "ref": "main"}
    return service.pipelines.local.environments.follow("production", record, {"id": job_id, "name": "deploy", "status": status})


def environment_file(workspace) -> str:
    path = workspace / ".hybridhub/pipelines/environments/production.json"
    return path.read_text() if path.exists() else ""


async def reason_of(coro) -> str:
    with pytest.raises(ModelsError) as info:
        await coro
    return info.value.reason


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def test_versions_newest_first_with_metrics_gate_and_the_serving_one(service, mlflow_server, model_name):
    first = register(mlflow_server.url, model_name, 1, project="userhome", accuracy=0.96)
    register(mlflow_server.url, model_name, 2, project="userhome", accuracy=0.5, gate=False)
    register(mlflow_server.url, model_name, 3, project="someone-else", accuracy=0.99)  # another project's run
    deploy(service, 1, "running")
    deploy(service, 1, "success")
    answer = await service.versions(".", model_name)
    assert [v["version"] for v in answer["versions"]] == ["1.0.2", "1.0.1"]
    newest, older = answer["versions"]
    assert newest["gate"] == {"passed": False, "reasons": ["accuracy 0.5 < 0.95"]} and newest["serving"] is False
    assert older["gate"] == {"passed": True, "reasons": []} and older["serving"] is True
    assert older["metrics"]["accuracy"] == 0.96 and older["metrics"]["train_accuracy"] == 0.99
    assert older["run_id"] == first["run_id"] and older["registry_version"] == first["registry_version"]
    assert older["pipeline_id"] == 1 and older["commit"] == "a" * 40 and older["reproduces"] is None
    assert answer["production"]["version"] == "1.0.1" and answer["production"]["deployment_id"] == 1
    assert answer["can_deploy"] == {"allowed": True, "role": "Owner", "needs": "Developer"}
    listed = await service.models(".")
    mine = [m for m in listed["models"] if m["name"] == model_name]
    assert mine == [{"name": model_name, "description": "", "latest_version": "1.0.2",
                     "production": answer["production"]}]  # fmt: skip


async def test_a_failed_deployment_leaves_the_earlier_version_in_production(service, mlflow_server, model_name):
    register(mlflow_server.url, model_name, 1, project="userhome")
    register(mlflow_server.url, model_name, 2, project="userhome")
    deploy(service, 1, "success")
    deploy(service, 2, "failed")
    answer = await service.versions(".", model_name)
    assert answer["production"]["version"] == "1.0.1"
    assert {v["version"]: v["serving"] for v in answer["versions"]} == {"1.0.2": False, "1.0.1": True}


async def test_lineage_joins_tags_artifact_and_deployments(service, mlflow_server, model_name):
    register(mlflow_server.url, model_name, 1, project="userhome", job_id=11)
    register(mlflow_server.url, model_name, 2, project="userhome", reproduces="1.0.1")
    deploy(service, 1, "success")
    lineage = await service.lineage(".", model_name, "1.0.1")
    assert lineage["model"]["name"] == model_name and lineage["model"]["version"] == "1.0.1"
    assert lineage["commit"] == "a" * 40 and lineage["pipeline_id"] == 1 and lineage["project"] == "userhome"
    assert lineage["jobs"] == {"train": 11, "test": 12, "build": 13}  # build: only lineage.json has it
    assert lineage["data"]["train"]["version_id"] == "v-train-1" and lineage["data"]["test"]["uri"] == "s3://datasets/test.csv"
    assert lineage["gate"] == {"passed": True, "reasons": []} and lineage["metrics"]["accuracy"] == 0.97
    assert lineage["image"] == {"context_digest": "sha256:" + "c" * 64, "built": False}  # a local run builds no image
    assert lineage["reproducibility"] == "exact" and lineage["warnings"] == []
    assert lineage["links"]["commit"] is None and lineage["links"]["local_pipeline"] == {"backend": "local", "project": ".", "id": 1}
    registry_page = lineage["links"]["registry"]  # the MLflow server's own UI page of the version
    assert registry_page == f"{mlflow_server.url}/#/models/{model_name}/versions/{lineage['model']['registry_version']}"
    with urllib.request.urlopen(registry_page.split("#")[0], timeout=10) as page:
        assert page.status == 200 and b"<html" in page.read(2000).lower()
    assert [(d["id"], d["status"]) for d in lineage["deployments"]] == [(1, "success")] and lineage["serving"] is True
    (again,) = lineage["reproduced_by"]
    assert again["version"] == "1.0.2" and again["same_metrics"] is True


async def test_lineage_of_unversioned_data_says_reproducibility_is_weaker(service, mlflow_server, model_name):
    unversioned = data_record("s3://plain/train.csv", None, etag="e1", size=10)
    register(mlflow_server.url, model_name, 1, project="userhome", train=unversioned)
    lineage = await service.lineage(".", model_name, "1.0.1")
    assert lineage["data"]["train"]["versioned"] is False and lineage["data"]["train"]["etag"] == "e1"
    assert lineage["reproducibility"] == "weaker"
    assert lineage["warnings"] == [{"code": "store_unversioned", "which": "train", "uri": "s3://plain/train.csv"}]


async def test_unknown_models_and_versions_and_bad_versions(service, mlflow_server, model_name):
    register(mlflow_server.url, model_name, 1, project="userhome")
    assert await reason_of(service.versions(".", "no-such-model")) == "no_such_model"
    assert await reason_of(service.lineage(".", model_name, "9.9.9")) == "no_such_version"
    assert await reason_of(service.lineage(".", model_name, "latest")) == "invalid_version"
    assert await reason_of(service.promote(".", model_name, "1.0")) == "invalid_version"
    assert await reason_of(service.versions(".", "bad/name")) == "invalid_request"
    assert await reason_of(service.versions("no-such-folder", model_name)) == "unknown_project"
    for good in ("1.0.42", "0.1.0", "2.3.4-rc.1"):
        assert check_version(good) == good


async def test_refusals_come_before_any_write(service, workspace, mlflow_server, model_name):
    register(mlflow_server.url, model_name, 1, project="userhome")
    register(mlflow_server.url, model_name, 2, project="userhome", accuracy=0.5, gate=False)
    # no earlier deployment: nothing deployed yet, then only one version ever deployed
    assert await reason_of(service.rollback(".", model_name)) == "no_earlier_deployment"
    deploy(service, 1, "success")
    before = environment_file(workspace)
    assert await reason_of(service.rollback(".", model_name)) == "no_earlier_deployment"
    assert await reason_of(service.rollback(".", model_name, "1.0.2")) == "no_earlier_deployment"
    assert await reason_of(service.rollback(".", model_name, "7.7.7")) == "no_such_version"
    # the gate failed: refused with why, before any job is looked at
    with pytest.raises(ModelsError) as info:
        await service.promote(".", model_name, "1.0.2")
    assert info.value.reason == "gate_failed" and "accuracy 0.5 < 0.95" in info.value.details
    # the version's pipeline is gone from this workspace: no deploy job to run
    assert await reason_of(service.promote(".", model_name, "1.0.1")) == "deploy_job_missing"
    assert environment_file(workspace) == before and not (workspace / ".hybridhub/pipelines/1").exists()
    # a deployment under way: every deploy waits
    deploy(service, 1, "running", job_id=5)
    assert await reason_of(service.promote(".", model_name, "1.0.1")) == "deploy_in_progress"
    assert json.loads(environment_file(workspace))["deployments"][-1]["status"] == "running"


async def test_registry_unreachable_and_not_configured(workspace, model_name):
    down = make_service(workspace, f"http://127.0.0.1:{closed_port()}", timeout=5)
    try:
        assert await reason_of(down.versions(".", model_name)) == "registry_unreachable"
        assert await reason_of(down.models(".")) == "registry_unreachable"
    finally:
        await down.pipelines.close()
    none = make_service(workspace, "")
    try:
        assert none.describe() == {"enabled": False, "backend": "local", "registry": "none", "registry_url": "",
                                   "environment": "production", "reason": "registry_not_configured"}  # fmt: skip
        assert await reason_of(none.models(".")) == "registry_not_configured"
    finally:
        await none.pipelines.close()


async def test_config_never_shows_credentials_of_the_tracking_uri(workspace):
    service = make_service(workspace, "https://user:s3cret@mlflow.example:5000/path")
    try:
        described = service.describe()
        assert described["registry_url"] == "https://mlflow.example:5000/path" and "s3cret" not in json.dumps(described)
        assert described["enabled"] is True and described["registry"] == "mlflow"
    finally:
        await service.pipelines.close()


async def test_the_registry_client_keeps_its_token_to_itself(mlflow_server, monkeypatch):
    """The token goes in this client's requests only: never into os.environ, which every thread
    and every child process shares (design: the user's own GitLab token)."""
    monkeypatch.delenv("MLFLOW_TRACKING_TOKEN", raising=False)
    registry = Registry(mlflow_server.url, token="per-user-token")
    assert registry.creds().token == "per-user-token" and "per-user-token" not in repr(registry)
    await registry.models()  # the real server ignores the bearer token; the call works with it
    import os

    assert "MLFLOW_TRACKING_TOKEN" not in os.environ
    assert all("per-user-token" not in value for value in os.environ.values())


def local_pipeline(service, pipeline_id: int, created_at: str, sha: str, retries: tuple[int, ...] = ()) -> None:
    """A local run's record as the local backend writes it (pipelines/local_backend.py _new_record:
    jobs numbered from 1 at creation; a retry appends a copy with the next id, retry())."""
    jobs = [{"id": 1, "name": "train", "stage": "train", "status": "success", "environment": ""},
            {"id": 4, "name": "deploy", "stage": "deploy", "status": "manual", "environment": "production"}]
    jobs += [{**jobs[1], "id": job_id, "status": "success"} for job_id in retries]
    service.pipelines.local.store.save({"id": pipeline_id, "project": ".", "ref": "main", "sha": sha, "status": "success",
                                        "created_at": created_at, "jobs": jobs, "variables": []})  # fmt: skip


def deploy_states(answer: dict) -> dict:
    return {v["version"]: (v["deploy"]["allowed"], v["deploy"]["reason"]) for v in answer["versions"]}


async def test_an_outdated_deploy_is_refused_locally_as_gitlab_would(service, workspace, mlflow_server, model_name):
    """The demo applies GitLab's "Prevent outdated deployment jobs" (on by default; gitlabhq
    app/models/concerns/ci/deployable.rb has_outdated_deployment?, app/models/deployment.rb
    older_than_last_successful_deployment?): a deploy job made before the last successful
    deployment (GitLab makes a manual job's deployment with its pipeline) is refused unless it is
    the same commit; a finished job's retry (roll back) stays allowed; a retry is a new, newest
    deployment (app/services/ci/retry_job_service.rb)."""
    sha = {n: f"{n}" * 40 for n in range(1, 6)}
    sha[3] = sha[4]  # pipeline 3 built the commit that serves
    for n in range(1, 6):
        local_pipeline(service, n, f"2026-01-01T00:00:0{n}Z", sha[n], retries=(7,) if n == 1 else ())
        register(mlflow_server.url, model_name, n, project="userhome", commit=sha[n])
    deploy(service, 1, "success", job_id=4, sha=sha[1])
    deploy(service, 4, "success", job_id=4, sha=sha[4])
    answer = await service.versions(".", model_name)
    assert answer["production"]["version"] == "1.0.4"
    assert deploy_states(answer) == {
        "1.0.5": (True, None),  # made after the deployment in production
        "1.0.4": (True, None),  # the one serving (the panel says so itself)
        "1.0.3": (True, None),  # older, but the same commit as production
        "1.0.2": (False, "outdated_deployment"),  # never deployed, made before 1.0.4 was
        "1.0.1": (True, None),  # deployed before: its finished job is retried (a roll back)
    }
    before = environment_file(workspace)
    with pytest.raises(ModelsError) as info:
        await service.promote(".", model_name, "1.0.2")
    assert info.value.reason == "outdated_deployment" and info.value.status == 409
    assert "1.0.2 is older than 1.0.4, in production" in info.value.details and "Reproduce" in info.value.details
    assert environment_file(workspace) == before  # nothing played
    assert service.pipelines.local.store.load(2)["jobs"][1]["status"] == "manual"
    # production rolled back to 1.0.1 by a retry (job 7): the newest deployment, so every deploy
    # job made before it that never ran is outdated now, 1.0.5 included
    deploy(service, 1, "success", job_id=7, sha=sha[1])
    answer = await service.versions(".", model_name)
    assert answer["production"]["version"] == "1.0.1"
    assert deploy_states(answer) == {"1.0.5": (False, "outdated_deployment"), "1.0.4": (True, None),
                                     "1.0.3": (False, "outdated_deployment"), "1.0.2": (False, "outdated_deployment"),
                                     "1.0.1": (True, None)}  # fmt: skip
    # a failed gate and a deploy under way are said the same way, by the same checks as the POST
    register(mlflow_server.url, model_name, 6, project="userhome", accuracy=0.5, gate=False, commit=sha[1])
    local_pipeline(service, 6, "2026-01-01T00:00:09Z", sha[1])
    assert deploy_states(await service.versions(".", model_name))["1.0.6"] == (False, "gate_failed")
    deploy(service, 4, "running", job_id=8, sha=sha[4])
    assert set(deploy_states(await service.versions(".", model_name)).values()) == {(False, "gate_failed"),
                                                                                    (False, "deploy_in_progress")}  # fmt: skip
