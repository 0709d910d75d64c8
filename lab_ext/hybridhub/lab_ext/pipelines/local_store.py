"""Local pipelines on disk: ``<workspace>/.hybridhub/pipelines/<id>/``.

Each run keeps ``pipeline.json`` (the record: no secrets, only what the user typed),
``src/`` (a shared clone at the pipeline's commit, where gitlab-ci-local keeps its state in
``src/.gitlab-ci-local/``) and ``logs/<job id>.log`` (the logs of finished jobs, secrets masked).
"""

from __future__ import annotations

import calendar
import contextlib
import json
import os
import time
from pathlib import Path

from .. import workspace
from . import ci_file
from .errors import PipelineError
from .masking import Masker

STORE_DIR = ".hybridhub/pipelines"
KEEP = 30


def now_iso() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def iso_to_epoch(value: str | None) -> float | None:
    if not value:
        return None
    return float(calendar.timegm(time.strptime(value, "%Y-%m-%dT%H:%M:%SZ")))


class PipelineStore:
    """Runs below the workspace root, written only through :mod:`hybridhub.lab_ext.workspace`:
    a ``.hybridhub`` or ``pipelines`` folder that is a symbolic link (a cloned repository may
    hold one) is refused (``invalid_path``), never followed."""

    def __init__(self, root: str | os.PathLike) -> None:
        self.root = workspace.real_root(root)
        self.base = self.root / STORE_DIR

    def _parts(self, *names: str | int) -> list[str]:
        return STORE_DIR.split("/") + [str(name) for name in names]

    def ensure(self) -> None:
        workspace.make_folder(self.root, self._parts(), error=PipelineError)
        try:  # runs, clones and logs never show up in the user's git status
            workspace.write_bytes(self.root, self._parts(".gitignore"), b"*\n", mode=0o644, error=PipelineError)
        except PipelineError as exc:
            if exc.reason != "file_exists":
                raise

    def run_dir(self, pipeline_id: int) -> Path:
        return self.base / str(int(pipeline_id))

    def ids(self) -> list[int]:
        try:
            entries = workspace.folder_entries(self.root, self._parts(), error=PipelineError)
        except FileNotFoundError:
            return []
        return sorted((int(name) for name, is_dir in entries.items() if name.isdigit() and is_dir), reverse=True)

    def next_id(self) -> int:
        self.ensure()
        ids = self.ids()
        candidate = (ids[0] if ids else 0) + 1
        while True:
            try:
                workspace.make_folder(self.root, self._parts(candidate), exist_ok=False, error=PipelineError)
                return candidate
            except FileExistsError:
                candidate += 1

    def load(self, pipeline_id: int) -> dict:
        try:
            data = workspace.read_bytes(self.root, self._parts(int(pipeline_id), "pipeline.json"), error=PipelineError)
            return json.loads(data.decode("utf-8"))
        except (OSError, ValueError, PipelineError):
            raise PipelineError("unknown_pipeline") from None

    def save(self, record: dict) -> None:
        data = json.dumps(record, indent=1).encode("utf-8")
        workspace.write_bytes(
            self.root, self._parts(int(record["id"]), "pipeline.json"), data, overwrite=True, create_parents=True,
            prefix=".pipeline-", suffix=".json", error=PipelineError,
        )  # fmt: skip

    def keep_log(self, pipeline_id: int, job_id: int, live: Path, masker: Masker) -> None:
        """Copy a finished job's live log, its secrets masked, to ``logs/<job id>.log`` of the run."""
        with open(live, "rb") as source, workspace.atomic_file(
            self.root, self._parts(int(pipeline_id), "logs", f"{int(job_id)}.log"), overwrite=True,
            create_parents=True, mode=0o644, error=PipelineError,
        ) as target:  # fmt: skip
            masker.copy(source, target)

    def mask_file(self, path: Path, masker: Masker) -> None:
        """Rewrite a file of the store (gitlab-ci-local's live log of a kept job) masked, in one step."""
        with open(path, "rb") as source, workspace.atomic_file(
            self.root, workspace.relative_parts(self.root, path), overwrite=True, mode=0o644, error=PipelineError,
        ) as target:  # fmt: skip
            masker.copy(source, target)

    def records(self, project: str | None = None, limit: int = 20) -> list[dict]:
        found = []
        for pipeline_id in self.ids():
            try:
                record = self.load(pipeline_id)
            except PipelineError:
                continue
            if project is None or record.get("project") == project:
                found.append(record)
            if len(found) >= limit:
                break
        return found

    def prune(self, active: set[int]) -> None:
        """Keep the newest runs; older clones and logs go (their records too)."""
        for pipeline_id in self.ids()[KEEP:]:
            if pipeline_id not in active:
                with contextlib.suppress(OSError, PipelineError):
                    workspace.remove_tree(self.root, self._parts(pipeline_id), error=PipelineError)


