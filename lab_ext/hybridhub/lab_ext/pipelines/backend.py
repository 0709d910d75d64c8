"""The interface both backends implement, and the checks they share.

Shapes returned to the panel (both backends):

* pipeline: ``{id, project, ref, sha, status, created_at, started_at, finished_at, duration,
  variables: [{key, value}], web_url, metrics}``
* job: ``{id, name, stage, status, started_at, finished_at, duration, allow_failure, manual,
  runner: {kind: "cloud"|"onprem"|"unknown", tags, description}, web_url}``
* stages: ``[{name, status, jobs: [job]}]`` in pipeline order
* trace: ``{offset, next_offset, content, complete}``: only the bytes after ``offset``

Statuses are GitLab's: created, pending, running, success, failed, canceled, skipped, manual.
"""

from __future__ import annotations

import abc
import re
from typing import Any

from .errors import PipelineError

FINISHED = {"success", "failed", "canceled", "skipped"}
ACTIVE = {"created", "pending", "running", "waiting_for_resource", "preparing", "scheduled"}
VARIABLE_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,254}$")
MAX_VARIABLES = 50
MAX_VALUE = 10_000
REQUEST_ID = re.compile(r"^[A-Za-z0-9-]{8,64}$")
CLOUD_HINTS = ("cloud", "gpu", "train", "aks", "kubernetes")


def validate_variables(raw: Any) -> list[dict]:
    """``[{key, value}]`` checked the way GitLab checks them; duplicates are refused."""
    if raw is None:
        return []
    if isinstance(raw, dict):
        raw = [{"key": k, "value": v} for k, v in raw.items()]
    if not isinstance(raw, list) or len(raw) > MAX_VARIABLES:
        raise PipelineError("invalid_variables", details="variables must be a list of at most 50 {key, value}")
    seen: set[str] = set()
    result = []
    for item in raw:
        if not isinstance(item, dict):
            raise PipelineError("invalid_variables", details="each variable is an object {key, value}")
        key, value = item.get("key"), item.get("value", "")
        if not isinstance(key, str) or not VARIABLE_KEY.fullmatch(key):
            raise PipelineError("invalid_variables", details=f"invalid variable name {str(key)[:60]!r}")
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str) or len(value) > MAX_VALUE or "\x00" in value:
            raise PipelineError("invalid_variables", details=f"invalid value for {key}")
        if key in seen:
            raise PipelineError("invalid_variables", details=f"{key} is given twice")
        seen.add(key)
        result.append({"key": key, "value": value})
    return result


def validate_request_id(value: Any) -> str | None:
    """The panel's idempotency key: the same id never launches a second pipeline."""
    if value in (None, ""):
        return None
    if not isinstance(value, str) or not REQUEST_ID.fullmatch(value):
        raise PipelineError("invalid_request", details="request_id must be 8-64 letters, digits or '-'")
    return value


def runner_kind(tags: list[str], description: str = "") -> str:
    words = " ".join(tags + [description]).lower()
    if not words.strip():
        return "unknown"
    return "cloud" if any(h in words for h in CLOUD_HINTS) else "onprem"


def group_stages(jobs: list[dict], order: list[str]) -> list[dict]:
    """Jobs grouped by stage, in pipeline order, each stage with a summary status."""
    names = list(order) + [j["stage"] for j in jobs if j["stage"] not in order]
    stages = []
    for name in dict.fromkeys(names):
        members = [j for j in jobs if j["stage"] == name]
        if members:
            stages.append({"name": name, "status": stage_status([j["status"] for j in members]), "jobs": members})
    return stages


def stage_status(statuses: list[str]) -> str:
    for status in ("running", "pending", "failed", "canceled", "created", "manual"):
        if status in statuses:
            return status
    if statuses and all(s == "skipped" for s in statuses):
        return "skipped"
    return "success"


class PipelineBackend(abc.ABC):
    """One way of running pipelines; every method is async and bounded in time."""

    name: str = ""

    @abc.abstractmethod
    async def projects(self, search: str = "") -> list[dict]:
        """``[{id, name, path, web_url}]`` the user may run pipelines in."""

    @abc.abstractmethod
    async def refs(self, project: str) -> dict:
        """``{"default": <branch>, "branches": [...], "tags": [...]}``."""

    @abc.abstractmethod
    async def template_variables(self, project: str, ref: str) -> list[dict]:
        """Variables declared in the project's CI file: ``[{key, value, description}]``."""

    @abc.abstractmethod
    async def create(self, project: str, ref: str, variables: list[dict], request_id: str | None) -> dict:
        """Launch a pipeline; with a known ``request_id`` return the pipeline it launched."""

    @abc.abstractmethod
    async def pipelines(self, project: str, limit: int = 20) -> list[dict]:
        """Newest first, with metrics when the run produced them."""

    @abc.abstractmethod
    async def pipeline(self, project: str, pipeline_id: int) -> dict:
        """One pipeline with ``stages``."""

    @abc.abstractmethod
    async def trace(self, project: str, pipeline_id: int, job_id: int | str, offset: int) -> dict:
        """New log bytes of a job after ``offset``."""

    @abc.abstractmethod
    async def cancel(self, project: str, pipeline_id: int) -> dict: ...

    @abc.abstractmethod
    async def retry(self, project: str, pipeline_id: int, job_id: int | str) -> dict: ...

    @abc.abstractmethod
    async def play(self, project: str, pipeline_id: int, job_id: int | str) -> dict: ...

    async def close(self) -> None:
        """Stop what the backend started (local processes)."""
