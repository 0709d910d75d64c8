"""What serves production, and who may change it (design §5), for the two pipeline backends.

* GitLab: the deployments of the environment (``GET /projects/:id/deployments?environment=…
  &order_by=id&sort=desc``, doc/api/deployments.md), each joined to its pipeline through its
  ``deployable`` job; the deploy job is the one whose CI entry names the environment; who may run
  it: GitLab runs manual jobs for Developer and above (protected environments are a paid feature),
  read from the project's ``permissions`` (lib/api/entities/project.rb, ProjectWithAccess).
* Local: the record the local backend writes (``<store>/environments/<name>.json``,
  pipelines/local_store.py EnvironmentStore); the workspace's owner may do anything.

Both act on a pipeline's deploy job the same way: play it while it waits (manual), retry it once it
finished (GitLab's "Re-deploy to environment" retries the job), refuse while it runs.

Both apply GitLab's "Prevent outdated deployment jobs" (doc/ci/environments/deployment_safety.md, on
by default) before a deploy, so that a deploy GitLab would fail is refused first (``outdated``).
"""

from __future__ import annotations

import abc
from dataclasses import dataclass
from urllib.parse import quote

from ..pipelines import ci_file
from ..pipelines.errors import PipelineError
from ..pipelines.local_store import iso_to_epoch
from .errors import ModelsError, from_pipeline_error

DEVELOPER = 30
ROLES = {10: "Guest", 15: "Planner", 20: "Reporter", 30: "Developer", 40: "Maintainer", 50: "Owner"}
WAITING = {"manual"}
FINISHED = {"success", "failed", "canceled"}
RUNNING_JOB = {"created", "pending", "running", "preparing", "waiting_for_resource", "scheduled"}
COMPLETE = {"success", "failed", "canceled", "skipped"}  # Ci::HasStatus::COMPLETED_STATUSES (incomplete? = not these)


@dataclass(frozen=True)
class Slot:
    """Where a deployment stands in the environment's history: ``order`` as GitLab's deployment ids
    (made when the deploy job is made: at pipeline creation, or at a retry), its commit, and whether
    its job is complete."""

    order: tuple
    sha: str | None
    complete: bool


def last_success(deployments: list[dict]) -> dict | None:
    """The environment's ``last_deployment`` (app/models/environment.rb: ``success.ordered``, and
    app/models/deployment.rb ``ordered`` is ``finished_at`` descending): the deploy that ran last,
    so what serves. ``deployments`` are newest first: an equal time goes to the newer id."""
    return next(iter(successes(deployments)), None)


def successes(deployments: list[dict]) -> list[dict]:
    """The successful deployments, the last finished first (``last_success`` first)."""
    done = [d for d in deployments if d["status"] == "success"]
    return sorted(done, key=lambda d: d.get("finished_at") or d.get("created_at") or "", reverse=True)  # stable


def is_outdated(slot: Slot | None, last: Slot | None, forward_enabled: bool, rollback_allowed: bool) -> bool:
    """GitLab's rule, app/models/concerns/ci/deployable.rb ``has_outdated_deployment?``: with
    "Prevent outdated deployment jobs" on, a deploy job (incomplete, or any when rollbacks are not
    allowed) whose deployment is older than the environment's last successful one fails; same
    deployment or same commit is not older (app/models/deployment.rb
    ``older_than_last_successful_deployment?``). A finished job's retry (our rollback) is allowed by
    ``ci_forward_deployment_rollback_allowed`` (on by default)."""
    if not forward_enabled or slot is None or last is None:
        return False
    if slot.complete and rollback_allowed:
        return False
    if slot.order == last.order or (slot.sha and slot.sha == last.sha):
        return False
    return slot.order < last.order


def jobs_of(pipeline: dict) -> list[dict]:
    return [job for stage in pipeline.get("stages") or [] for job in stage.get("jobs") or []]


async def backend_call(coro):
    """A pipeline backend's call, its failures said the Models panel's way."""
    try:
        return await coro
    except PipelineError as exc:
        raise from_pipeline_error(exc) from None


