"""The cost service's routes, all behind JupyterHub OAuth / API tokens, for cost readers only.

A cost reader is a hub admin, or anyone whose token carries ``custom:hybridhub-cost:read`` or
``admin:users``.  Everyone else gets 403.  Routes (under the service prefix):

* ``/``                  a redirect to the admin console, which shows these figures
* ``/api/summary``       the same figures as JSON
* ``/api/summary.csv``   the same figures as CSV
* ``/warmup``            the warm-up of GPU nodes: today's plan, this month's warm-ups (HTML; only
                         when ``c.WarmupService.enabled``)
* ``/api/warmup``        the same as JSON (:func:`.warmup_report.warmup_report`)
* ``/api/warmup/intent`` POST ``{"profile": slug}`` with a user's token: that user chose a GPU profile on
                         the spawn form, so its node is warmed now if the budget allows (any user
                         holding ``access:services!service=hybridhub-cost``; only when warm-up is on)
* ``/transfer``          the month's measured data transfer between the cloud and the office (HTML)
* ``/api/transfer``      the same as JSON (GET, cost readers); POST: a transfer report, with a
                         user's token for that user, or a listed reporter service's for anyone
                         (:mod:`.transfer`)
* ``/openapi.json``      the OpenAPI description of these routes
* ``/oauth_callback``    JupyterHub OAuth
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from typing import Awaitable, Callable

from jupyterhub.services.auth import HubOAuthCallbackHandler, HubOAuthenticated
from jupyterhub.utils import url_path_join
from tornado import web

from ..console import console_url
from ..openapi import JSONErrors, answer, cost_description, errors
from .i18n import pick_language, text
from .summary import summary_csv
from .transfer import KINDS, Report, ReportError, parse_report, refusal
from ..warmup.i18n import text as warmup_text
from .warmup_report import OUTCOMES, warmup_view

LOG = logging.getLogger("hybridhub.warmup")
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
    def initialize(self, summary: Callable[[], dict], prefix: str, warmup: Callable[[], dict] | None = None,
                   transfer: "TransferApi | None" = None) -> None:
        super().initialize(summary, prefix)
        self.warmup = warmup
        self.transfer = transfer

    @web.authenticated
    def get(self) -> None:
        self.authorize()
        self.no_store("application/json")
        description = cost_description(self.prefix)
        if self.warmup is not None:
            description["paths"].update(WARMUP_PATHS)
        if self.transfer is not None:
            description["paths"].update(TRANSFER_PATHS)
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


class TokenPostHandler(CostHandler):
    """Routes whose POST comes with an API token only (never a browser cookie, so no XSRF check);
    refusals are JSON with a reason code and the cost service's text for it."""

    def check_xsrf_cookie(self) -> None:
        """A POST without a token is refused by :meth:`token_identity`: no cookie counts, no XSRF."""

    def refuse(self, status: int, code: str, **values) -> None:
        self.set_status(status)
        self.no_store("application/json")
        self.finish(json.dumps({"status": status, "reason": code, "message": text(self.lang, code, **values)},
                               ensure_ascii=False))

    def token_identity(self, no_token: str) -> dict | None:
        """The token's owner (None: unknown token, or no access:services!service=<this service>);
        without an ``Authorization: token …`` header, refuses with ``no_token`` and returns None."""
        scheme, _, token = self.request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() not in ("token", "bearer") or not token.strip():
            self.refuse(403, no_token)
            return None
        return self.current_user


class WarmupIntentHandler(TokenPostHandler):
    """POST: a user chose a GPU profile on the spawn form (a short-lived token of that user)."""

    def initialize(self, summary: Callable[[], dict], prefix: str,
                   intent: Callable[[str, str], Awaitable]) -> None:
        super().initialize(summary, prefix)
        self.intent = intent

    async def post(self) -> None:
        identity = self.token_identity("intent_no_token")
        if self._finished:
            return
        if not identity or identity.get("kind") != "user":
            return self.refuse(403, "intent_not_a_user")
        try:
            body = json.loads(self.request.body or b"null")
        except ValueError:
            return self.refuse(400, "intent_bad_request", problem="not JSON")
        if not isinstance(body, dict) or set(body) != {"profile"} or not isinstance(body["profile"], str) \
                or not 0 < len(body["profile"]) <= 255:
            return self.refuse(400, "intent_bad_request", problem='expected {"profile": "<profile slug>"}')
        try:
            decision = await self.intent(identity["name"], body["profile"])
        except Exception as exc:  # noqa: BLE001 - the API server refused or is unreachable: the start is unharmed
            LOG.warning("warm-up on intent failed (%s)", type(exc).__name__)
            return self.refuse(503, "intent_failed")
        self.no_store("application/json")
        self.finish(json.dumps({**decision.to_json(), "message": warmup_text(decision.reason, self.lang)},
                               ensure_ascii=False))


@dataclass(frozen=True)
class TransferApi:
    """What the transfer routes need from the service."""

    figures: Callable[[], dict]  # this month's figures (:func:`.transfer.month_figures`)
    record: Callable[[Report], bool]  # False: that report id was recorded already
    reporters: Callable[[], list]  # c.CostService.transfer_reporters


