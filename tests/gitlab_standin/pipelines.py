"""TEST DOUBLE of GitLab's CI/CD API: pipelines, jobs, traces, artifacts, branches, tags and
raw files, for hybridhub's pipeline panel. Shapes follow https://docs.gitlab.com/api/pipelines/
and https://docs.gitlab.com/api/jobs/ (trimmed to documented fields).

Install on a stand-in with ``ci = install(gitlab)``; the test drives runners by hand
(``ci.start(job)``, ``ci.write(job, text)``, ``ci.finish(job, "success")``). Strict like the
rest of the stand-in: unknown paths, methods or query parameters fail the test; bad variables
and bodies are 400s with GitLab's messages. The trace endpoint ignores ``Range`` (GitLab's API
documents none) unless ``honor_range`` is set, and counts the bytes it sends.
"""

from __future__ import annotations

import itertools
import subprocess
import time
from dataclasses import dataclass, field
from urllib.parse import unquote

import yaml

from . import api
from .state import DEVELOPER

_PAGE = ["page", "per_page"]
_VAR_TYPES = {"env_var", "file"}


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())


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


@dataclass
class Pipeline:
    id: int
    iid: int
    project_id: int
    ref: str
    sha: str
    variables: list[dict]
    stages: list[str]
    created_at: str = field(default_factory=_now)
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

    # ---- what tests do to the "runners" -------------------------------------------------
    def start(self, job: Job, runner: dict | None = None) -> None:
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

    # ---- JSON shapes ------------------------------------------------------------------------
    def pipeline_json(self, p: Pipeline) -> dict:
        project = self.gitlab.world.projects[p.project_id]
        iso = lambda t: time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(t)) if t else None  # noqa: E731
        return {
            "id": p.id, "iid": p.iid, "project_id": p.project_id, "sha": p.sha, "ref": p.ref, "status": p.status,
            "source": "api", "created_at": p.created_at, "updated_at": _now(), "started_at": iso(p.started),
            "finished_at": iso(p.finished), "committed_at": None, "tag": False, "before_sha": "0" * 40,
            "yaml_errors": None, "duration": round(p.finished - p.started) if p.finished and p.started else None,
            "queued_duration": None, "coverage": None,
            "web_url": f"{self.gitlab.url}/{project.path_with_namespace}/-/pipelines/{p.id}",
            "detailed_status": {"text": p.status, "label": p.status, "group": p.status},
        }  # fmt: skip

    def job_json(self, j: Job) -> dict:
        p = self.pipelines[j.pipeline_id]
        project = self.gitlab.world.projects[p.project_id]
        iso = lambda t: time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(t)) if t else None  # noqa: E731
        artifacts = [{"file_type": "archive", "size": sum(map(len, j.artifacts.values())), "filename": "artifacts.zip",
                      "file_format": "zip"}] if j.artifacts else []  # fmt: skip
        if j.metrics_report:
            artifacts.append({"file_type": "metrics", "size": 10, "filename": "metrics.txt", "file_format": "gzip"})
        return {
            "id": j.id, "name": j.name, "stage": j.stage, "status": j.status, "ref": p.ref, "tag": False,
            "coverage": None, "allow_failure": j.when == "manual", "created_at": p.created_at,
            "started_at": iso(j.started), "finished_at": iso(j.finished), "erased_at": None,
            "duration": (j.finished or time.time()) - j.started if j.started else None, "queued_duration": 0.1,
            "user": None, "commit": {"id": p.sha, "short_id": p.sha[:8]},
            "pipeline": {"id": p.id, "project_id": p.project_id, "ref": p.ref, "sha": p.sha, "status": p.status},
            "web_url": f"{self.gitlab.url}/{project.path_with_namespace}/-/jobs/{j.id}", "artifacts": artifacts,
            "runner": j.runner, "tag_list": j.tags, "artifacts_expire_at": None, "archived": False,
        }  # fmt: skip


