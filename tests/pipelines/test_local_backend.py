"""The local backend end to end: the shipped template run by gitlab-ci-local 4.73.0 in the
shell (train → test gate → image context check → manual deploy that really serves the model
with MLServer), logs tailed by offset, cancel, retry, idempotent launch, and bad input."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import time
import urllib.error
import urllib.request

import psutil

import pytest

from hybridhub.lab_ext.activity import registry
from hybridhub.lab_ext.pipelines.errors import PipelineError
from hybridhub.lab_ext.pipelines.local_backend import LocalBackend

from .conftest import commit_all, data_variables, finished, git, infer, jobs_of, wait_for

pytestmark = pytest.mark.pipelines


def status_of(url: str) -> int | None:
    """The HTTP status of GET ``url``/v2/health/ready, None when nothing answers."""
    try:
        with urllib.request.urlopen(url + "/v2/health/ready", timeout=2) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return None


@pytest.mark.models
async def test_template_pipeline_passes_then_deploy_is_played(backend, workspace, sample_data, tools_present):
    created = await backend.create(".", "main", data_variables(sample_data), "launch-0001")
    assert created["status"] == "pending" and created["backend"] == "local"
    seen_states: set[tuple[str, str]] = set()
    offset, chunks = 0, []
    deadline = time.monotonic() + 60
    while True:
        view = await backend.pipeline(".", created["id"])
        seen_states |= set(jobs_of(view).items())
        trace = await backend.trace(".", created["id"], 1, offset)
        assert trace["offset"] == offset
        chunks.append(trace["content"])
        offset = trace["next_offset"]
        if finished(view) and trace["complete"]:
            break
        assert time.monotonic() < deadline, view
        await asyncio.sleep(0.1)
    # the state machine as the panel saw it
    assert ("train", "running") in seen_states and ("test", "created") in seen_states
    assert view["status"] == "success", view
    assert jobs_of(view) == {"train": "success", "test": "success", "build": "success", "deploy": "manual"}
    assert [s["name"] for s in view["stages"]] == ["train", "test", "build", "deploy"]
    runners = {j["name"]: j["runner"] for s in view["stages"] for j in s["jobs"]}
    assert runners["train"]["kind"] == "cloud" and runners["train"]["tags"] == ["train"]
    assert runners["test"]["kind"] == "onprem" and runners["deploy"]["tags"] == ["deploy"]
    # incremental chunks add up to exactly the whole log, nothing repeated
    whole = (workspace / ".hybridhub/pipelines/1/logs/1.log").read_text()
    assert "".join(chunks) == whole and "trained on 2000 rows" in whole
    assert len([c for c in chunks if c]) >= 1
    again = await backend.trace(".", created["id"], 1, offset)
    assert again["content"] == "" and again["next_offset"] == offset and again["complete"]
    # metrics from the test job's metrics.json artifact
    assert 0.95 <= view["metrics"]["accuracy"] <= 1.0 and view["metrics"]["test_rows"] == 500
    build_log = (await backend.trace(".", created["id"], 3, 0))["content"]
    assert "local run: no image is built" in build_log and "hadolint: Dockerfile clean" in build_log
    assert re.search(r"[0-9a-f]{64}  model/model.joblib", build_log) and "kaniko" not in build_log
    # the manual deploy waits until played
    played = await backend.play(".", created["id"], 4)
    assert played["status"] == "running"
    view = await wait_for(backend, ".", created["id"], finished)
    assert jobs_of(view)["deploy"] == "success" and view["status"] == "success"
    deploy_log = (await backend.trace(".", created["id"], 4, 0))["content"]
    assert "would" not in deploy_log
    # the job got a prediction from the model server it deployed, with the version it trained
    assert "prediction from sensor-failure 1.0.1 at http://127.0.0.1:" in deploy_log, deploy_log
    assert "failure=1" in deploy_log and "failure=0" in deploy_log and "SERVING sensor-failure 1.0.1" in deploy_log
    # and the server outlives the job: it answers here too, on the front port the job printed
    assert f"at {backend.serving.url}" in deploy_log
    answer = await asyncio.to_thread(infer, backend.serving.url, [[48.0, 4.1, 12.0]])
    assert answer["model_name"] == "sensor-failure" and answer["model_version"] == "1.0.1"
    assert answer["outputs"][0]["data"] == [1]
    (server,) = backend.serving.instances
    assert psutil.Process(server.process.pid).is_running()
    with pytest.raises(PipelineError) as info:
        await backend.play(".", created["id"], 4)
    assert info.value.reason == "not_playable"
    history = await backend.pipelines(".")
    assert [p["id"] for p in history] == [1] and history[0]["metrics"] == view["metrics"]
    assert not (workspace / ".hybridhub/pipelines/1/pipeline.json").read_text().count("AWS_SECRET")
    assert git(workspace, "status", "--porcelain") == ""  # runs never show up as changes of the repository
    await backend.close()  # the server stops its model server with it: nothing lingers
    assert not alive(server.process.pid)
    assert await asyncio.to_thread(status_of, backend.serving.url) is None  # the front port is closed


async def test_raised_threshold_fails_the_gate_and_stops_the_pipeline(backend, sample_data, tools_present):
    created = await backend.create(".", "main", data_variables(sample_data, MIN_ACCURACY="0.999"), None)
    view = await wait_for(backend, ".", created["id"], finished)
    assert view["status"] == "failed"
    assert jobs_of(view) == {"train": "success", "test": "failed", "build": "skipped", "deploy": "skipped"}
    log = (await backend.trace(".", created["id"], 2, 0))["content"]
    assert "GATE FAILED: accuracy" in log and "\x1b[31m" in log  # ANSI colours kept for the panel
    assert view["metrics"]["accuracy"] < 0.999  # metrics.json is kept even when the gate fails
    # retry runs the job again (new job id) and it fails again the same way
    retried = await backend.retry(".", created["id"], 2)
    new_test = [j for s in retried["stages"] for j in s["jobs"] if j["name"] == "test"][0]
    assert new_test["id"] == 5
    view = await wait_for(backend, ".", created["id"], finished)
    assert jobs_of(view)["test"] == "failed" and view["status"] == "failed"


async def test_production_baseline_fails_the_gate(backend, workspace, sample_data, tools_present):
    baseline = workspace.parent / "production-metrics.json"
    baseline.write_text(json.dumps({"metrics": {"accuracy": 0.9999}}))
    variables = data_variables(sample_data, PRODUCTION_METRICS_URI=str(baseline))
    view = await wait_for(backend, ".", (await backend.create(".", "main", variables, None))["id"], finished)
    assert jobs_of(view)["test"] == "failed"
    assert "below the production model's 0.9999" in (await backend.trace(".", view["id"], 2, 0))["content"]


async def test_same_request_id_never_launches_a_second_pipeline(workspace, sample_data, tools_present):
    first = LocalBackend(workspace, timeout=60)
    try:
        a = await first.create(".", "main", data_variables(sample_data), "retry-abcdef12")
        b = await first.create(".", "main", data_variables(sample_data), "retry-abcdef12")
        assert a["id"] == b["id"]
        await wait_for(first, ".", a["id"], finished)
    finally:
        await first.close()
    # a restarted server finds the request in the history
    second = LocalBackend(workspace, timeout=60)
    c = await second.create(".", "main", data_variables(sample_data), "retry-abcdef12")
    assert c["id"] == a["id"] and len(await second.pipelines(".")) == 1


async def test_cancel_kills_the_process_group(backend, workspace, tools_present):
    (workspace / ".gitlab-ci.yml").write_text(
        "stages: [work]\nslow:\n  stage: work\n  script:\n"
        "    - echo $$ > \"$CI_PROJECT_DIR/../../../../job.pid\"\n"
        "    - for i in $(seq 1 60); do echo tick $i; sleep 1; done\n"
    )
    commit_all(workspace, "slow pipeline")
    created = await backend.create(".", "main", [], None)
    view = await wait_for(backend, ".", created["id"], lambda v: jobs_of(v)["slow"] == "running")
    run_dir = workspace / ".hybridhub/pipelines" / str(created["id"])
    deadline = time.monotonic() + 20
    while "tick 2" not in (await backend.trace(".", view["id"], 1, 0))["content"]:
        assert time.monotonic() < deadline
        await asyncio.sleep(0.1)
    pid_file = next(run_dir.rglob("job.pid"), None) or next(workspace.parent.rglob("job.pid"))
    job_pid = int(pid_file.read_text())
    os.kill(job_pid, 0)  # the job's shell is alive
    assert registry.REGISTRY.counts().get("pipeline-watch") == 1  # the culler sees the work
    canceled = await backend.cancel(".", created["id"])
    assert registry.REGISTRY.counts().get("pipeline-watch") is None
    assert canceled["status"] == "canceled" and jobs_of(canceled) == {"slow": "canceled"}
    deadline = time.monotonic() + 10
    while alive(job_pid):  # gone, or a zombie waiting for init to reap it
        assert time.monotonic() < deadline, "the job's shell survived cancel"
        await asyncio.sleep(0.1)
    with pytest.raises(PipelineError) as info:
        await backend.cancel(".", created["id"])
    assert info.value.reason == "not_cancelable"


async def test_a_run_over_its_time_limit_is_stopped(workspace, tools_present):
    (workspace / ".gitlab-ci.yml").write_text("stages: [work]\nforever:\n  stage: work\n  script:\n    - sleep 600\n")
    commit_all(workspace, "endless pipeline")
    limited = LocalBackend(workspace, timeout=4)
    try:
        created = await limited.create(".", "main", [], None)
        view = await wait_for(limited, ".", created["id"], finished, timeout=30)
    finally:
        await limited.close()
    assert view["status"] == "canceled" and view["error"] == "runner_timeout"
    assert jobs_of(view) == {"forever": "canceled"}


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


@pytest.mark.parametrize(
    ("ref", "reason"), [("no-such-branch", "unknown_ref"), ("--upload-pack=x", "unknown_ref"), ("", "unknown_ref")]
)
async def test_unknown_ref(backend, ref, reason):
    with pytest.raises(PipelineError) as info:
        await backend.create(".", ref, [], None)
    assert info.value.reason == reason and info.value.status == 404


async def test_no_ci_file_and_unknown_project(backend, workspace):
    (workspace / ".gitlab-ci.yml").unlink()
    commit_all(workspace, "remove the pipeline")
    with pytest.raises(PipelineError) as info:
        await backend.create(".", "main", [], None)
    assert info.value.reason == "no_ci_file"
    for project in ("..", "../etc", "missing"):
        with pytest.raises(PipelineError) as info:
            await backend.refs(project)
        assert info.value.reason == "unknown_project"


async def test_missing_tools_are_reported(workspace, monkeypatch, tmp_path):
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty) + ":/usr/bin:/bin")
    monkeypatch.setattr("hybridhub.lab_ext.pipelines.local_run._REPO_BIN", tmp_path / "none")
    with pytest.raises(PipelineError) as info:
        await LocalBackend(workspace).create(".", "main", [], None)
    assert info.value.reason == "runner_missing" and "gitlab-ci-local" in info.value.message
    tool = empty / "gitlab-ci-local"
    tool.write_text("#!/bin/sh\n")
    tool.chmod(0o755)
    (empty / "git").symlink_to(shutil.which("git"))
    monkeypatch.setenv("PATH", str(empty))
    with pytest.raises(PipelineError) as info:
        await LocalBackend(workspace, tool=str(tool)).create(".", "main", [], None)
    assert info.value.reason == "rsync_missing"


async def test_projects_refs_and_template_variables(backend, workspace):
    commit_all_tag = workspace / "tagged"
    commit_all_tag.write_text("x")
    commit_all(workspace, "tagged")
    git(workspace, "tag", "v1")
    git(workspace, "branch", "feature")
    assert await backend.projects() == [{"id": ".", "name": "userhome", "path": ".", "web_url": ""}]
    refs = await backend.refs(".")
    assert refs == {"default": "main", "branches": ["feature", "main"], "tags": ["v1"]}
    variables = {v["key"]: v for v in await backend.template_variables(".", "v1")}
    assert variables["DATA_URI"]["value"] == "s3://datasets/sensors/train.csv"
    assert variables["MIN_ACCURACY"]["value"] == "0.95" and variables["DATA_VERSION"]["description"]
