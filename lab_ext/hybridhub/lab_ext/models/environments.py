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
"""

from __future__ import annotations

import abc
from urllib.parse import quote

from ..pipelines import ci_file
from ..pipelines.errors import PipelineError
from .errors import ModelsError, from_pipeline_error

DEVELOPER = 30
ROLES = {10: "Guest", 15: "Planner", 20: "Reporter", 30: "Developer", 40: "Maintainer", 50: "Owner"}
WAITING = {"manual"}
FINISHED = {"success", "failed", "canceled"}
RUNNING_JOB = {"created", "pending", "running", "preparing", "waiting_for_resource", "scheduled"}


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


class GitLabEnvironment(Environment):
    kind = "gitlab"

    def __init__(self, backend, project: str, name: str = "production", info: dict | None = None) -> None:
        super().__init__(backend, project, name)
        self.info = info or {}
        self.base = f"/projects/{quote(project, safe='')}"

    async def _json(self, path: str, query: dict | None = None, not_found: str = "unknown_project"):
        return await backend_call(self.backend._json(self.base + path, query, not_found=not_found))

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
        response = await backend_call(self.backend._call("get", self.base + path, query_data={"ref": pipeline["sha"]},
                                                         not_found="no_ci_file"))  # fmt: skip
        try:
            jobs = ci_file.jobs(ci_file.load(response.content.decode("utf-8", "replace")))
        except PipelineError:
            jobs = {}
        return {name for name, job in jobs.items() if job["environment"] == self.name} or {"deploy"}

    async def create_tag(self, name: str, sha: str) -> None:
        """``POST /projects/:id/repository/tags`` (Developer+; lib/api/tags.rb): a ref for a pipeline at ``sha``."""
        await backend_call(self.backend._call("post", self.base + "/repository/tags",
                                              post_data={"tag_name": name, "ref": sha}))  # fmt: skip

    async def tags(self, prefix: str) -> list[str]:
        found = await self._json("/repository/tags", {"search": f"^{prefix}", "per_page": 100})
        return [t["name"] for t in found if str(t.get("name", "")).startswith(prefix)]
