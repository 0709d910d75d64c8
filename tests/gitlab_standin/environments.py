"""TEST DOUBLE of GitLab's environments and deployments, following the CI jobs of the stand-in's
pipelines, and of tag creation (a ref for a pipeline at any commit).

Reproduced from gitlabhq:
* lib/gitlab/ci/pipeline/seed/environment.rb + seed/deployment.rb: creating a pipeline creates the
  environment named by a job's ``environment:`` (found or created) and the job's deployment
  (status ``created``, user/ref/sha of the job); app/models/environment.rb ``guess_tier``;
* app/models/concerns/ci/deployable.rb + app/models/deployment.rb (``sync_status_with``): the
  deployment's status follows its job (running, success, failed, canceled, skipped; a manual job
  waiting to be played leaves it ``created``); ``finished_at`` is set when it ends;
  app/services/ci/retry_job_service.rb: a retried job is a new job with a new deployment (GitLab's
  "Re-deploy to environment"); app/models/deployment.rb: ``deployed_by`` is the deployable's user
  (playing a job changes the job's user, not the deployment's);
* app/models/environment.rb ``has_one :last_deployment, -> { success.ordered }``;
* "Prevent outdated deployment jobs" (Ci::Deployable#has_outdated_deployment?, on by default): an
  older deployment job fails as it starts; retrying a finished one (the rollback) still runs;
* lib/api/environments.rb, lib/api/deployments.rb, app/finders/deployments_finder.rb (sorting,
  filters and their InefficientQueryError 400s), lib/api/entities/{environment,environment_basic,
  deployment}.rb, doc/api/deployments.md; read_environment/read_deployment are Reporter+ rules of
  app/policies/project_policy.rb;
* lib/api/tags.rb + app/services/tags/create_service.rb: ``POST /repository/tags`` needs
  ``admin_tag`` (Developer+), answers 201 with the tag, 400 with the service's message.

Install AFTER pipelines.install: ``envs = install(gitlab)``.
"""

from __future__ import annotations

import itertools
import re
import subprocess
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone

from . import api
from .ci_state import _iso
from .state import DEVELOPER, REPORTER

_JOB_TO_DEPLOYMENT = {"running": "running", "success": "success", "failed": "failed", "canceled": "canceled",
                      "skipped": "skipped"}  # fmt: skip
STATUSES = ("created", "running", "success", "failed", "canceled", "skipped", "blocked")  # Deployment.statuses
ORDERS = ("id", "iid", "created_at", "updated_at", "ref", "finished_at")  # DeploymentsFinder::ALLOWED_SORT_VALUES


@dataclass(eq=False)
class Environment:
    id: int
    project_id: int
    name: str
    external_url: str | None = None
    created: float = field(default_factory=time.time)
    updated: float = field(default_factory=time.time)

    @property
    def slug(self) -> str:
        """Gitlab::Slug::Environment, for the plain names tests use (lowercase, letters, digits, -)."""
        return re.sub(r"[^a-z0-9]+", "-", self.name.lower()).strip("-")[:24]

    @property
    def tier(self) -> str:
        """Environment#guess_tier."""
        for tier, pattern in (("development", r"dev|review|trunk"),
                              ("testing", r"test|tst|int|ac(ce|)pt|qa|qc|control|quality"),
                              ("staging", r"st(a|)g|mod(e|)l|pre|demo|non"), ("production", r"pr(o|)d|live")):  # fmt: skip
            if re.search(pattern, self.name, re.I):
                return tier
        return "other"


@dataclass(eq=False)
class Deployment:
    id: int
    iid: int
    project_id: int
    environment: Environment
    job_id: int
    ref: str
    sha: str
    user_id: int
    status: str = "created"
    created: float = field(default_factory=time.time)
    updated: float = field(default_factory=time.time)
    finished: float | None = None


