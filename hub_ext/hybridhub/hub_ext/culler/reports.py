"""User servers report their activity to the culler; the culler answers with its warning.

``POST /services/hybridhub-culler/report`` with the server's own ``$JUPYTERHUB_API_TOKEN``
and ``{"user", "server", "report"}``. The culler never calls into a user server and never
hands its own token to one: a server's credential goes to the culler, not the other way.

Who may report for ``<user>/<server>``: a token the hub identifies (``GET /hub/api/user``) as
user ``<user>`` whose scopes reach that very server (``access:servers!server=<user>/<server>``,
which every server token holds by default, or the same for all of the user's servers). No
extra scope is given to server tokens: reporting activity is worth no more than access to the
server, which can make itself busy anyway. Service tokens, other users' tokens and admins'
tokens are refused (403), whatever they may do on the hub.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Awaitable, Callable

from tornado import web

from .activity import HubError
from .policy import ActivityReport

MAX_REPORT_BYTES = 64 * 1024
Identify = Callable[[str], Awaitable["dict | None"]]


@dataclass
class Received:
    report: ActivityReport
    received: datetime


def server_key(user: str, server: str) -> str:
    return f"{user}/{server}" if server else user


def may_report(identity: dict | None, user: str, server: str) -> bool:
    """True if the hub's model of the token says: user ``user``, able to reach this server."""
    if not identity or identity.get("kind") != "user" or identity.get("name") != user:
        return False
    scopes = set(identity.get("scopes") or ())
    return bool(scopes & {"access:servers", f"access:servers!user={user}", f"access:servers!server={user}/{server}"})


class ReportBook:
    """The latest report of each server and the warning the culler holds for it."""

    def __init__(self, clock: Callable[[], datetime]) -> None:
        self.clock = clock
        self.reports: dict[str, Received] = {}
        self.warnings: dict[str, dict] = {}
        self._waiters: dict[str, list] = {}

    def put(self, key: str, report: ActivityReport) -> dict | None:
        """Keep a report; returns the warning to hand back (None: no warning stands)."""
        self.reports[key] = Received(report, self.clock())
        warning = self.warnings.get(key)
        if warning and warning.get("kind") == "idle" and warning.get("state") != "stopping":
            announced = datetime.fromisoformat(warning["issued_at"])
            if report.busy or (report.keepalive_at is not None and report.keepalive_at >= announced):
                self.warnings.pop(key)  # work resumed or the user kept it running: withdrawn now
                warning = None
        for waiter in self._waiters.pop(key, []):
            if not waiter.done():
                waiter.set_result(report)
        return {k: v for k, v in warning.items() if k != "issued_at"} if warning else None

    def get(self, key: str) -> Received | None:
        return self.reports.get(key)

    def warn(self, key: str, body: dict) -> None:
        self.warnings[key] = {**body, "issued_at": self.clock().isoformat()}

    def withdraw(self, key: str) -> None:
        self.warnings.pop(key, None)

    def next_report(self, key: str, loop):
        """A future resolved by the server's next report."""
        future = loop.create_future()
        self._waiters.setdefault(key, []).append(future)
        return future

    def forget(self, key: str) -> None:
        self.reports.pop(key, None)
        self.warnings.pop(key, None)
        self._waiters.pop(key, None)

    def forget_missing(self, present: set[str]) -> None:
        for key in set(self.reports) - present:
            del self.reports[key]
        for key in set(self.warnings) - present:
            del self.warnings[key]


class IdentityCache:
    """``GET /hub/api/user`` answers per token, kept ``seconds`` (keyed by a hash, never the token)."""

    def __init__(self, identify: Identify, clock: Callable[[], float], seconds: float = 60.0, size: int = 10000) -> None:
        self.identify, self.clock, self.seconds, self.size = identify, clock, seconds, size
        self._known: dict[str, tuple[float, dict]] = {}

    async def __call__(self, token: str) -> dict | None:
        digest = hashlib.sha256(token.encode()).hexdigest()
        hit = self._known.get(digest)
        if hit and hit[0] > self.clock():
            return hit[1]
        identity = await self.identify(token)
        if identity is not None and self.seconds > 0:
            if len(self._known) >= self.size:
                self._known.clear()
            self._known[digest] = (self.clock() + self.seconds, identity)
        return identity


class ReportHandler(web.RequestHandler):
    """``POST <prefix>/report``: a server's activity report, answered with the standing warning."""

    def initialize(self, book: ReportBook, identify: Identify) -> None:
        self.book = book
        self.identify = identify

    def check_xsrf_cookie(self) -> None:  # token-authenticated API, never a cookie
        pass

    def write_error(self, status_code: int, **kwargs) -> None:
        self.set_header("Content-Type", "application/json")
        self.finish({"status": status_code, "message": self._reason})

    def _token(self) -> str:
        scheme, _, token = self.request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() not in ("token", "bearer") or not token.strip():
            raise web.HTTPError(401, reason="a server token is required (Authorization: token ...)")
        return token.strip()

    def _body(self) -> tuple[str, str, ActivityReport]:
        if len(self.request.body) > MAX_REPORT_BYTES:
            raise web.HTTPError(413, reason="report too large")
        try:
            body = json.loads(self.request.body)
            user, server, report = body["user"], body.get("server", ""), body["report"]
            if not (isinstance(user, str) and isinstance(server, str) and isinstance(report, dict)):
                raise TypeError("user and server must be strings, report an object")
            return user, server, ActivityReport.from_json(report)
        except (ValueError, KeyError, TypeError, AttributeError, RecursionError):
            raise web.HTTPError(400, reason="invalid report: expected {user, server, report}") from None

    async def post(self) -> None:
        token = self._token()
        user, server, report = self._body()
        try:
            identity = await self.identify(token)
        except (HubError, OSError, TimeoutError) as error:
            raise web.HTTPError(503, reason=f"the hub did not answer: {type(error).__name__}") from None
        if identity is None:
            raise web.HTTPError(403, reason="the hub does not know this token")
        if not may_report(identity, user, server):
            raise web.HTTPError(403, reason="a server reports for itself only")
        warning = self.book.put(server_key(user, server), report)
        self.set_header("Cache-Control", "no-store")
        self.finish({"warning": warning})