class Environment(abc.ABC):
    """One environment of one project, over one pipeline backend."""

    kind = ""
    #: deployment statuses that mean a deploy is under way
    in_progress: set[str] = {"running"}

    def busy(self, deployments: list[dict]) -> dict | None:
        """The deployment under way, if any: running, or (GitLab) created with its job already
        queued — a played job's deployment stays ``created`` until a runner picks the job up."""
        for deployment in deployments:
            queued = deployment["status"] == "created" and deployment.get("job_status") in RUNNING_JOB - {"created"}
            if deployment["status"] in self.in_progress or queued:
                return deployment
        return None

    def __init__(self, backend, project: str, name: str = "production") -> None:
        self.backend, self.project, self.name = backend, project, name

    @abc.abstractmethod
    async def deployments(self) -> list[dict]:
        """Newest first: ``{id, status, pipeline_id, created_at, finished_at, user, url, job_id}``."""

    @abc.abstractmethod
    async def can_deploy(self) -> dict:
        """``{allowed, role, needs}``: may this user run the deploy job."""

    @abc.abstractmethod
    async def deploy_job_names(self, pipeline: dict) -> set[str]:
        """The names of the pipeline's jobs that deploy to this environment."""

    def forward_deployment(self) -> tuple[bool, bool]:
        """``(ci_forward_deployment_enabled, ci_forward_deployment_rollback_allowed)``: GitLab's defaults."""
        return True, True

    @abc.abstractmethod
    async def slots(self, deployments: list[dict], pipeline_ids: set[int]) -> tuple[Slot | None, dict[int, Slot]]:
        """The last successful deployment's slot, and the slot a deploy of each pipeline would run in."""

    async def outdated(self, deployments: list[dict], pipeline_ids: set[int]) -> set[int]:
        """The pipelines whose deploy GitLab would fail as outdated (``is_outdated``)."""
        forward, rollback = self.forward_deployment()
        if not forward:
            return set()
        last, slots = await self.slots(deployments, pipeline_ids)
        return {pid for pid, slot in slots.items() if is_outdated(slot, last, forward, rollback)}

    async def deploy_job(self, pipeline_id: int) -> tuple[dict, dict]:
        """The pipeline and its current deploy job; ``deploy_job_missing`` when it has none."""
        pipeline = await backend_call(self.backend.pipeline(self.project, pipeline_id))
        names = await self.deploy_job_names(pipeline)
        jobs = [job for job in jobs_of(pipeline) if job["name"] in names]
        if not jobs:
            raise ModelsError("deploy_job_missing", details=f"pipeline {pipeline_id} has no job for {self.name}")
        return pipeline, jobs[-1]

    @staticmethod
    def check_runnable(job: dict) -> None:
        """Every check before the deploy job is touched: waiting or finished, nothing else."""
        if job["status"] in RUNNING_JOB:
            raise ModelsError("deploy_in_progress", details=f"job {job['name']} is {job['status']}")
        if job["status"] not in WAITING | FINISHED:
            raise ModelsError("deploy_job_missing", details=f"job {job['name']} is {job['status']}")

    async def run(self, pipeline_id: int, job: dict) -> dict:
        """Play the deploy job (manual) or retry it (finished): the one write."""
        call = self.backend.play if job["status"] in WAITING else self.backend.retry
        view = await backend_call(call(self.project, pipeline_id, job["id"]))
        current = [j for j in jobs_of(view) if j["name"] == job["name"]]
        status = current[-1]["status"] if current else "created"
        return {"pipeline_id": pipeline_id, "job": job["name"], "job_id": current[-1]["id"] if current else None,
                "deployment_status": "running" if status == "running" else "created"}  # fmt: skip


class LocalEnvironment(Environment):
    kind = "local"
    in_progress = {"created", "running"}  # recorded only once a deploy job is started

    async def deployments(self) -> list[dict]:
        found = [d for d in self.backend.environments.deployments(self.name) if d.get("project") == self.project]
        return [{"id": d.get("id"), "status": d.get("status"), "pipeline_id": d.get("pipeline_id"),
                 "created_at": d.get("created_at"), "finished_at": d.get("finished_at"), "user": d.get("user", ""),
                 "url": None, "job_id": d.get("job_id"), "sha": d.get("sha")}
                for d in reversed(found)]  # fmt: skip

    async def can_deploy(self) -> dict:
        return {"allowed": True, "role": "Owner", "needs": "Developer"}  # the workspace is the user's own

    async def deploy_job_names(self, pipeline: dict) -> set[str]:
        record = self.backend.store.load(pipeline["id"])
        return {name for name, environment in self.backend.job_environments(record).items() if environment == self.name}

    async def slots(self, deployments: list[dict], pipeline_ids: set[int]) -> tuple[Slot | None, dict[int, Slot]]:
        """The same order as GitLab's: a deploy job's deployment is made with its pipeline (a manual
        job never played has one already), a retry's when it is retried. Local records have no
        deployment before a job runs, so the order is the pipeline's creation time, or the retry's."""
        records = {r["id"]: r for r in self.backend.store.records(self.project, limit=1000)}

        def order(d: dict) -> tuple:
            record = records.get(d["pipeline_id"]) or {}
            jobs = record.get("jobs") or []
            job = next((j for j in jobs if j.get("id") == d.get("job_id")), None)
            first = next((j for j in jobs if job and j.get("name") == job.get("name")), None)
            if job is not None and job is first:  # the pipeline's own deploy job, not a retry
                return (iso_to_epoch(record.get("created_at")) or 0.0, 0, d["pipeline_id"])
            return (iso_to_epoch(d.get("created_at")) or 0.0, 1, d["id"] or 0)

        done = last_success(deployments)
        last = Slot(order(done), done.get("sha"), True) if done else None
        slots = {}
        for pid in pipeline_ids:
            mine = [d for d in deployments if d["pipeline_id"] == pid]
            if mine:
                slots[pid] = Slot(order(mine[0]), mine[0].get("sha"), mine[0]["status"] in COMPLETE)
            elif pid in records:
                record = records[pid]
                slots[pid] = Slot((iso_to_epoch(record.get("created_at")) or 0.0, 0, pid), record.get("sha"), False)
        return last, slots


