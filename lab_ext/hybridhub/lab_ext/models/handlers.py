"""Thin REST handlers of the Models panel (design §6): read the request, call the service, write JSON."""

from __future__ import annotations

import asyncio

from jupyter_server.auth.decorator import authorized
from tornado import web

from ..base_handler import HybridHubHandler
from ..pipelines.errors import PipelineError
from ..pipelines.handlers import SERVICE_KEY as PIPELINES_KEY
from ..pipelines.service import PipelinesConfig, PipelinesService
from ..reasons import path_problem
from . import health, retrain
from .errors import ModelsError, from_pipeline_error
from .service import ModelsConfig, ModelsService

SERVICE_KEY = "models"
#: the HTML report: no script, no network, styles inline (the job writes it self-contained)
REPORT_POLICY = "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:"


class ModelsHandler(HybridHubHandler):
    area = "models"
    error_class = ModelsError

    @property
    def service(self) -> ModelsService:
        def pipelines(state: dict) -> PipelinesService:  # the same one the pipelines panel uses
            config = PipelinesConfig(parent=self.settings.get("serverapp"))
            return PipelinesService(self.root_dir, config, state.get("code_home"), state.get("storage"))

        def make(state: dict) -> ModelsService:
            config = ModelsConfig(parent=self.settings.get("serverapp"))
            return ModelsService(config, self.shared(PIPELINES_KEY, pipelines), state.get("storage"))

        return self.shared(SERVICE_KEY, make)

    def arg(self, data: dict | None, name: str, required: bool = True) -> str | None:
        value = data.get(name) if data is not None else self.get_query_argument(name, None)
        if value is None and not required:
            return None
        if isinstance(value, int) and not isinstance(value, bool) and name == "project":
            value = str(value)
        if not isinstance(value, str) or not value:
            raise ModelsError("invalid_request", details=f"{name} is required (text)")
        problem = path_problem(value)
        if problem:
            raise ModelsError("invalid_request", details=f"{name}: {problem}")
        return value

    def invalid_request(self, message: str) -> ModelsError:
        return ModelsError("invalid_request", details=message)

    def as_reason_error(self, error: BaseException) -> BaseException:
        if isinstance(error, asyncio.TimeoutError):
            return ModelsError("registry_unreachable", details="the request timed out")
        if isinstance(error, PipelineError):
            return from_pipeline_error(error)
        return error


class ConfigHandler(ModelsHandler):
    @web.authenticated
    @authorized
    def get(self):
        self.reply(self.service.describe())


class ModelsListHandler(ModelsHandler):
    @web.authenticated
    @authorized
    async def get(self):
        self.reply(await self.service.models(self.arg(None, "project")))


class VersionsHandler(ModelsHandler):
    @web.authenticated
    @authorized
    async def get(self):
        self.reply(await self.service.versions(self.arg(None, "project"), self.arg(None, "name")))


class LineageHandler(ModelsHandler):
    @web.authenticated
    @authorized
    async def get(self):
        project, name, version = (self.arg(None, k) for k in ("project", "name", "version"))
        self.reply(await self.service.lineage(project, name, version))


class PromoteHandler(ModelsHandler):
    @web.authenticated
    @authorized
    async def post(self):
        data = self.body()
        project, name, version = (self.arg(data, k) for k in ("project", "name", "version"))
        self.reply(await self.service.promote(project, name, version))


class RollbackHandler(ModelsHandler):
    @web.authenticated
    @authorized
    async def post(self):
        data = self.body()
        project, name = self.arg(data, "project"), self.arg(data, "name")
        self.reply(await self.service.rollback(project, name, self.arg(data, "to_version", required=False)))


class ReproduceHandler(ModelsHandler):
    @web.authenticated
    @authorized
    async def post(self):
        data = self.body()
        project, name, version = (self.arg(data, k) for k in ("project", "name", "version"))
        self.reply(await self.service.reproduce(project, name, version), 201)


class HealthHandler(ModelsHandler):
    @web.authenticated
    @authorized
    async def get(self):
        project, name, version = (self.arg(None, k) for k in ("project", "name", "version"))
        self.reply(await health.version_health(self.service, project, name, version))


class HealthReportHandler(ModelsHandler):
    """The report of one day as the job wrote it: HTML, served as a sandboxed document of its
    own (no script, no request to anywhere: the panel shows it in a sandboxed frame as well)."""

    @web.authenticated
    @authorized
    async def get(self):
        project, name, version, date = (self.arg(None, k) for k in ("project", "name", "version", "date"))
        kind = self.get_query_argument("format", "html")
        document = await health.version_report(self.service, project, name, version, date, kind)
        if kind != "json":
            self.set_header("Content-Security-Policy", REPORT_POLICY)
        self.set_header("X-Content-Type-Options", "nosniff")
        self.set_header("Cache-Control", "no-store")
        self.finish(document, set_content_type="application/json" if kind == "json" else "text/html; charset=utf-8")


class RetrainHandler(ModelsHandler):
    @web.authenticated
    @authorized
    async def post(self):
        data = self.body()
        self.reply(await retrain.retrain(self.service, self.arg(data, "project"), self.arg(data, "name")), 201)