def install(gitlab) -> CiState:
    """Add the CI/CD routes to a running :class:`GitLabStandIn`; returns the CI state."""
    gitlab.ci = CiState(gitlab)
    gitlab.routes = gitlab.routes + ROUTES
    return gitlab.ci


def _git(project, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["git", *args], cwd=project.repo, capture_output=True)


def _auth_project(gitlab, request, ref, scopes=api.READ_SCOPES):
    """(user, project) or (GitLab's error answer, None); writes need the Developer role."""
    user, project = api._project(gitlab, request, ref, scopes)
    if project is None:
        return user, None
    if scopes == {"api"} and project.members.get(user.id, 0) < DEVELOPER:
        return _json({"message": "403 Forbidden"}, 403), None
    return user, project


def _json(data, status=200, headers=None):
    from .server import Response

    return Response.json(data, status, headers)


def branches(gitlab, request, ref):
    user, project = _auth_project(gitlab, request, ref)
    if project is None:
        return user
    out = _git(project, "for-each-ref", "--format=%(refname:short) %(objectname)", "refs/heads").stdout.decode()
    items = [{"name": n, "merged": False, "protected": n in project.protected, "default": n == project.default_branch,
              "developers_can_push": False, "developers_can_merge": False, "can_push": True,
              "web_url": f"{gitlab.url}/{project.path_with_namespace}/-/tree/{n}", "commit": {"id": sha}}
             for n, sha in (line.split() for line in out.splitlines())]  # fmt: skip
    return api._page(request, items)


def tags(gitlab, request, ref):
    user, project = _auth_project(gitlab, request, ref)
    if project is None:
        return user
    out = _git(project, "for-each-ref", "--format=%(refname:short) %(objectname)", "refs/tags").stdout.decode()
    items = [{"name": n, "message": "", "target": sha, "commit": {"id": sha}, "release": None, "protected": False}
             for n, sha in (line.split() for line in out.splitlines())]  # fmt: skip
    return api._page(request, items)


def raw_file(gitlab, request, ref, file_path):
    from .server import Response

    user, project = _auth_project(gitlab, request, ref)
    if project is None:
        return user
    shown = _git(project, "show", f"{request.param('ref') or project.default_branch}:{unquote(file_path)}")
    if shown.returncode:
        return _json({"message": "404 File Not Found"}, 404)
    return Response(200, shown.stdout, {"Content-Type": "text/plain; charset=utf-8"})


def create_pipeline(gitlab, request, ref):
    user, project = _auth_project(gitlab, request, ref, {"api"})
    if project is None:
        return user
    ci: CiState = gitlab.ci
    ci.create_calls += 1
    body = request.json()
    unknown = set(body) - {"ref", "variables", "inputs"}
    if unknown:
        raise gitlab.violation(400, f"unknown pipeline attributes {sorted(unknown)}")
    variables = body.get("variables") or []
    for var in variables:
        if set(var) - {"key", "value", "variable_type"} or not isinstance(var.get("key"), str):
            return _json({"message": {"base": ["Variables key is invalid"]}}, 400)
        if var.get("variable_type", "env_var") not in _VAR_TYPES:
            return _json({"message": "variables[variable_type] does not have a valid value"}, 400)
    sha = _git(project, "rev-parse", "--verify", "-q", f"{body.get('ref', '')}^{{commit}}")
    if not body.get("ref") or sha.returncode:
        return _json({"message": {"base": ["Reference not found"]}}, 400)
    shown = _git(project, "show", f"{sha.stdout.decode().strip()}:.gitlab-ci.yml")
    if shown.returncode:
        return _json({"message": {"base": ["Missing CI config file"]}}, 400)
    config = yaml.safe_load(shown.stdout)
    values = {k: (v["value"] if isinstance(v, dict) else v) for k, v in (config.get("variables") or {}).items()}
    values.update({v["key"]: v["value"] for v in variables})
    pipeline = Pipeline(next(ci.ids), len(ci.pipelines) + 1, project.id, body["ref"], sha.stdout.decode().strip(),
                        [dict(v, variable_type=v.get("variable_type", "env_var")) for v in variables],
                        config.get("stages") or ["build", "test", "deploy"])  # fmt: skip
    ci.pipelines[pipeline.id] = pipeline
    for name, spec in config.items():
        if isinstance(spec, dict) and "script" in spec and not name.startswith("."):
            tags_ = [str(values.get(str(t).lstrip("$").strip("{}"), "")) if str(t).startswith("$") else str(t)
                     for t in spec.get("tags", [])]  # fmt: skip
            when = spec.get("when", "on_success")
            job = Job(next(ci.ids), pipeline.id, name, spec.get("stage", "test"), when, tags_,
                      status="manual" if when == "manual" else "created")  # fmt: skip
            ci.jobs[job.id] = job
    ci.refresh(pipeline.id)
    if ci.slow_create_answer:  # the pipeline exists, but the answer comes after the client gave up
        time.sleep(ci.slow_create_answer)
    return _json(ci.pipeline_json(pipeline), 201)


