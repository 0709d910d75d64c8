"""TEST DOUBLE of GitLab's CI/CD API: pipelines, jobs, traces, artifacts, branches, tags and
raw files, for hybridhub's pipeline panel. Shapes follow https://docs.gitlab.com/api/pipelines/
and https://docs.gitlab.com/api/jobs/ (trimmed to documented fields).

Install on a stand-in with ``ci = install(gitlab)``; the test drives runners by hand
(``ci.start(job)``, ``ci.write(job, text)``, ``ci.finish(job, "success")``). Strict like the
rest of the stand-in: unknown paths, methods or query parameters fail the test; bad variables
and bodies are 400s with GitLab's messages. Protected refs and the project's minimum role for
pipeline variables refuse as GitLab does (see create_pipeline); on a protected branch the user
may not update, cancel, retry and play answer 403. The trace endpoint ignores ``Range`` (GitLab's API
documents none) unless ``honor_range`` is set, and counts the bytes it sends.
"""

from __future__ import annotations

import subprocess
import time
from urllib.parse import unquote

import yaml

from . import api, ci_rules
from .ci_state import CiState, Job, Pipeline
from .protection import can_push_to_branch, can_update_branch, protection_for
from .state import DEVELOPER, MAINTAINER, OWNER

_PAGE = ["page", "per_page"]
_VAR_TYPES = {"env_var", "file"}


# lib/gitlab/ci/pipeline/chain/validate/abilities.rb (GitLab 16+; before, "Insufficient permissions for
# protected ref '<ref>'") and lib/gitlab/ci/pipeline/chain/build/associations.rb; both reach the client
# through render_validation_error! as 400 {"message": {"base": [...]}} (lib/api/ci/pipelines.rb)
_REF_REFUSED = ("You do not have sufficient permission to run a pipeline on '{ref}'. Please select a different "
                "branch or contact your administrator for assistance.")  # fmt: skip
_VARIABLES_REFUSED = "Insufficient permissions to set pipeline variables"
# app/models/project_ci_cd_setting.rb: override_pipeline_variables_allowed?
_VARIABLE_ROLES = {"no_one_allowed": None, "developer": DEVELOPER, "maintainer": MAINTAINER, "owner": OWNER}


def may_set_variables(project, level: int) -> bool:
    minimum = _VARIABLE_ROLES[project.ci_pipeline_variables_minimum_override_role]
    return minimum is not None and level >= minimum


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
    rules, level = project.rules(), project.level(user)
    rule = lambda n: protection_for(rules, n)  # noqa: E731
    items = [{"name": n, "merged": False, "protected": rule(n) is not None, "default": n == project.default_branch,
              "developers_can_push": rule(n) is not None and rule(n).push_access_level == DEVELOPER,
              "developers_can_merge": rule(n) is not None and rule(n).merge_access_level == DEVELOPER,
              "can_push": can_push_to_branch(rules, level, n),
              "web_url": f"{gitlab.url}/{project.path_with_namespace}/-/tree/{n}", "commit": {"id": sha}}
             for n, sha in (line.split() for line in out.splitlines())]  # fmt: skip
    return api._page(request, items)


def tags(gitlab, request, ref):
    user, project = _auth_project(gitlab, request, ref)
    if project is None:
        return user
    out = _git(project, "for-each-ref", "--format=%(refname:short) %(objectname) %(*objectname)",
               "refs/tags").stdout.decode()  # fmt: skip
    search = request.param("search") or ""

    def wanted(name: str) -> bool:
        """TagsFinder search: ``^text`` begins, ``text$`` ends, else contains (doc/api/tags.md)."""
        if search.startswith("^"):
            return name.startswith(search[1:])
        return name.endswith(search[:-1]) if search.endswith("$") else search in name

    items = [{"name": n, "message": "", "target": sha, "commit": {"id": (peeled or [sha])[0]}, "release": None,
              "protected": False}
             for n, sha, *peeled in (line.split() for line in out.splitlines()) if wanted(n)]  # fmt: skip
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


