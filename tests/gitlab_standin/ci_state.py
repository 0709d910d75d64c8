"""TEST DOUBLE of GitLab's CI/CD records: pipelines and jobs as the tests' "runners" drive them,
and their JSON entities.

Entities (gitlabhq lib/api/entities/ci/): ``GET /pipelines`` presents ``PipelineBasicWithMetadata``
(id, iid, project_id, sha, ref, status, source, created_at, updated_at, web_url, name: no timings,
lib/api/entities/ci/pipeline_basic.rb + pipeline_basic_with_metadata.rb, as lib/api/ci/pipelines.rb
presents the list); ``GET /pipelines/:id`` presents ``PipelineWithMetadata`` (Pipeline: adds
before_sha, tag, yaml_errors, user, started_at, finished_at, committed_at, duration,
queued_duration, coverage, detailed_status); ``POST /pipeline`` answers ``Pipeline``.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())


def _iso(t: float | None) -> str | None:
    return time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(t)) if t else None


@dataclass
class Job:
    id: int
    pipeline_id: int
    name: str
    stage: str
    when: str
    tags: list[str]
    status: str = "created"
    trace: bytes = b""
    artifacts: dict[str, bytes] = field(default_factory=dict)
    metrics_report: bool = False
    started: float | None = None
    finished: float | None = None
    retried: bool = False
    runner: dict | None = None
    user_id: int | None = None  # who runs it: the pipeline's creator, or who played or retried it
    environment: str | None = None  # the CI entry's ``environment`` name (a deployment job)
    failure_reason: str | None = None
    # rules:allow_failure of the matching rule (ci_rules.py); None: GitLab's default for the job's when
    allow_failure: bool | None = None


@dataclass
class Pipeline:
    id: int
    iid: int
    project_id: int
    ref: str
    sha: str
    variables: list[dict]
    stages: list[str]
    user_id: int = 0
    source: str = "api"
    tag: bool = False  # the ref is a tag
    created: float = field(default_factory=time.time)
    status: str = "created"
    started: float | None = None
    finished: float | None = None


class CiState:
    def __init__(self, gitlab) -> None:
        self.gitlab = gitlab
        self.pipelines: dict[int, Pipeline] = {}
        self.jobs: dict[int, Job] = {}
        self.ids = itertools.count(1000)
        self.honor_range = False
        self.trace_bytes_sent = 0
        self.create_calls = 0
        self.slow_create_answer = 0.0
        # called with the pipeline id after each change of its jobs (environments.py follows them)
        self.hooks: list = []
        # called with a job a runner is about to start: a failure reason drops it instead
        self.start_checks: list = []
        # called with a job someone plays or retries: True forbids it (403), e.g. an outdated deployment
        self.write_checks: list = []

    # ---- what tests do to the "runners" -------------------------------------------------
    def start(self, job: Job, runner: dict | None = None) -> None:
        reason = next(filter(None, (check(job) for check in self.start_checks)), None)
        if reason:  # e.g. an outdated deployment job fails as it starts (environments.py)
            job.status, job.failure_reason, job.finished = "failed", reason, time.time()
            self.refresh(job.pipeline_id)
            return
        job.status, job.started = "running", time.time()
        job.runner = runner or {"id": 7, "description": "stand-in runner", "active": True, "paused": False,
                                "is_shared": False, "runner_type": "project_type", "name": "stand-in",
                                "online": True, "status": "online"}  # fmt: skip
        self.refresh(job.pipeline_id)

    def write(self, job: Job, text: str) -> None:
        job.trace += text.encode()

    def finish(self, job: Job, status: str, artifacts: dict[str, bytes] | None = None, metrics: bool = False) -> None:
        job.status, job.finished = status, time.time()
        job.artifacts.update(artifacts or {})
        job.metrics_report = metrics
        self.refresh(job.pipeline_id)

    def job(self, pipeline: Pipeline, name: str) -> Job:
        return [j for j in self.jobs.values() if j.pipeline_id == pipeline.id and j.name == name and not j.retried][-1]

    def refresh(self, pipeline_id: int) -> None:
        pipeline = self.pipelines[pipeline_id]
        jobs = [j for j in self.jobs.values() if j.pipeline_id == pipeline_id and not j.retried]
        statuses = {j.status for j in jobs}
        for status in ("running", "pending", "failed", "canceled"):
            if status in statuses:
                pipeline.status = status
                break
        else:
            pipeline.status = "success" if statuses <= {"success", "manual", "skipped"} else "created"
        if pipeline.status == "running" and pipeline.started is None:
            pipeline.started = time.time()
        if pipeline.status in ("success", "failed", "canceled"):
            pipeline.finished = time.time()
        for hook in self.hooks:
            hook(pipeline_id)

    # ---- JSON shapes ------------------------------------------------------------------------
    def user_json(self, user_id: int | None) -> dict | None:
        """Entities::UserBasic."""
        user = self.gitlab.world.users.get(user_id) if user_id else None
        if user is None:
            return None
        return {"id": user.id, "username": user.username, "name": user.name, "state": "active",
                "avatar_url": None, "web_url": f"{self.gitlab.url}/{user.username}"}  # fmt: skip

    def basic_json(self, p: Pipeline) -> dict:
        """PipelineBasicWithMetadata: what the list answers."""
        project = self.gitlab.world.projects[p.project_id]
        return {
            "id": p.id, "iid": p.iid, "project_id": p.project_id, "sha": p.sha, "ref": p.ref, "status": p.status,
            "source": p.source, "created_at": _iso(p.created), "updated_at": _now(),
            "web_url": f"{self.gitlab.url}/{project.path_with_namespace}/-/pipelines/{p.id}", "name": None,
        }  # fmt: skip

    def pipeline_json(self, p: Pipeline, metadata: bool = True) -> dict:
        """Pipeline (the create answer), or PipelineWithMetadata (one pipeline) with ``name``."""
        user = self.gitlab.world.users[p.user_id]
        full = {
            **self.basic_json(p), "before_sha": "0" * 40, "tag": p.tag, "yaml_errors": None,
            "user": self.user_json(user.id),
            "started_at": _iso(p.started), "finished_at": _iso(p.finished), "committed_at": None,
            "duration": round(p.finished - p.started) if p.finished and p.started else None,
            "queued_duration": None, "coverage": None,
            "detailed_status": {"text": p.status, "label": p.status, "group": p.status},
        }  # fmt: skip
        if not metadata:
            del full["name"]
        return full

    def job_json(self, j: Job) -> dict:
        p = self.pipelines[j.pipeline_id]
        project = self.gitlab.world.projects[p.project_id]
        iso = _iso
        artifacts = [{"file_type": "archive", "size": sum(map(len, j.artifacts.values())), "filename": "artifacts.zip",
                      "file_format": "zip"}] if j.artifacts else []  # fmt: skip
        if j.metrics_report:
            artifacts.append({"file_type": "metrics", "size": 10, "filename": "metrics.txt", "file_format": "gzip"})
        return {
            "id": j.id, "name": j.name, "stage": j.stage, "status": j.status, "ref": p.ref, "tag": p.tag,
            "coverage": None, "allow_failure": j.when == "manual" if j.allow_failure is None else j.allow_failure, "created_at": _iso(p.created),
            "started_at": iso(j.started), "finished_at": iso(j.finished), "erased_at": None,
            "duration": (j.finished or time.time()) - j.started if j.started else None, "queued_duration": 0.1,
            "user": self.user_json(j.user_id), "commit": {"id": p.sha, "short_id": p.sha[:8]},
            "pipeline": {"id": p.id, "project_id": p.project_id, "ref": p.ref, "sha": p.sha, "status": p.status},
            "web_url": f"{self.gitlab.url}/{project.path_with_namespace}/-/jobs/{j.id}", "artifacts": artifacts,
            "runner": j.runner, "tag_list": j.tags, "artifacts_expire_at": None, "archived": False,
            # JobBasic: failure_reason only for a failed job
            **({"failure_reason": j.failure_reason or "script_failure"} if j.status == "failed" else {}),
        }  # fmt: skip
