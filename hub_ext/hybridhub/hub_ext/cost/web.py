"""The cost service's routes, all behind JupyterHub OAuth / API tokens, for cost readers only.

A cost reader is a hub admin, or anyone whose token carries ``custom:hybridhub-cost:read`` or
``admin:users``.  Everyone else gets 403.  Routes (under the service prefix):

* ``/``                  a redirect to the admin console, which shows these figures
* ``/api/summary``       the same figures as JSON
* ``/api/summary.csv``   the same figures as CSV
* ``/warmup``            the warm-up of GPU nodes: today's plan, this month's warm-ups (HTML; only
                         when ``c.WarmupService.enabled``)
* ``/api/warmup``        the same as JSON (:func:`.warmup_report.warmup_report`)
* ``/openapi.json``      the OpenAPI description of these routes
* ``/oauth_callback``    JupyterHub OAuth
"""

from __future__ import annotations

import json
import os
from typing import Callable

from jupyterhub.services.auth import HubOAuthCallbackHandler, HubOAuthenticated
from jupyterhub.utils import url_path_join
from tornado import web

from ..console import console_url
from ..openapi import JSONErrors, answer, cost_description, errors
from .i18n import pick_language, text
from .summary import summary_csv
from .warmup_report import OUTCOMES, warmup_view

TEMPLATES = os.path.join(os.path.dirname(__file__), "templates")

READ_SCOPE = "custom:hybridhub-cost:read"
READER_SCOPES = {READ_SCOPE, "admin:users"}


def is_reader(model: dict | None) -> bool:
    if not model:
        return False
    return bool(model.get("admin")) or bool(READER_SCOPES & set(model.get("scopes") or ()))


class CostHandler(JSONErrors, HubOAuthenticated, web.RequestHandler):
    def initialize(self, summary: Callable[[], dict], prefix: str) -> None:
        self.summary = summary
        self.prefix = prefix

    @property
    def lang(self) -> str:
        return pick_language(self.request.headers.get("Accept-Language"))

    def authorize(self) -> None:
        if not is_reader(self.current_user):
            raise web.HTTPError(403, text(self.lang, "forbidden"))
        unknown = sorted(set(self.request.query_arguments))
        if unknown:
            raise web.HTTPError(400, f"unknown query parameter(s): {', '.join(unknown)}")

    def no_store(self, content_type: str) -> None:
        self.set_header("Content-Type", content_type)
        self.set_header("Cache-Control", "no-store")
        self.set_header("X-Content-Type-Options", "nosniff")


class ConsoleRedirect(CostHandler):
    """The former page: the admin console shows the figures now (same readers, same 400s)."""

    @web.authenticated
    def get(self) -> None:
        self.authorize()
        self.redirect(console_url(self.prefix), permanent=False)


class SummaryHandler(CostHandler):
    @web.authenticated
    def get(self) -> None:
        self.authorize()
        self.no_store("application/json")
        self.finish(json.dumps(self.summary(), ensure_ascii=False))


class CsvHandler(CostHandler):
    @web.authenticated
    def get(self) -> None:
        self.authorize()
        summary = self.summary()
        self.no_store("text/csv; charset=utf-8")
        self.set_header("Content-Disposition", f'attachment; filename="hybridhub-cost-{summary["month"]["start"][:7]}.csv"')
        self.finish(summary_csv(summary))


class DescriptionHandler(CostHandler):
    def initialize(self, summary: Callable[[], dict], prefix: str, warmup: Callable[[], dict] | None = None) -> None:
        super().initialize(summary, prefix)
        self.warmup = warmup

    @web.authenticated
    def get(self) -> None:
        self.authorize()
        self.no_store("application/json")
        description = cost_description(self.prefix)
        if self.warmup is not None:
            description["paths"].update(WARMUP_PATHS)
        self.finish(json.dumps(description))


class WarmupHandler(CostHandler):
    def initialize(self, summary: Callable[[], dict], prefix: str, warmup: Callable[[], dict]) -> None:
        super().initialize(summary, prefix)
        self.warmup = warmup


class WarmupJsonHandler(WarmupHandler):
    @web.authenticated
    def get(self) -> None:
        self.authorize()
        self.no_store("application/json")
        self.finish(json.dumps(self.warmup(), ensure_ascii=False))


class WarmupPageHandler(WarmupHandler):
    """The warm-up section of the cost figures, in the reader's language (every value escaped)."""

    def write_error(self, status_code: int, **kwargs) -> None:
        exc = kwargs.get("exc_info", (None, None, None))[1]
        self.set_header("Content-Type", "text/html; charset=utf-8")
        message = exc.log_message if isinstance(exc, web.HTTPError) and exc.log_message else self._reason
        self.finish(f"<!doctype html><p>{status_code}: {web.escape.xhtml_escape(message)}</p>")

    @web.authenticated
    def get(self) -> None:
        self.authorize()
        summary = self.summary()
        view = warmup_view(self.warmup(), summary.get("currency", ""), self.lang)
        self.no_store("text/html; charset=utf-8")
        self.render("warmup.html", w=view, lang=self.lang, outcomes=OUTCOMES,
                    t=lambda key, **values: text(self.lang, key, **values),
                    json_url=url_path_join(self.prefix, "api/warmup"))


WARMUP_PATHS = {
    "/warmup": {"get": {"operationId": "get_warmup_page", "summary": "The warm-up of GPU nodes: today's plan, this month's warm-ups (HTML).",
                        "responses": {**answer("The page.", "text/html", {"type": "string"}), **errors(400, 403)}}},
    "/api/warmup": {"get": {"operationId": "get_warmup", "summary": "Today's warm-up plan, the runner's state and this month's warm-ups per pool.",
                            "responses": {**answer("The warm-up report."), **errors(400, 403)}}},
}  # fmt: skip


def make_app(prefix: str, summary: Callable[[], dict], cookie_secret: bytes,
             warmup: Callable[[], dict] | None = None) -> web.Application:
    """``warmup`` (the warm-up report, :func:`.warmup_report.warmup_report`) adds its routes."""
    args = {"summary": summary, "prefix": prefix}
    routes = [
        (url_path_join(prefix, "api/summary"), SummaryHandler, args),
        (url_path_join(prefix, "api/summary.csv"), CsvHandler, args),
        (url_path_join(prefix, "openapi.json"), DescriptionHandler, {**args, "warmup": warmup}),
        (url_path_join(prefix, "oauth_callback"), HubOAuthCallbackHandler),
    ]
    if warmup is not None:
        routes += [(url_path_join(prefix, "api/warmup"), WarmupJsonHandler, {**args, "warmup": warmup}),
                   (url_path_join(prefix, "warmup"), WarmupPageHandler, {**args, "warmup": warmup})]
    routes.append((prefix.rstrip("/") + "/?", ConsoleRedirect, args))
    return web.Application(routes, cookie_secret=cookie_secret, template_path=TEMPLATES)