def read_metrics(src: Path) -> dict | None:
    """Numbers from the newest ``metrics.json`` among the jobs' artifacts.

    The template writes ``{"metrics": {...}, ...}``; a flat object of numbers works too.
    """
    artifacts = src / ".gitlab-ci-local" / "artifacts"
    if not artifacts.is_dir():
        return None
    candidates = sorted(artifacts.glob("*/metrics.json"), key=lambda p: p.stat().st_mtime, reverse=True)
    for path in candidates:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        values = data.get("metrics", data) if isinstance(data, dict) else None
        if isinstance(values, dict):
            numbers = {k: v for k, v in values.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
            if numbers:
                return numbers
    return None


#: a job's status -> its deployment's (GitLab's deployment follows its job the same way:
#: app/models/deployment.rb's state machine, driven by Ci::Build transitions)
DEPLOYMENT_STATUS = {"created": "created", "pending": "created", "manual": "created", "running": "running",
                     "success": "success", "failed": "failed", "canceled": "canceled", "skipped": "canceled"}  # fmt: skip
ENVIRONMENTS_DIR = "environments"


class EnvironmentStore:
    """Deployments of local runs (design §5): ``<store>/environments/<name>.json`` =
    ``{"deployments": [{id, status, pipeline_id, job, job_id, project, sha, ref, user, created_at,
    finished_at}]}``, newest last. Written whole and atomically (a reader never sees half a file),
    only from the server's event loop, so a read-change-write is never interleaved."""

    def __init__(self, store: PipelineStore) -> None:
        self.store = store

    def _parts(self, name: str) -> list[str]:
        if not name or "/" in name or name.startswith("."):
            raise PipelineError("invalid_request", details="an environment name is one word")
        return self.store._parts(ENVIRONMENTS_DIR, f"{name}.json")

    def deployments(self, name: str) -> list[dict]:
        parts = self._parts(name)
        try:
            data = json.loads(workspace.read_bytes(self.store.root, parts, error=PipelineError))
        except (OSError, ValueError, PipelineError):
            return []
        found = data.get("deployments") if isinstance(data, dict) else None
        return [d for d in found if isinstance(d, dict)] if isinstance(found, list) else []

    def _save(self, name: str, deployments: list[dict]) -> None:
        data = json.dumps({"deployments": deployments}, indent=1).encode("utf-8")
        workspace.write_bytes(self.store.root, self._parts(name), data, overwrite=True, create_parents=True,
                              prefix=".environment-", suffix=".json", error=PipelineError)  # fmt: skip

    def follow(self, name: str, record: dict, job: dict) -> dict:
        """The deployment of this run of ``job`` (made on its first call), its status following the job's."""
        deployments = self.deployments(name)
        status = DEPLOYMENT_STATUS.get(job["status"], "created")
        for deployment in deployments:
            if deployment.get("pipeline_id") == record["id"] and deployment.get("job_id") == job["id"]:
                if deployment.get("status") == status:
                    return deployment
                break
        else:
            deployment = {"id": max((int(d.get("id") or 0) for d in deployments), default=0) + 1,
                          "pipeline_id": record["id"], "job": job["name"], "job_id": job["id"],
                          "project": record.get("project"), "sha": record.get("sha"), "ref": record.get("ref"),
                          "user": os.environ.get("JUPYTERHUB_USER") or os.environ.get("USER") or "",
                          "created_at": now_iso(), "finished_at": None}  # fmt: skip
            deployments.append(deployment)
        deployment["status"] = status
        if status in ("success", "failed", "canceled"):
            deployment["finished_at"] = now_iso()
        self._save(name, deployments)
        return deployment


def job_environments(record: dict, src: Path) -> dict[str, str]:
    """Job name -> the environment it deploys to. A record written before jobs carried their
    environment learns it from the CI file of its clone ``src`` (the commit it ran)."""
    if any("environment" not in job for job in record["jobs"]):
        try:
            declared = ci_file.jobs(ci_file.load((src / ".gitlab-ci.yml").read_text(encoding="utf-8")))
        except (OSError, PipelineError):
            declared = {}
        for job in record["jobs"]:
            job.setdefault("environment", declared.get(job["name"], {}).get("environment", ""))
    return {job["name"]: job["environment"] for job in record["jobs"]}