def commit(gitlab, request, ref, sha):
    """GET /projects/:id/repository/commits/:sha, ``sha`` a hash, branch or tag (docs: api/commits)."""
    user, project = _auth_project(gitlab, request, ref)
    if project is None:
        return user
    shown = _git(project, "show", "-s", "--format=%H%n%s%n%an%n%ae%n%cI", f"{unquote(sha)}^{{commit}}", "--")
    if shown.returncode:
        return _json({"message": "404 Commit Not Found"}, 404)
    full, title, name, email, when = shown.stdout.decode().splitlines()[:5]
    return _json({"id": full, "short_id": full[:8], "title": title, "message": title, "author_name": name,
                  "author_email": email, "created_at": when, "committed_date": when, "parent_ids": [],
                  "web_url": f"{gitlab.url}/{project.path_with_namespace}/-/commit/{full}"})  # fmt: skip


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
    if any(v.get("variable_type", "env_var") not in _VAR_TYPES for v in variables):  # grape's params check
        return _json({"message": "variables[variable_type] does not have a valid value"}, 400)
    ref_name, level = body.get("ref") or "", project.level(user)
    is_branch = _git(project, "show-ref", "--verify", "-q", f"refs/heads/{ref_name}").returncode == 0
    if is_branch and not can_update_branch(project.rules(), level, ref_name):  # Chain::Validate::Abilities
        return _json({"message": {"base": [_REF_REFUSED.format(ref=ref_name)]}}, 400)
    sha = _git(project, "rev-parse", "--verify", "-q", f"{ref_name}^{{commit}}")
    if not ref_name or sha.returncode:  # Chain::Validate::Repository
        return _json({"message": {"base": ["Reference not found"]}}, 400)
    if variables and not may_set_variables(project, level):  # Chain::Build::Associations
        return _json({"message": {"base": [_VARIABLES_REFUSED]}}, 400)
    if any(set(v) - {"key", "value", "variable_type"} or not isinstance(v.get("key"), str) for v in variables):
        return _json({"message": {"base": ["Variables key is invalid"]}}, 400)
    shown = _git(project, "show", f"{sha.stdout.decode().strip()}:.gitlab-ci.yml")
    if shown.returncode:
        return _json({"message": {"base": ["Missing CI config file"]}}, 400)
    config = yaml.safe_load(shown.stdout)
    # variables for rules:if, lowest precedence first (doc/ci/variables/_index.md, "CI/CD variable
    # precedence"): predefined (CI_PIPELINE_SOURCE "api": doc/ci/variables/predefined_variables.md), the
    # file's, the pipeline's
    values = {"CI_PIPELINE_SOURCE": "api"}
    values.update({k: (v["value"] if isinstance(v, dict) else v) for k, v in (config.get("variables") or {}).items()})
    values.update({v["key"]: v["value"] for v in variables})
    pipeline = Pipeline(next(ci.ids), len(ci.pipelines) + 1, project.id, body["ref"], sha.stdout.decode().strip(),
                        [dict(v, variable_type=v.get("variable_type", "env_var")) for v in variables],
                        config.get("stages") or ["build", "test", "deploy"], user.id)  # fmt: skip
    pipeline.tag = not is_branch and _git(project, "show-ref", "--verify", "-q", f"refs/tags/{ref_name}").returncode == 0
    ci.pipelines[pipeline.id] = pipeline
    for name, spec in config.items():
        if isinstance(spec, dict) and "script" in spec and not name.startswith("."):
            tags_ = [str(values.get(str(t).lstrip("$").strip("{}"), "")) if str(t).startswith("$") else str(t)
                     for t in spec.get("tags", [])]  # fmt: skip
            when, allow_failure = ci_rules.evaluate(spec, values)
            if when == "never":  # no rule matched: the job is not created (ci_rules.py)
                continue
            if allow_failure is None and "rules" in spec:  # doc/ci/yaml: a manual job of rules is allow_failure: false
                allow_failure = False
            environment = spec.get("environment")  # a name, or a hash with ``name`` (CI YAML keyword)
            job = Job(next(ci.ids), pipeline.id, name, spec.get("stage", "test"), when, tags_,
                      status="manual" if when == "manual" else "created", user_id=user.id,
                      environment=environment.get("name") if isinstance(environment, dict) else environment,
                      allow_failure=allow_failure)  # fmt: skip
            ci.jobs[job.id] = job
    ci.refresh(pipeline.id)
    if ci.slow_create_answer:  # the pipeline exists, but the answer comes after the client gave up
        time.sleep(ci.slow_create_answer)
    return _json(ci.pipeline_json(pipeline, metadata=False), 201)