def _pipeline(gitlab, request, ref, pipeline_id, scopes=api.READ_SCOPES):
    user, project = _auth_project(gitlab, request, ref, scopes)
    if project is None:
        return user, None
    pipeline = gitlab.ci.pipelines.get(int(pipeline_id))
    if pipeline is None or pipeline.project_id != project.id:
        return _json({"message": "404 Not found"}, 404), None
    return user, pipeline


def list_pipelines(gitlab, request, ref):
    user, project = _auth_project(gitlab, request, ref)
    if project is None:
        return user
    if request.param("order_by") not in (None, "id") or request.param("sort") not in (None, "asc", "desc"):
        raise gitlab.violation(400, "unsupported order_by/sort")
    found = [p for p in gitlab.ci.pipelines.values()
             if p.project_id == project.id and request.param("ref") in (None, p.ref)]  # fmt: skip
    found.sort(key=lambda p: p.id, reverse=request.param("sort", "desc") == "desc")
    return api._page(request, [gitlab.ci.pipeline_json(p) for p in found])


def get_pipeline(gitlab, request, ref, pipeline_id):
    answer, pipeline = _pipeline(gitlab, request, ref, pipeline_id)
    return answer if pipeline is None else _json(gitlab.ci.pipeline_json(pipeline))


def pipeline_jobs(gitlab, request, ref, pipeline_id):
    answer, pipeline = _pipeline(gitlab, request, ref, pipeline_id)
    if pipeline is None:
        return answer
    retried = (request.param("include_retried") or "false") == "true"
    jobs = [j for j in gitlab.ci.jobs.values() if j.pipeline_id == pipeline.id and (retried or not j.retried)]
    return api._page(request, [gitlab.ci.job_json(j) for j in sorted(jobs, key=lambda j: -j.id)])


def pipeline_variables(gitlab, request, ref, pipeline_id):
    answer, pipeline = _pipeline(gitlab, request, ref, pipeline_id)
    return answer if pipeline is None else _json(pipeline.variables)


def cancel_pipeline(gitlab, request, ref, pipeline_id):
    answer, pipeline = _pipeline(gitlab, request, ref, pipeline_id, {"api"})
    if pipeline is None:
        return answer
    for job in gitlab.ci.jobs.values():
        if job.pipeline_id == pipeline.id and job.status in ("created", "pending", "running", "manual"):
            job.status = "canceled" if job.status != "manual" else "skipped"
    gitlab.ci.refresh(pipeline.id)
    return _json(gitlab.ci.pipeline_json(pipeline))


def _job(gitlab, request, ref, job_id, scopes=api.READ_SCOPES):
    user, project = _auth_project(gitlab, request, ref, scopes)
    if project is None:
        return user, None
    job = gitlab.ci.jobs.get(int(job_id))
    if job is None or gitlab.ci.pipelines[job.pipeline_id].project_id != project.id:
        return _json({"message": "404 Not found"}, 404), None
    return user, job


