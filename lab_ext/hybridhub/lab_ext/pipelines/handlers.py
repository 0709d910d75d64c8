"""Thin REST handlers of the pipeline panel: read the request, call a backend, write JSON."""

from __future__ import annotations

import asyncio
import re

from jupyter_server.auth.decorator import authorized
from tornado import web

from ..base_handler import HybridHubHandler
from ..reasons import has_control, path_problem
from . import template
from .backend import validate_request_id, validate_variables
from .errors import PipelineError
from .service import PipelinesConfig, PipelinesService, apply_pins

SERVICE_KEY = "pipelines"
#: ids and offsets are whole numbers the panel keeps as JavaScript numbers: at most 2**53 - 1
MAX_NUMBER = 2**53 - 1
MAX_JOB_ID = 255
MAX_REF = 1024
_NUMBER = re.compile(r"[0-9]{1,16}")


def bounded_int(text, name: str, low: int = 0, high: int = MAX_NUMBER) -> int:
    """``text`` as a whole number in ``low..high``, or ``invalid_request`` naming the bounds."""
    value = int(text) if isinstance(text, str) and _NUMBER.fullmatch(text) else None
    if value is None or not low <= value <= high:
        raise PipelineError("invalid_request", details=f"{name} must be a whole number from {low} to {high}")
    return value


def job_ref(job_id: str) -> str:
    if len(job_id) > MAX_JOB_ID:
        raise PipelineError("invalid_request", details=f"a job id is at most {MAX_JOB_ID} characters")
    return job_id


class PipelinesHandler(HybridHubHandler):
    area = "pipelines"
    error_class = PipelineError

    @property
    def service(self) -> PipelinesService:
        def make(state: dict) -> PipelinesService:
            config = PipelinesConfig(parent=self.settings.get("serverapp"))
            return PipelinesService(self.root_dir, config, state.get("code_home"), state.get("storage"))

        return self.shared(SERVICE_KEY, make)

    def backend(self, data: dict | None = None):
        name = (data or {}).get("backend") if data is not None else self.get_query_argument("backend", "")
        return self.service.backend(name or None)

    def project(self, data: dict | None = None) -> str:
        value = (data or {}).get("project") if data is not None else self.get_query_argument("project", "")
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str) or not value:
            raise PipelineError("unknown_project")
        problem = path_problem(value)  # a GitLab path or id, or the local backend's workspace folder
        if problem:
            raise PipelineError("invalid_request", details=f"project: {problem}")
        return value

    @staticmethod
    def ref(value) -> str:
        if not isinstance(value, str) or not value:
            raise PipelineError("unknown_ref")
        if len(value) > MAX_REF or has_control(value):
            raise PipelineError("invalid_request", details=f"a ref is at most {MAX_REF} characters, without control characters")
        return value

    def invalid_request(self, message: str) -> PipelineError:
        # the pipeline panel shows its own text for the code; the specifics go to "details"
        return PipelineError("invalid_request", details=message)

    def as_reason_error(self, error: BaseException) -> BaseException:
        if isinstance(error, asyncio.TimeoutError):
            return PipelineError("gitlab_unreachable", details="the request timed out")
        return error


class ConfigHandler(PipelinesHandler):
    @web.authenticated
    @authorized
    def get(self):
        service = self.service
        url = service.code_home.gitlab_url.rstrip("/") if service.gitlab_configured else ""
        self.reply({"backends": service.available(), "default": service.default_backend, "gitlab_url": url,
                    "pins": service.pins()})  # fmt: skip


class ProjectsHandler(PipelinesHandler):
    @web.authenticated
    @authorized
    async def get(self):
        self.reply({"projects": await self.backend().projects(self.get_query_argument("search", ""))})


class RefsHandler(PipelinesHandler):
    @web.authenticated
    @authorized
    async def get(self):
        self.reply(await self.backend().refs(self.project()))


class VariablesHandler(PipelinesHandler):
    @web.authenticated
    @authorized
    async def get(self):
        ref = self.get_query_argument("ref", "")
        variables = await self.backend().template_variables(self.project(), self.ref(ref) if ref else ref)
        self.reply({"variables": apply_pins(variables, self.service.pins())})


class RunsHandler(PipelinesHandler):
    @web.authenticated
    @authorized
    async def get(self):
        limit = min(bounded_int(self.get_query_argument("limit", "20") or "20", "limit"), 100) or 1
        self.reply({"pipelines": await self.backend().pipelines(self.project(), limit)})

    @web.authenticated
    @authorized
    async def post(self):
        data = self.body()
        ref = self.ref(data.get("ref"))
        variables = validate_variables(data.get("variables"))
        request_id = validate_request_id(data.get("request_id"))
        pipeline = await self.backend(data).create(self.project(data), ref, variables, request_id)
        self.reply(pipeline, 201)


class RunHandler(PipelinesHandler):
    @web.authenticated
    @authorized
    async def get(self, pipeline_id: str):
        self.reply(await self.backend().pipeline(self.project(), bounded_int(pipeline_id, "a pipeline id")))


class CancelHandler(PipelinesHandler):
    @web.authenticated
    @authorized
    async def post(self, pipeline_id: str):
        data = self.body()
        self.reply(await self.backend(data).cancel(self.project(data), bounded_int(pipeline_id, "a pipeline id")))


class JobActionHandler(PipelinesHandler):
    @web.authenticated
    @authorized
    async def post(self, pipeline_id: str, job_id: str, action: str):
        data = self.body()
        backend, project = self.backend(data), self.project(data)
        call = backend.play if action == "play" else backend.retry
        self.reply(await call(project, bounded_int(pipeline_id, "a pipeline id"), job_ref(job_id)))


class TraceHandler(PipelinesHandler):
    @web.authenticated
    @authorized
    async def get(self, pipeline_id: str, job_id: str):
        offset = bounded_int(self.get_query_argument("offset", "0") or "0", "offset")
        pipeline = bounded_int(pipeline_id, "a pipeline id")
        self.reply(await self.backend().trace(self.project(), pipeline, job_ref(job_id), offset))


class TemplateHandler(PipelinesHandler):
    @web.authenticated
    @authorized
    def get(self):
        path = self.get_query_argument("path", "")
        self.reply({"files": template.template_files(), "existing": template.existing(self.service.root, path)})

    @web.authenticated
    @authorized
    def post(self):
        data = self.body()
        self.reply(template.add_template(self.service.root, data.get("path", ""), bool(data.get("overwrite"))), 201)