def _pipeline(gitlab, request, ref, pipeline_id, scopes=api.READ_SCOPES):
    user, project = _auth_project(gitlab, request, ref, scopes)
    if project is None:
        return user, None
    pipeline = gitlab.ci.pipelines.get(int(pipeline_id))
    if pipeline is None or pipeline.project_id != project.id:
        return _json({"message": "404 Not found"}, 404), None
    if scopes == {"api"} and _ref_protected_from(project, user, pipeline.ref):
        return _json({"message": "403 Forbidden"}, 403), None
    return user, pipeline


def _ref_protected_from(project, user, ref: str) -> bool:
    """The ``protected_ref`` condition of app/policies/ci/pipeline_policy.rb and build_policy.rb:
    on a branch the user may neither push nor merge to, cancel, retry and play are prevented."""
    is_branch = _git(project, "show-ref", "--verify", "-q", f"refs/heads/{ref}").returncode == 0
    return is_branch and not can_update_branch(project.rules(), project.level(user), ref)


def list_pipelines(gitlab, request, ref):
    user, project = _auth_project(gitlab, request, ref)
    if project is None:
        return user
    if request.param("order_by") not in (None, "id") or request.param("sort") not in (None, "asc", "desc"):
        raise gitlab.violation(400, "unsupported order_by/sort")
    scope = request.param("scope")
    if scope in ("branches", "tags") or scope not in (None, "running", "pending", "finished"):
        raise gitlab.violation(400, f"unsupported scope {scope!r}")
    scoped = {"running": {"running"}, "pending": {"pending"}, "finished": {"success", "failed", "canceled", "skipped"}}
    users = gitlab.world.users
    wanted = {"ref": lambda p: p.ref, "sha": lambda p: p.sha, "status": lambda p: p.status,
              "source": lambda p: p.source, "username": lambda p: users[p.user_id].username}  # fmt: skip
    found = [p for p in gitlab.ci.pipelines.values() if p.project_id == project.id
             and all(request.param(k) in (None, value(p)) for k, value in wanted.items())
             and (scope is None or p.status in scoped[scope])]  # fmt: skip
    found.sort(key=lambda p: p.id, reverse=request.param("sort", "desc") == "desc")
    return api._page(request, [gitlab.ci.basic_json(p) for p in found])  # PipelineBasic: no timings


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
    return _json(gitlab.ci.pipeline_json(pipeline, metadata=False))


def _job(gitlab, request, ref, job_id, scopes=api.READ_SCOPES):
    user, project = _auth_project(gitlab, request, ref, scopes)
    if project is None:
        return user, None
    job = gitlab.ci.jobs.get(int(job_id))
    if job is None or gitlab.ci.pipelines[job.pipeline_id].project_id != project.id:
        return _json({"message": "404 Not found"}, 404), None
    if scopes == {"api"} and _ref_protected_from(project, user, gitlab.ci.pipelines[job.pipeline_id].ref):
        return _json({"message": "403 Forbidden"}, 403), None
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
    answer, job = _job(gitlab, request, ref, job_id, {"api"})  # answer: the user, when there is a job
    if job is None:
        return answer
    if any(check(job) for check in gitlab.ci.write_checks):
        return _json({"message": "403 Forbidden"}, 403)
    if job.status not in ("success", "failed", "canceled"):
        return _json({"message": "403 Forbidden - Job is not retryable"}, 403)
    job.retried = True
    # Ci::RetryJobService clones the job for the user who retries it (a deployment job gets a new deployment)
    fresh = Job(next(gitlab.ci.ids), job.pipeline_id, job.name, job.stage, job.when, job.tags, status="pending",
                user_id=answer.id, environment=job.environment, allow_failure=job.allow_failure)  # fmt: skip
    gitlab.ci.jobs[fresh.id] = fresh
    gitlab.ci.refresh(job.pipeline_id)
    return _json(gitlab.ci.job_json(fresh), 201)


def play_job(gitlab, request, ref, job_id):
    answer, job = _job(gitlab, request, ref, job_id, {"api"})
    if job is None:
        return answer
    if any(check(job) for check in gitlab.ci.write_checks):  # authorize!(:play_job, job) comes first
        return _json({"message": "403 Forbidden"}, 403)
    if job.status != "manual":
        return _json({"message": "400 Bad request - Unplayable Job"}, 400)
    job.status, job.user_id = "pending", answer.id  # Ci::PlayBuildService: the player runs it
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
    ("GET", _P + r"/repository/commits/([^/]+)", commit, []),
    ("GET", _P + r"/pipelines", list_pipelines, ["order_by", "sort", "ref", "sha", "status", "scope", "source",
                                                 "username", *_PAGE]),  # fmt: skip
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
