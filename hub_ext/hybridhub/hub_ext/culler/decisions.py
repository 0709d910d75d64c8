"""The culler's recent decisions, kept in memory for admins, and the service's routes.

``<prefix>decisions`` is JSON, for admins and for tokens with ``custom:hybridhub-culler:read``
(the admin console's service token); people read the decisions on the console, where the
service's own root (``<prefix>``) sends them.
"""

from __future__ import annotations

from collections import deque
from datetime import datetime

from jupyterhub.services.auth import HubOAuthCallbackHandler, HubOAuthenticated
from jupyterhub.utils import url_path_join
from tornado import web

from ..console import console_url
from ..openapi import JSONErrors, ServiceOpenAPIHandler, culler_description
from .policy import Decision, ServerView
from .reports import Identify, ReportBook, ReportHandler


class DecisionLog:
    """The last ``size`` decisions, plus the latest one for each server."""

    def __init__(self, size: int = 1000) -> None:
        self.recent: deque[dict] = deque(maxlen=size)
        self.latest: dict[str, dict] = {}
        self.rounds = 0

    def add(self, now: datetime, server: ServerView, profile: str, decision: Decision, dry_run: bool, outcome: str) -> dict:
        entry = {
            "time": now.isoformat().replace("+00:00", "Z"),
            "user": server.user,
            "server": server.name,
            "profile": profile,
            "action": decision.action,
            "reason": decision.reason,
            "cull_at": decision.cull_at.isoformat().replace("+00:00", "Z") if decision.cull_at else None,
            "dry_run": dry_run,
            "outcome": outcome,
        }
        self.recent.append(entry)
        self.latest[server.key] = entry
        return entry

    def forget_missing(self, present: set[str]) -> None:
        for key in set(self.latest) - present:
            del self.latest[key]

    def as_json(self) -> dict:
        return {"rounds": self.rounds, "servers": self.latest, "recent": list(self.recent)}


READ_SCOPE = "custom:hybridhub-culler:read"


def may_read(model: dict | None) -> bool:
    """Admins, and tokens granted the culler's read scope (the console's role)."""
    return bool(model) and (bool(model.get("admin")) or READ_SCOPE in (model.get("scopes") or ()))


class DecisionsHandler(JSONErrors, HubOAuthenticated, web.RequestHandler):
    """``GET /services/<name>/decisions``: admins and readers (browser via OAuth, or an API token)."""

    def initialize(self, log: DecisionLog, dry_run: bool) -> None:
        self.decision_log = log
        self.dry_run = dry_run

    @web.authenticated
    def get(self):
        if not may_read(self.current_user):
            raise web.HTTPError(403, "the culler's decisions are for admins")
        self.set_header("Content-Type", "application/json")
        self.set_header("Cache-Control", "no-store")
        self.finish({"dry_run": self.dry_run, **self.decision_log.as_json()})


def make_web_app(
    prefix: str, log: DecisionLog, dry_run: bool, cookie_secret: bytes, book: ReportBook, identify: Identify
) -> web.Application:
    return web.Application(
        [
            (url_path_join(prefix, "decisions"), DecisionsHandler, {"log": log, "dry_run": dry_run}),
            (url_path_join(prefix, "report"), ReportHandler, {"book": book, "identify": identify}),
            (url_path_join(prefix, "openapi.json"), ServiceOpenAPIHandler, {"description": culler_description(prefix)}),
            (url_path_join(prefix, "oauth_callback"), HubOAuthCallbackHandler),
            (prefix, web.RedirectHandler, {"url": console_url(prefix), "permanent": False}),
        ],
        cookie_secret=cookie_secret,
    )
