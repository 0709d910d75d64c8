"""The GitLab backend against the GitLab API stand-in (tests/gitlab_standin/pipelines.py):
create with variables, list, jobs by stage with runners, trace by offset, cancel, retry,
play, metrics from the artifact, and GitLab's errors mapped to reason codes."""

from __future__ import annotations

import json

import pytest

from hybridhub.lab_ext.activity import registry
from hybridhub.lab_ext.pipelines.errors import PipelineError
from hybridhub.lab_ext.pipelines.gitlab_backend import GitLabBackend
from tests.gitlab_standin.server import Response
from tests.gitlab_standin.state import DEVELOPER, REPORTER

from .conftest import ci_standin


pytestmark = pytest.mark.pipelines


@pytest.fixture
def world(tmp_path):
    with ci_standin(tmp_path, {"alice": DEVELOPER, "bob": REPORTER}) as (standin, ci, project, users):
        token = standin.world.issue(users["alice"], ["api", "read_user"]).value
        yield standin, ci, project, token, standin.world.issue(users["bob"], ["api"]).value


@pytest.fixture
async def backend(world):
    standin, _, _, token, _ = world
    gl = GitLabBackend(standin.url, token, timeout=10)
    yield gl
    await gl.close()


async def test_launch_watch_and_act(world, backend):
    standin, ci, project, _, _ = world
    pid = str(project.id)
    assert (await backend.projects("sens"))[0] == {"id": pid, "name": "sensors", "path": "ml-team/sensors",
                                                  "web_url": f"{standin.url}/ml-team/sensors"}  # fmt: skip
    assert (await backend.refs(pid)) == {"default": "main", "branches": ["main"], "tags": []}
    form = {v["key"]: v["value"] for v in await backend.template_variables(pid, "main")}
    assert form["MIN_ACCURACY"] == "0.95"
    variables = [{"key": "DATA_VERSION", "value": "v-123"}, {"key": "MIN_ACCURACY", "value": "0.9"}]
    created = await backend.create(pid, "main", variables, "gl-launch-0001")
    again = await backend.create(pid, "main", variables, "gl-launch-0001")
    assert again["id"] == created["id"] and ci.create_calls == 1
    assert created["variables"] == variables and created["web_url"].endswith(f"/-/pipelines/{created['id']}")
    assert [s["name"] for s in created["stages"]] == ["train", "test", "build", "deploy"]
    runners = {j["name"]: j["runner"] for s in created["stages"] for j in s["jobs"]}
    assert runners["train"] == {"kind": "cloud", "tags": ["train"], "description": ""}
    assert runners["deploy"]["kind"] == "onprem"
    pipeline = ci.pipelines[created["id"]]
    train = ci.job(pipeline, "train")
    ci.start(train, {"id": 3, "description": "aks-gpu", "active": True, "paused": False, "is_shared": False,
                     "runner_type": "group_type", "name": "aks", "online": True, "status": "online"})  # fmt: skip
    ci.write(train, "\x1b[32mepoch 1\x1b[0m\n")
    first = await backend.trace(pid, created["id"], train.id, 0)
    assert first["content"] == "\x1b[32mepoch 1\x1b[0m\n" and not first["complete"]
    ci.write(train, "epoch 2\n")
    second = await backend.trace(pid, created["id"], train.id, first["next_offset"])
    assert second["content"] == "epoch 2\n"  # only what is new
    view = await backend.pipeline(pid, created["id"])
    assert view["status"] == "running" and registry.REGISTRY.counts().get("pipeline-watch") == 1
    ci.finish(train, "success")
    test = ci.job(pipeline, "test")
    ci.start(test)
    metrics = {"metrics": {"accuracy": 0.97, "f1": 0.8}, "gate": {"passed": True}}
    ci.finish(test, "failed", {"metrics.json": json.dumps(metrics).encode()}, metrics=True)
    view = await backend.pipeline(pid, created["id"])
    assert view["status"] == "failed" and view["metrics"] == {"accuracy": 0.97, "f1": 0.8}
    assert registry.REGISTRY.counts().get("pipeline-watch") is None  # a finished pipeline is no activity
    retried = await backend.retry(pid, created["id"], test.id)
    new_test = [j for s in retried["stages"] for j in s["jobs"] if j["name"] == "test"]
    assert len(new_test) == 1 and new_test[0]["id"] != test.id and new_test[0]["status"] == "pending"
    deploy = ci.job(pipeline, "deploy")
    played = await backend.play(pid, created["id"], deploy.id)
    assert [j["status"] for s in played["stages"] for j in s["jobs"] if j["name"] == "deploy"] == ["pending"]
    with pytest.raises(PipelineError) as info:
        await backend.play(pid, created["id"], deploy.id)
    assert info.value.reason == "not_playable"
    canceled = await backend.cancel(pid, created["id"])
    assert canceled["status"] == "canceled"
    history = await backend.pipelines(pid)
    assert [p["id"] for p in history] == [created["id"]] and history[0]["metrics"]["accuracy"] == 0.97