class TransferJsonHandler(TokenPostHandler):
    """GET: the figures (cost readers). POST: one report, token-authenticated only."""

    def initialize(self, summary: Callable[[], dict], prefix: str, transfer: TransferApi) -> None:
        super().initialize(summary, prefix)
        self.transfer = transfer

    @web.authenticated
    def get(self) -> None:
        self.authorize()
        self.no_store("application/json")
        self.finish(json.dumps(self.transfer.figures(), ensure_ascii=False))

    def post(self) -> None:
        identity = self.token_identity("transfer_no_token")
        if self._finished:
            return
        if not identity:
            return self.refuse(403, "transfer_forbidden")
        try:
            report = parse_report(json.loads(self.request.body or b"null"))
        except ValueError as error:  # ReportError, or not JSON
            problem = error.args[0] if isinstance(error, ReportError) else "not JSON"
            return self.refuse(400, "transfer_bad_report", problem=problem)
        why = refusal(identity, report, self.transfer.reporters())
        if why:
            return self.refuse(403, why)
        recorded = self.transfer.record(report)
        self.no_store("application/json")
        self.finish(json.dumps({"recorded": recorded, "id": report.id}))


class TransferPageHandler(TransferJsonHandler):
    """The month's data transfer in the reader's language (every value escaped; errors as JSON)."""

    @web.authenticated
    def get(self) -> None:
        self.authorize()
        self.no_store("text/html; charset=utf-8")
        self.render("transfer.html", x=self.transfer.figures(), kinds=KINDS, lang=self.lang,
                    t=lambda key, **values: text(self.lang, key, **values),
                    json_url=url_path_join(self.prefix, "api/transfer"))

    def post(self) -> None:
        raise web.HTTPError(405)


TRANSFER_REPORT = {"type": "object", "required": ["id", "user", "bytes"], "properties": {
    "id": {"type": "string", "description": "The report's id; a report sent again with the same id is counted once."},
    "user": {"type": "string"},
    "bytes": {"type": "object", "additionalProperties": {"type": "integer", "minimum": 0},
              "description": "Bytes by kind: " + ", ".join(KINDS)}}}
TRANSFER_PATHS = {
    "/transfer": {"get": {"operationId": "get_transfer_page", "summary": "The month's data transfer between the cloud and the office (HTML).",
                          "responses": {**answer("The page.", "text/html", {"type": "string"}), **errors(400, 403)}}},
    "/api/transfer": {
        "get": {"operationId": "get_transfer", "summary": "The month's GB in/out, their cost, what direct transfers and the cache saved.",
                "responses": {**answer("The figures."), **errors(400, 403)}},
        "post": {"operationId": "post_transfer", "summary": "Report bytes moved: a user's token for that user, a listed reporter service's for anyone.",
                 "requestBody": {"required": True, "content": {"application/json": {"schema": TRANSFER_REPORT}}},
                 "responses": {**answer("{recorded, id}"), **errors(400, 403)}}},
}  # fmt: skip


WARMUP_PATHS = {
    "/warmup": {"get": {"operationId": "get_warmup_page", "summary": "The warm-up of GPU nodes: today's plan, this month's warm-ups (HTML).",
                        "responses": {**answer("The page.", "text/html", {"type": "string"}), **errors(400, 403)}}},
    "/api/warmup": {"get": {"operationId": "get_warmup", "summary": "Today's warm-up plan, the runner's state and this month's warm-ups per pool.",
                            "responses": {**answer("The warm-up report."), **errors(400, 403)}}},
    "/api/warmup/intent": {"post": {
        "operationId": "post_warmup_intent",
        "summary": "A user chose a GPU profile on the spawn form: warm its pool's node now if the budget allows (a user's token).",
        "requestBody": {"required": True, "content": {"application/json": {"schema": {
            "type": "object", "required": ["profile"], "additionalProperties": False,
            "properties": {"profile": {"type": "string", "minLength": 1, "maxLength": 255}}}}}},
        "responses": {**answer("{warm, reason, message, pool, until, cost}"), **errors(400, 403, 503)}}},
}  # fmt: skip


def make_app(prefix: str, summary: Callable[[], dict], cookie_secret: bytes,
             warmup: Callable[[], dict] | None = None, transfer: TransferApi | None = None,
             intent: Callable[[str, str], Awaitable] | None = None) -> web.Application:
    """``warmup`` (the warm-up report, :func:`.warmup_report.warmup_report`), ``intent`` (a warm-up on
    intent, :meth:`.warmup_loop.WarmupLoop.on_intent`) and ``transfer`` (the measured data transfer)
    add their routes."""
    args = {"summary": summary, "prefix": prefix}
    routes = [
        (url_path_join(prefix, "api/summary"), SummaryHandler, args),
        (url_path_join(prefix, "api/summary.csv"), CsvHandler, args),
        (url_path_join(prefix, "openapi.json"), DescriptionHandler, {**args, "warmup": warmup, "transfer": transfer}),
        (url_path_join(prefix, "oauth_callback"), HubOAuthCallbackHandler),
    ]
    if warmup is not None:
        routes += [(url_path_join(prefix, "api/warmup"), WarmupJsonHandler, {**args, "warmup": warmup}),
                   (url_path_join(prefix, "api/warmup/intent"), WarmupIntentHandler, {**args, "intent": intent}),
                   (url_path_join(prefix, "warmup"), WarmupPageHandler, {**args, "warmup": warmup})]
    if transfer is not None:
        routes += [(url_path_join(prefix, "api/transfer"), TransferJsonHandler, {**args, "transfer": transfer}),
                   (url_path_join(prefix, "transfer"), TransferPageHandler, {**args, "transfer": transfer})]
    routes.append((prefix.rstrip("/") + "/?", ConsoleRedirect, args))
    return web.Application(routes, cookie_secret=cookie_secret, template_path=TEMPLATES)
