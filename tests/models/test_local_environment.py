"""The local backend's production record (design §5) and what it reads from the CI file: which
jobs deploy to an environment (GitLab's two forms of ``environment:``), deployments whose status
follows their job, written whole, and the registry URI local jobs get (never a token)."""

from __future__ import annotations

import json

import pytest

from hybridhub.lab_ext.pipelines import ci_file
from hybridhub.lab_ext.pipelines.errors import PipelineError
from hybridhub.lab_ext.pipelines.local_store import EnvironmentStore, PipelineStore, job_environments
from hybridhub.lab_ext.pipelines.service import model_job_env

pytestmark = [pytest.mark.models, pytest.mark.pipelines]

CI = """
stages: [train, deploy]
train: {stage: train, script: [echo]}
deploy: {stage: deploy, when: manual, environment: {name: production}, script: [echo]}
review: {stage: deploy, environment: review, script: [echo]}
stop: {stage: deploy, environment: {name: production, action: stop}, script: [echo]}
"""


def test_the_ci_file_names_each_jobs_environment():
    jobs = ci_file.jobs(ci_file.load(CI))
    # https://docs.gitlab.com/ci/yaml/#environment : a name, or {name, action}; only "start" deploys
    assert {name: job["environment"] for name, job in jobs.items()} == {
        "train": "", "deploy": "production", "review": "review", "stop": ""}  # fmt: skip


def test_deployments_follow_their_job_and_are_written_whole(tmp_path):
    store = EnvironmentStore(PipelineStore(tmp_path))
    record = {"id": 3, "project": ".", "sha": "b" * 40, "ref": "main"}
    job = {"id": 4, "name": "deploy", "status": "created"}
    first = store.follow("production", record, job)
    assert first["id"] == 1 and first["status"] == "created" and first["finished_at"] is None
    for status, expected in (("running", "running"), ("success", "success")):
        store.follow("production", record, {**job, "status": status})
        assert store.deployments("production")[-1]["status"] == expected
    done = store.deployments("production")[-1]
    assert done["finished_at"] and done["pipeline_id"] == 3 and done["sha"] == "b" * 40 and done["job"] == "deploy"
    # a retry of the job is a new job id: a new deployment, newest last
    store.follow("production", record, {"id": 5, "name": "deploy", "status": "failed"})
    assert [(d["id"], d["status"]) for d in store.deployments("production")] == [(1, "success"), (2, "failed")]
    path = tmp_path / ".hybridhub/pipelines/environments/production.json"
    assert json.loads(path.read_text())["deployments"][1]["job_id"] == 5
    assert [p.name for p in path.parent.iterdir()] == ["production.json"]  # no temporary file left
    # a file that is no record reads as no deployments, never a crash
    path.write_text("not json")
    assert store.deployments("production") == []
    with pytest.raises(PipelineError):
        store.deployments("../x")


def test_local_jobs_get_the_registry_and_prediction_log_uris_and_nothing_else(monkeypatch):
    monkeypatch.delenv("HYBRIDHUB_PREDICTION_LOG_URI", raising=False)
    monkeypatch.setenv("HYBRIDHUB_MLFLOW_TRACKING_URI", "http://127.0.0.1:5000")
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", "secret-token")
    env = model_job_env()
    assert env == {"MLFLOW_TRACKING_URI": "http://127.0.0.1:5000", "HYBRIDHUB_MLFLOW_TRACKING_URI": "http://127.0.0.1:5000"}
    monkeypatch.setenv("HYBRIDHUB_PREDICTION_LOG_URI", "s3://home-bob/predictions")
    assert model_job_env()["PREDICTION_LOG_URI"] == "s3://home-bob/predictions"
    monkeypatch.delenv("HYBRIDHUB_MLFLOW_TRACKING_URI")
    monkeypatch.delenv("HYBRIDHUB_PREDICTION_LOG_URI")
    assert model_job_env() == {}


def test_a_record_from_before_environments_learns_them_from_its_clone(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / ".gitlab-ci.yml").write_text(CI)
    record = {"id": 1, "jobs": [{"name": "train"}, {"name": "deploy"}, {"name": "gone"}]}
    assert job_environments(record, src) == {"train": "", "deploy": "production", "gone": ""}
    assert record["jobs"][1]["environment"] == "production"  # kept in the record from now on
    assert job_environments({"id": 2, "jobs": [{"name": "deploy"}]}, tmp_path / "no-clone") == {"deploy": ""}