async def test_a_lost_launch_answer_never_makes_a_second_pipeline(world):
    standin, ci, project, token, _ = world
    impatient = GitLabBackend(standin.url, token, timeout=1)
    ci.slow_create_answer = 2.5
    with pytest.raises(PipelineError) as info:
        await impatient.create(str(project.id), "main", [{"key": "EPOCHS", "value": "5"}], "lost-answer-01")
    assert info.value.reason == "gitlab_unreachable" and len(ci.pipelines) == 1  # it did start
    ci.slow_create_answer = 0
    again = await impatient.create(str(project.id), "main", [{"key": "EPOCHS", "value": "5"}], "lost-answer-01")
    assert ci.create_calls == 1 and again["id"] == next(iter(ci.pipelines))
    assert again["variables"] == [{"key": "EPOCHS", "value": "5"}]  # the request id stays out of sight
    other = await impatient.create(str(project.id), "main", [], "another-launch")
    assert other["id"] != again["id"] and ci.create_calls == 2
    await impatient.close()


async def test_trace_uses_range_when_the_server_honours_it(world, backend):
    standin, ci, project, _, _ = world
    created = await backend.create(str(project.id), "main", [], None)
    job = ci.job(ci.pipelines[created["id"]], "train")
    ci.start(job)
    ci.write(job, "x" * 1000)
    ci.honor_range = True
    sent = ci.trace_bytes_sent
    first = await backend.trace(str(project.id), created["id"], job.id, 0)
    ci.write(job, "tail\n")
    second = await backend.trace(str(project.id), created["id"], job.id, first["next_offset"])
    assert second["content"] == "tail\n" and ci.trace_bytes_sent - sent == 1005
    third = await backend.trace(str(project.id), created["id"], job.id, second["next_offset"])
    assert third["content"] == "" and third["next_offset"] == second["next_offset"]  # 416: nothing new


async def test_errors_map_to_reason_codes(world, backend):
    standin, ci, project, _, bob_token = world
    pid = str(project.id)
    for call, reason in [
        (backend.create(pid, "nope", [], None), "unknown_ref"),
        (backend.create("999", "main", [], None), "unknown_project"),
        (backend.pipeline(pid, 424242), "unknown_pipeline"),
        (backend.template_variables(pid, "nope"), "no_ci_file"),
    ]:
        with pytest.raises(PipelineError) as info:
            await call
        assert info.value.reason == reason
    bob = GitLabBackend(standin.url, bob_token, timeout=10)  # a reporter may not run pipelines
    with pytest.raises(PipelineError) as info:
        await bob.create(pid, "main", [], None)
    assert info.value.reason == "access_denied" and info.value.status == 403
    expired = GitLabBackend(standin.url, "not-a-token", timeout=10)
    with pytest.raises(PipelineError) as info:
        await expired.projects()
    assert info.value.reason == "token_expired" and info.value.status == 401
    standin.offline = True
    with pytest.raises(PipelineError) as info:
        await backend.projects()
    assert info.value.reason == "gitlab_unreachable"
    standin.offline = False
    broken = ("GET", r"/api/v4/projects/([^/]+)/pipelines", lambda gitlab, request, ref: Response.json(
        {"message": "500 Internal Server Error"}, 500), ["per_page", "order_by", "sort"])  # fmt: skip
    standin.routes = [broken] + standin.routes
    with pytest.raises(PipelineError) as info:
        await backend.pipelines(pid)
    assert (info.value.reason, info.value.status) == ("gitlab_error", 502)