class Environments:
    def __init__(self, gitlab) -> None:
        self.gitlab = gitlab
        self.environments: list[Environment] = []
        self.deployments: list[Deployment] = []
        self.ids = itertools.count(500)

    def environment(self, project_id: int, name: str) -> Environment:
        found = next((e for e in self.environments if e.project_id == project_id and e.name == name), None)
        if found is None:
            found = Environment(next(self.ids), project_id, name)
            self.environments.append(found)
        return found

    def follow(self, pipeline_id: int) -> None:
        """The CI state changed: new deployment jobs get their deployment, statuses follow jobs."""
        ci = self.gitlab.ci
        pipeline = ci.pipelines[pipeline_id]
        for job in sorted((j for j in ci.jobs.values() if j.pipeline_id == pipeline_id and j.environment),
                          key=lambda j: j.id):  # fmt: skip
            deployment = next((d for d in self.deployments if d.job_id == job.id), None)
            if deployment is None:
                iid = 1 + sum(1 for d in self.deployments if d.project_id == pipeline.project_id)
                deployment = Deployment(next(self.ids), iid, pipeline.project_id,
                                        self.environment(pipeline.project_id, job.environment), job.id,
                                        pipeline.ref, pipeline.sha, job.user_id)  # fmt: skip
                self.deployments.append(deployment)
            wanted = _JOB_TO_DEPLOYMENT.get(job.status, deployment.status)
            if wanted != deployment.status:
                deployment.status, deployment.updated = wanted, time.time()
                if wanted in ("success", "failed", "canceled", "skipped"):
                    deployment.finished = deployment.updated
                if wanted == "success":
                    deployment.environment.updated = deployment.updated

    def last_deployment(self, environment: Environment) -> Deployment | None:
        """Environment#last_deployment: ``success.ordered``, and Deployment's ``ordered`` scope is
        ``order(finished_at: :desc)`` (app/models/environment.rb, app/models/deployment.rb): the
        successful deployment that finished last, not the newest one."""
        done = [d for d in self.deployments if d.environment is environment and d.status == "success"]
        return max(done, key=lambda d: (d.finished or 0, d.id)) if done else None

    # ---- entities --------------------------------------------------------------------------------
    def environment_basic(self, e: Environment) -> dict:
        return {"id": e.id, "name": e.name, "slug": e.slug, "external_url": e.external_url,
                "created_at": _iso(e.created), "updated_at": _iso(e.updated)}  # fmt: skip

    def environment_json(self, e: Environment, detail: bool = False) -> dict:
        """Entities::Environment; GET one: with last_deployment (no environment in it), no project."""
        found = {**self.environment_basic(e), "tier": e.tier, "state": "available"}
        if not detail:
            project = self.gitlab.world.projects[e.project_id].to_json(self.gitlab.url)
            return {**found, "project": project}
        last = self.last_deployment(e)
        if last is not None:
            last = {k: v for k, v in self.deployment_json(last).items() if k != "environment"}
        return {**found, "last_deployment": last}

    def deployment_json(self, d: Deployment) -> dict:
        """Entities::Deployment: ``deployable`` is the job (Entities::Ci::Job, with its pipeline)."""
        ci = self.gitlab.ci
        return {"id": d.id, "iid": d.iid, "ref": d.ref, "sha": d.sha, "created_at": _iso(d.created),
                "updated_at": _iso(d.updated), "user": ci.user_json(d.user_id),
                "environment": self.environment_basic(d.environment), "deployable": ci.job_json(ci.jobs[d.job_id]),
                "status": d.status}  # fmt: skip


    def has_outdated_deployment(self, job) -> bool:
        """Ci::Deployable#has_outdated_deployment? (app/models/concerns/ci/deployable.rb): with
        "Prevent outdated deployment jobs" on, a job whose deployment is older than the
        environment's last successful one (Deployment#older_than_last_successful_deployment?:
        smaller id, other sha) — for a finished job only when rollback retries are not allowed."""
        deployment = next((d for d in self.deployments if d.job_id == job.id), None)
        project = self.gitlab.world.projects[self.gitlab.ci.pipelines[job.pipeline_id].project_id]
        incomplete = job.status not in ("success", "failed", "canceled", "skipped")  # Ci::HasStatus#incomplete?
        if deployment is None or not project.ci_forward_deployment_enabled:
            return False
        if project.ci_forward_deployment_rollback_allowed and not incomplete:
            return False
        last = self.last_deployment(deployment.environment)
        return not (last is None or last is deployment or last.sha == deployment.sha or deployment.id > last.id)

    def outdated(self, job) -> str | None:
        """Ci::ProcessBuildService#enqueue: an outdated job that would be queued is dropped with
        ``failed_outdated_deployment_job`` (doc/ci/environments/deployment_safety.md)."""
        return "failed_outdated_deployment_job" if self.has_outdated_deployment(job) else None

    def write_forbidden(self, job) -> bool:
        """Ci::DeployablePolicy: ``rule { has_outdated_deployment }.policy { prevent(*all_job_write_abilities) }``,
        and Ci::JobAbilities' write abilities include play_job and retry_job: the jobs API's play and
        retry of such a job answer 403 (lib/api/ci/jobs.rb ``authorize!(:play_job, job)``)."""
        return self.has_outdated_deployment(job)