def get_job(gitlab, request, ref, job_id):
    answer, job = _job(gitlab, request, ref, job_id)
    return answer if job is None else _json(gitlab.ci.job_json(job))


def trace(gitlab, request, ref, job_id):
    from .server import Response

    answer, job = _job(gitlab, request, ref, job_id)
    if job is None:
        return answer
    body, status, headers = job.trace, 200, {"Content-Type": "text/plain"}
    wanted = request.headers.get("range", "")
    if gitlab.ci.honor_range and wanted.startswith("bytes="):
        start = int(wanted[6:].split("-")[0])
        if start >= len(body) and body:
            return Response(416, b"", {"Content-Range": f"bytes */{len(body)}"})
        body, status = body[start:], 206
        headers["Content-Range"] = f"bytes {start}-{start + max(len(body) - 1, 0)}/{len(job.trace)}"
    gitlab.ci.trace_bytes_sent += len(body)
    return Response(status, body, headers)


def retry_job(gitlab, request, ref, job_id):
    answer, job = _job(gitlab, request, ref, job_id, {"api"})
    if job is None:
        return answer
    if job.status not in ("success", "failed", "canceled"):
        return _json({"message": "403 Forbidden - Job is not retryable"}, 403)
    job.retried = True
    fresh = Job(next(gitlab.ci.ids), job.pipeline_id, job.name, job.stage, job.when, job.tags, status="pending")
    gitlab.ci.jobs[fresh.id] = fresh
    gitlab.ci.refresh(job.pipeline_id)
    return _json(gitlab.ci.job_json(fresh), 201)


def play_job(gitlab, request, ref, job_id):
    answer, job = _job(gitlab, request, ref, job_id, {"api"})
    if job is None:
        return answer
    if job.status != "manual":
        return _json({"message": "400 Bad request - Unplayable Job"}, 400)
    job.status = "pending"
    gitlab.ci.refresh(job.pipeline_id)
    return _json(gitlab.ci.job_json(job))


def artifact(gitlab, request, ref, job_id, path):
    from .server import Response

    answer, job = _job(gitlab, request, ref, job_id)
    if job is None:
        return answer
    if unquote(path) not in job.artifacts:
        return _json({"message": "404 Not Found"}, 404)
    return Response(200, job.artifacts[unquote(path)], {"Content-Type": "application/octet-stream"})


_P = r"/api/v4/projects/([^/]+)"
ROUTES = [
    ("GET", _P + r"/repository/branches", branches, ["search", *_PAGE]),
    ("GET", _P + r"/repository/tags", tags, ["search", "order_by", "sort", *_PAGE]),
    ("GET", _P + r"/repository/files/([^/]+)/raw", raw_file, ["ref", "lfs"]),
    ("POST", _P + r"/pipeline", create_pipeline, []),
    ("GET", _P + r"/pipelines", list_pipelines, ["order_by", "sort", "ref", "status", "scope", *_PAGE]),
    ("GET", _P + r"/pipelines/(\d+)", get_pipeline, []),
    ("GET", _P + r"/pipelines/(\d+)/jobs", pipeline_jobs, ["scope", "include_retried", *_PAGE]),
    ("GET", _P + r"/pipelines/(\d+)/variables", pipeline_variables, []),
    ("POST", _P + r"/pipelines/(\d+)/cancel", cancel_pipeline, []),
    ("GET", _P + r"/jobs/(\d+)", get_job, []),
    ("GET", _P + r"/jobs/(\d+)/trace", trace, []),
    ("POST", _P + r"/jobs/(\d+)/retry", retry_job, []),
    ("POST", _P + r"/jobs/(\d+)/play", play_job, []),
    ("GET", _P + r"/jobs/(\d+)/artifacts/(.+)", artifact, []),
]
