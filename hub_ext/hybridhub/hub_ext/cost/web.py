"""The cost service's routes, all behind JupyterHub OAuth / API tokens, for cost readers only.

A cost reader is a hub admin, or anyone whose token carries ``custom:hybridhub-cost:read`` or
``admin:users``.  Everyone else gets 403.  Routes (under the service prefix):

* ``/``                  a redirect to the admin console, which shows these figures
* ``/api/summary``       the same figures as JSON
* ``/api/summary.csv``   the same figures as CSV
* ``/openapi.json``      the OpenAPI description of these routes
* ``/oauth_callback``    JupyterHub OAuth
"""

from __future__ import annotations

import json
from typing import Callable

from jupyterhub.services.auth import HubOAuthCallbackHandler, HubOAuthenticated
from jupyterhub.utils import url_path_join
from tornado import web

from ..console import console_url
from ..openapi import JSONErrors, cost_description
from .i18n import pick_language, text
from .summary import summary_csv

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
    @web.authenticated
    def get(self) -> None:
        self.authorize()
        self.no_store("application/json")
        self.finish(json.dumps(cost_description(self.prefix)))


def make_app(prefix: str, summary: Callable[[], dict], cookie_secret: bytes) -> web.Application:
    args = {"summary": summary, "prefix": prefix}
    return web.Application(
        [
            (url_path_join(prefix, "api/summary"), SummaryHandler, args),
            (url_path_join(prefix, "api/summary.csv"), CsvHandler, args),
            (url_path_join(prefix, "openapi.json"), DescriptionHandler, args),
            (url_path_join(prefix, "oauth_callback"), HubOAuthCallbackHandler),
            (prefix.rstrip("/") + "/?", ConsoleRedirect, args),
        ],
        cookie_secret=cookie_secret,
    )
