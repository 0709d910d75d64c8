"""OpenAPI descriptions of hybridhub's hub side: the culler and cost services (each serves its own
at ``<service prefix>openapi.json``) and the hub's own route ``POST /hub/api/hybridhub/gitlab-token``.

Errors on the hub side are JupyterHub's: ``{"status": <HTTP status>, "message": <English>}``.
"""

from __future__ import annotations

import json

from jupyterhub.services.auth import HubOAuthenticated
from tornado import web

ERROR = {
    "type": "object",
    "required": ["status", "message"],
    "properties": {"status": {"type": "integer"}, "message": {"type": "string"}},
}
TOKEN = {"token": {"type": "apiKey", "in": "header", "name": "Authorization",
                   "description": "'token <JupyterHub API token>' (or the browser's hub login, through OAuth)"}}  # fmt: skip


def errors(*statuses: int) -> dict:
    return {str(s): {"description": "Error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
            for s in statuses}  # fmt: skip


def answer(description: str, media_type: str = "application/json", schema: dict | None = None, status: int = 200) -> dict:
    return {str(status): {"description": description, "content": {media_type: {"schema": schema or {"type": "object"}}}}}


def document(title: str, server_url: str, description: str, paths: dict) -> dict:
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": "1", "description": description},
        "servers": [{"url": server_url}],
        "security": [{"token": []}],
        "paths": paths,
        "components": {"securitySchemes": TOKEN, "schemas": {"Error": ERROR}},
    }


SELF = {"get": {"operationId": "get_openapi", "summary": "This description.",
                "responses": {**answer("The OpenAPI document."), **errors(403)}}}  # fmt: skip


def culler_description(prefix: str) -> dict:
    """The culler service's routes (hub_ext/culler/decisions.py, reports.py)."""
    report = {"type": "object", "required": ["user", "report"], "properties": {
        "user": {"type": "string", "description": "The server's user."},
        "server": {"type": "string", "description": "The named server ('' = the default one)."},
        "report": {"type": "object", "description": "The activity report of hybridhub.lab_ext.activity."}}}  # fmt: skip
    paths = {
        "/decisions": {"get": {
            "operationId": "get_decisions", "summary": "The culler's recent decisions (admins only).",
            "responses": {**answer("Rounds, the latest decision per server, the recent ones."), **errors(403)}}},
        "/report": {"post": {
            "operationId": "post_report",
            "summary": "A user server's activity report, with its own server token; answered with the standing warning.",
            "requestBody": {"required": True, "content": {"application/json": {"schema": report}}},
            "responses": {**answer("{\"warning\": null | {...}}"), **errors(400, 401, 403, 413, 503)}}},
        "/openapi.json": SELF,
    }  # fmt: skip
    return document("hybridhub culler service", prefix.rstrip("/"), "Idle culling; see docs/culling.md.", paths)


def cost_description(prefix: str) -> dict:
    """The cost service's routes (hub_ext/cost/web.py), for cost readers only."""
    paths = {
        "/": {"get": {"operationId": "get_page", "summary": "The figures are on the admin console: a redirect there.",
                      "responses": {"302": {"description": "Location: /services/hybridhub-console/"}, **errors(400, 403)}}},
        "/api/summary": {"get": {"operationId": "get_summary", "summary": "Month-to-date cost, projection, T_n per pool, cost per user and profile.",
                                 "responses": {**answer("The summary."), **errors(400, 403)}}},
        "/api/summary.csv": {"get": {"operationId": "get_summary_csv", "summary": "The same figures as CSV.",
                                     "responses": {**answer("CSV", "text/csv", {"type": "string"}), **errors(400, 403)}}},
        "/openapi.json": {"get": {**SELF["get"], "responses": {**answer("The OpenAPI document."), **errors(400, 403)}}},
    }  # fmt: skip
    return document("hybridhub cost service", prefix.rstrip("/"),
                    "Cost readers: hub admins, or tokens with custom:hybridhub-cost:read or admin:users; see docs/cost.md.", paths)  # fmt: skip


def hub_description(hub_prefix: str = "/hub") -> dict:
    """The hub's own hybridhub route (hub_ext/gitlab/tokens.py), registered by HybridGitLabOAuthenticator."""
    body = {"type": "object", "properties": {"stale": {"type": "string", "description": "The token GitLab refused."}}}
    paths = {"/api/hybridhub/gitlab-token": {"post": {
        "operationId": "post_gitlab_token",
        "summary": "A running server's fresh GitLab access token, with that server's own JUPYTERHUB_API_TOKEN only.",
        "requestBody": {"required": False, "content": {"application/json": {"schema": body}}},
        "responses": {**answer("{access_token, expires_at}"), **errors(400, 401, 403, 404)}}}}  # fmt: skip
    return document("hybridhub routes of JupyterHub", hub_prefix.rstrip("/"), "See docs/gitlab.md.", paths)


class JSONErrors:
    """Errors as ``{"status", "message"}`` (JupyterHub's form), never tornado's HTML page."""

    def write_error(self, status_code: int, **kwargs) -> None:
        exc = kwargs.get("exc_info", (None, None, None))[1]
        message = exc.log_message if isinstance(exc, web.HTTPError) and exc.log_message else self._reason
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps({"status": status_code, "message": message}, ensure_ascii=False))


class ServiceOpenAPIHandler(JSONErrors, HubOAuthenticated, web.RequestHandler):
    """``GET <service prefix>openapi.json`` for anyone the hub authenticates."""

    def initialize(self, description: dict) -> None:
        self.description = description

    @web.authenticated
    def get(self) -> None:
        self.set_header("Content-Type", "application/json")
        self.set_header("Cache-Control", "no-store")
        self.finish(json.dumps(self.description))