def install(gitlab) -> Environments:
    gitlab.environments = Environments(gitlab)
    gitlab.ci.hooks.append(gitlab.environments.follow)
    gitlab.ci.start_checks.append(gitlab.environments.outdated)
    gitlab.ci.write_checks.append(gitlab.environments.write_forbidden)
    gitlab.routes = gitlab.routes + ROUTES
    return gitlab.environments


def _json(data, status=200, headers=None):
    from .server import Response

    return Response.json(data, status, headers)


def _reader(gitlab, request, ref, minimum=REPORTER, scopes=api.READ_SCOPES):
    """(user, project) or (GitLab's answer, None): ``authorize!`` is 403 below ``minimum``."""
    user, project = api._project(gitlab, request, ref, scopes)
    if project is not None and project.level(user) < minimum:
        return _json({"message": "403 Forbidden"}, 403), None
    return user, project


def list_environments(gitlab, request, ref):
    answer, project = _reader(gitlab, request, ref)
    if project is None:
        return answer
    name, search, states = request.param("name"), request.param("search"), request.param("states")
    if name and search:
        return _json({"error": "name, search are mutually exclusive"}, 400)
    if states not in (None, "available", "stopping", "stopped"):
        return _json({"error": "states does not have a valid value"}, 400)
    if search is not None and len(search) < 3:
        return _json({"message": "400 Bad request - Search query is less than 3 characters"}, 400)
    found = [e for e in gitlab.environments.environments if e.project_id == project.id
             and name in (None, e.name) and (search or "") in e.name and states in (None, "available")]  # fmt: skip
    return api._page(request, [gitlab.environments.environment_json(e) for e in found])


def _one(gitlab, request, ref, items, item_id, present):
    """GET one record of the project: ``find`` raises RecordNotFound, answered ``404 Not found``."""
    answer, project = _reader(gitlab, request, ref)
    if project is None:
        return answer
    found = next((x for x in items if x.project_id == project.id and x.id == int(item_id)), None)
    return _json({"message": "404 Not found"}, 404) if found is None else _json(present(found))


def get_environment(gitlab, request, ref, environment_id):
    envs = gitlab.environments
    return _one(gitlab, request, ref, envs.environments, environment_id, lambda e: envs.environment_json(e, True))


def _when(request, name):
    value = request.param(name)
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return "invalid"
    return (moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)).timestamp()