class GitLabEnvironment(Environment):
    kind = "gitlab"

    def __init__(self, backend, project: str, name: str = "production", info: dict | None = None) -> None:
        super().__init__(backend, project, name)
        self.info = info or {}
        self.base = f"/projects/{quote(project, safe='')}"

    async def _json(self, path: str, query: dict | None = None, not_found: str = "unknown_project"):
        return await backend_call(self.backend.get_json(self.base + path, query, not_found=not_found))

    async def deployments(self) -> list[dict]:
        query = {"environment": self.name, "order_by": "id", "sort": "desc", "per_page": 50}
        found = await self._json("/deployments", query)
        web = self.info.get("web_url", "")
        result = []
        for d in found:
            job = d.get("deployable") or {}
            result.append({
                "id": d.get("id"), "status": d.get("status"), "pipeline_id": (job.get("pipeline") or {}).get("id"),
                "created_at": d.get("created_at"), "finished_at": d.get("finished_at") or d.get("updated_at"),
                "user": (d.get("user") or {}).get("username", ""), "job_id": job.get("id"), "sha": d.get("sha"),
                "job_status": job.get("status"),
                "url": job.get("web_url") or (f"{web}/-/jobs/{job['id']}" if web and job.get("id") else None),
            })  # fmt: skip
        return result

    def forward_deployment(self) -> tuple[bool, bool]:
        """The project's settings, where GitLab shows them: lib/api/entities/project.rb exposes
        ``ci_forward_deployment_enabled`` and ``ci_forward_deployment_rollback_allowed`` only to
        users with ``admin_project`` (Maintainer+). Unseen (Developer), GitLab's defaults (both on,
        app/models/project_ci_cd_setting.rb): a Developer is refused what a Maintainer turned off."""
        forward = self.info.get("ci_forward_deployment_enabled")
        rollback = self.info.get("ci_forward_deployment_rollback_allowed")
        return forward is not False, rollback is not False

    async def slots(self, deployments: list[dict], pipeline_ids: set[int]) -> tuple[Slot | None, dict[int, Slot]]:
        """Deployment ids (``last_success``: GitLab's ``last_deployment``); a pipeline's deploy runs in its newest deployment (a manual job's is made with the
        pipeline, lib/gitlab/ci/pipeline/seed/deployment.rb)."""
        done = last_success(deployments)
        last = Slot((done["id"],), done.get("sha"), True) if done else None
        slots = {}
        for d in deployments:  # newest first
            if d["pipeline_id"] in pipeline_ids and d["pipeline_id"] not in slots:
                slots[d["pipeline_id"]] = Slot((d["id"],), d.get("sha"), d.get("job_status") in COMPLETE)
        return last, slots

    async def can_deploy(self) -> dict:
        permissions = self.info.get("permissions") or {}
        levels = [(permissions.get(k) or {}).get("access_level") or 0 for k in ("project_access", "group_access")]
        level = max(levels)
        if not level:  # GitLab answered without the user's access: offered, and GitLab decides at play time
            return {"allowed": True, "role": "", "needs": "Developer"}
        role = next((ROLES[k] for k in sorted(ROLES, reverse=True) if level >= k), "")
        return {"allowed": level >= DEVELOPER, "role": role, "needs": "Developer"}

    async def deploy_job_names(self, pipeline: dict) -> set[str]:
        path = f"/repository/files/{quote('.gitlab-ci.yml', safe='')}/raw"
        text = await backend_call(self.backend.get_text(self.base + path, {"ref": pipeline["sha"]}, not_found="no_ci_file"))
        try:
            jobs = ci_file.jobs(ci_file.load(text))
        except PipelineError:
            jobs = {}
        return {name for name, job in jobs.items() if job["environment"] == self.name} or {"deploy"}

    async def create_tag(self, name: str, sha: str) -> None:
        """``POST /projects/:id/repository/tags`` (Developer+; lib/api/tags.rb): a ref for a pipeline at ``sha``."""
        await backend_call(self.backend.post_json(self.base + "/repository/tags", {"tag_name": name, "ref": sha}))

    async def tags(self, prefix: str) -> list[str]:
        found = await self._json("/repository/tags", {"search": f"^{prefix}", "per_page": 100})
        return [t["name"] for t in found if str(t.get("name", "")).startswith(prefix)]