def list_deployments(gitlab, request, ref):
    """DeploymentsFinder: filters, then ORDER BY ``order_by`` (default id) ``sort`` (default asc)."""
    answer, project = _reader(gitlab, request, ref)
    if project is None:
        return answer
    order_by, sort, status = request.param("order_by", "id"), request.param("sort", "asc"), request.param("status")
    for name, value, allowed in (("order_by", order_by, ORDERS), ("sort", sort, ("asc", "desc")),
                                 ("status", status, (None, *STATUSES))):  # fmt: skip
        if value not in allowed:
            return _json({"error": f"{name} does not have a valid value"}, 400)
    bounds = {k: _when(request, k) for k in ("updated_after", "updated_before", "finished_after", "finished_before")}
    bad = [k for k, v in bounds.items() if v == "invalid"]
    if bad:
        return _json({"error": f"{bad[0]} is invalid"}, 400)
    by_updated = bounds["updated_after"] is not None or bounds["updated_before"] is not None
    by_finished = bounds["finished_after"] is not None or bounds["finished_before"] is not None
    refusal = None
    if by_updated and by_finished:
        refusal = "Both `updated_at` filter and `finished_at` filter can not be specified"
    elif by_finished != (order_by == "finished_at"):
        refusal = "`finished_at` filter and `finished_at` sorting must be paired"
    elif by_finished and status != "success":
        refusal = "`finished_at` filter must be combined with `success` status filter."
    if refusal:
        return _json({"message": f"400 Bad request - {refusal}"}, 400)
    if by_updated:  # optimize_sort_params!: the updated_at filter implies updated_at ordering
        order_by = "updated_at"
    environment = request.param("environment")

    def keep(d: Deployment) -> bool:
        """The bounds are inclusive (UpdatedAtFilterable, Deployment.finished_after/_before)."""
        moments = {"updated": d.updated, "finished": d.finished}
        for key, bound in bounds.items():
            column, _, side = key.partition("_")
            moment = moments[column]
            if bound is not None and (moment is None or (moment < bound if side == "after" else moment > bound)):
                return False
        return environment in (None, d.environment.name) and status in (None, d.status)

    found = [d for d in gitlab.environments.deployments if d.project_id == project.id and keep(d)]
    column = {"iid": "id", "created_at": "id"}.get(order_by, order_by)  # same order as id
    key = {"id": lambda d: d.id, "updated_at": lambda d: (d.updated, -d.id), "ref": lambda d: (d.ref, d.id),
           "finished_at": lambda d: (d.finished or 0, d.id)}[column]  # fmt: skip
    found.sort(key=key, reverse=sort == "desc")
    return api._page(request, [gitlab.environments.deployment_json(d) for d in found])


def get_deployment(gitlab, request, ref, deployment_id):
    envs = gitlab.environments
    return _one(gitlab, request, ref, envs.deployments, deployment_id, envs.deployment_json)


def create_tag(gitlab, request, ref):
    """POST /projects/:id/repository/tags: ``authorize_admin_tag`` then Tags::CreateService."""
    answer, project = _reader(gitlab, request, ref, DEVELOPER, {"api"})
    if project is None:
        return answer
    body = request.json()
    for name in ("tag_name", "ref"):
        if not body.get(name):
            return _json({"error": f"{name} is missing"}, 400)
    tag_name, target, message = body["tag_name"], body["ref"], body.get("message") or ""

    def git(*args):
        return subprocess.run(["git", *args], cwd=project.repo, capture_output=True, text=True)

    if git("check-ref-format", f"refs/tags/{tag_name}").returncode:
        return _json({"message": "Tag name invalid"}, 400)
    sha = git("rev-parse", "--verify", "-q", f"{target}^{{commit}}").stdout.strip()
    if not sha:
        return _json({"message": f"Target {target} is invalid"}, 400)
    if git("show-ref", "--verify", "-q", f"refs/tags/{tag_name}").returncode == 0:
        return _json({"message": f"Tag {tag_name} already exists"}, 400)
    if message:  # an annotated tag: its target is the tag object
        git("-c", "user.name=GitLab", "-c", "user.email=gitlab@example.com", "tag", "-a", tag_name, sha, "-m", message)
    else:
        git("update-ref", f"refs/tags/{tag_name}", sha, "0" * 40)
    target_sha = git("rev-parse", f"refs/tags/{tag_name}").stdout.strip()
    return _json({"name": tag_name, "message": message, "target": target_sha,
                  "commit": {"id": sha, "short_id": sha[:8]}, "release": None, "protected": False}, 201)  # fmt: skip


_P = r"/api/v4/projects/([^/]+)"
_PAGE = ["page", "per_page"]
ROUTES = [
    ("GET", _P + r"/environments", list_environments, ["name", "search", "states", *_PAGE]),
    ("GET", _P + r"/environments/(\d+)", get_environment, []),
    ("GET", _P + r"/deployments", list_deployments, ["order_by", "sort", "updated_after", "updated_before",
                                                     "finished_after", "finished_before", "environment", "status",
                                                     *_PAGE]),  # fmt: skip
    ("GET", _P + r"/deployments/(\d+)", get_deployment, []),
    ("POST", _P + r"/repository/tags", create_tag, []),
]
