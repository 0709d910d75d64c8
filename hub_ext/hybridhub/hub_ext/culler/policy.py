"""The culling decision for one server: a pure function of what the culler knows now.

``decide(server, profile, report, now, state, settings)`` returns a :class:`Decision`
(action + one-line reason). No I/O and no clock here, so every rule is unit-tested and the
benchmark measures the policy alone.

Rules, in order:

1. a server that is starting (spawn pending, not ready) is never culled; one whose stop is
   pending is left alone;
2. admins' servers only when ``cull_admins``; named servers only when ``cull_named_servers``;
3. past the profile's max age the server is culled even while busy;
4. a server doing work (the activity report says busy) is kept;
5. otherwise it is idle since the latest of: start, last work seen, keep-alive; past the
   profile's idle timeout it is culled;
6. a cull is always announced first: a warning ``warn_before_seconds`` ahead, and the cull
   happens no sooner than that long after the warning.

Without an activity report (extension missing, server unreachable) the hub's
``last_activity`` stands in for "last work seen" when ``fallback_to_hub_activity`` is set
(that is the classic culler's signal); otherwise the server is kept.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Literal

Action = Literal["keep", "warn", "cull", "skip-starting", "skip-stopping", "skip-admin", "skip-named"]


def parse_time(text: str | None) -> datetime | None:
    """ISO 8601 from the hub or the server extension ('Z' or offset) to an aware datetime."""
    if not text:
        return None
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def duration(seconds: float) -> str:
    """12 s, 5m03s, 2h05m: short and unambiguous in a log line."""
    seconds = int(max(seconds, 0))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


@dataclass(frozen=True)
class ServerView:
    """The parts of the hub's server model the policy needs."""

    user: str
    name: str  # "" for the default server
    admin: bool
    ready: bool
    pending: str | None  # "spawn", "stop", ... or None
    started: datetime | None
    hub_last_activity: datetime | None
    profile: str  # slug from user_options["profile"], "" if none

    @property
    def key(self) -> str:
        return f"{self.user}/{self.name}" if self.name else self.user

    @classmethod
    def from_model(cls, user: dict, name: str, server: dict) -> "ServerView":
        options = server.get("user_options") or {}
        return cls(
            user=user["name"],
            name=name,
            admin=bool(user.get("admin")),
            ready=bool(server.get("ready")),
            pending=server.get("pending"),
            started=parse_time(server.get("started")),
            hub_last_activity=parse_time(server.get("last_activity")),
            profile=str(options.get("profile") or ""),
        )


@dataclass(frozen=True)
class ActivityReport:
    """What the server extension reports (``GET /hybridhub/activity``), or why it could not."""

    busy: bool = False
    reasons: tuple[str, ...] = ()
    last_busy: datetime | None = None
    keepalive_at: datetime | None = None
    browser_connected: bool = False
    saved_at: datetime | None = None
    error: str | None = None  # set when no report could be read

    @classmethod
    def from_json(cls, body: dict) -> "ActivityReport":
        return cls(
            busy=bool(body.get("busy")),
            reasons=tuple(str(r) for r in body.get("reasons") or ()),
            last_busy=parse_time(body.get("last_busy")),
            keepalive_at=parse_time(body.get("keepalive_at")),
            browser_connected=bool(body.get("browser_connected")),
            saved_at=parse_time(body.get("saved_at")),
        )

    @classmethod
    def unavailable(cls, error: str) -> "ActivityReport":
        return cls(error=error)


@dataclass(frozen=True)
class Limits:
    """The profile's limits (from ``ProfileCatalog``), resolved once per server."""

    profile: str
    idle_timeout_seconds: int
    max_age_seconds: int


@dataclass(frozen=True)
class Settings:
    warn_before_seconds: int = 300
    cull_admins: bool = False
    cull_named_servers: bool = True
    fallback_to_hub_activity: bool = True


@dataclass
class ServerState:
    """What the culler remembers about one server between rounds."""

    started: datetime | None = None
    warned_at: datetime | None = None
    warned_cull_at: datetime | None = None
    warned_kind: str | None = None


@dataclass(frozen=True)
class Decision:
    action: Action
    reason: str
    cull_at: datetime | None = None
    kind: str | None = None  # "idle" or "max-age" when a cull is planned
    details: dict = field(default_factory=dict)


def decide(
    server: ServerView,
    limits: Limits,
    report: ActivityReport | None,
    now: datetime,
    state: ServerState,
    settings: Settings,
) -> Decision:
    if server.pending == "stop":
        return Decision("skip-stopping", "stop already in progress")
    if server.pending or not server.ready:
        return Decision("skip-starting", f"server is starting ({server.pending or 'not ready'})")
    if server.admin and not settings.cull_admins:
        return Decision("skip-admin", "admin's server (cull_admins is off)")
    if server.name and not settings.cull_named_servers:
        return Decision("skip-named", "named server (cull_named_servers is off)")

    started = server.started or now
    age = (now - started).total_seconds()
    age_deadline = started + timedelta(seconds=limits.max_age_seconds)
    age_text = f"age {duration(age)} of max {duration(limits.max_age_seconds)} (profile {limits.profile})"

    idle_deadline, idle_text, busy_text = _idle_deadline(server, limits, report, now, settings)

    if idle_deadline is None or age_deadline <= idle_deadline:
        cull_at, kind, why = age_deadline, "max-age", age_text + (f"; {busy_text}" if busy_text else "")
    else:
        cull_at, kind, why = idle_deadline, "idle", idle_text
    if cull_at - now > timedelta(seconds=settings.warn_before_seconds):
        return Decision("keep", busy_text or f"{idle_text}; {age_text}")

    # A cull must be announced first, and at least warn_before_seconds before it happens.
    if settings.warn_before_seconds > 0:
        if state.warned_at is None or state.warned_kind != kind:
            announced = max(cull_at, now + timedelta(seconds=settings.warn_before_seconds))
            return Decision("warn", f"{why}; culling at {announced:%H:%M:%S} UTC", cull_at=announced, kind=kind)
        cull_at = max(cull_at, state.warned_at + timedelta(seconds=settings.warn_before_seconds))
    if now < cull_at:
        return Decision("warn", f"{why}; culling at {cull_at:%H:%M:%S} UTC", cull_at=cull_at, kind=kind)
    return Decision("cull", why, cull_at=cull_at, kind=kind)


def _idle_deadline(
    server: ServerView, limits: Limits, report: ActivityReport | None, now: datetime, settings: Settings
) -> tuple[datetime | None, str, str]:
    """(moment the idle timeout expires or None while busy, idle reason, busy reason)."""
    started = server.started or now
    timeout = limits.idle_timeout_seconds
    if report is None or report.error:
        error = report.error if report else "not fetched"
        if not settings.fallback_to_hub_activity:
            return None, "", f"no activity report ({error}); kept"
        since = max(m for m in (started, server.hub_last_activity) if m is not None)
        text = (
            f"no activity report ({error}); hub last_activity {duration((now - since).total_seconds())} ago, "
            f"timeout {duration(timeout)} (profile {limits.profile})"
        )
        return since + timedelta(seconds=timeout), text, ""
    if report.busy:
        return None, "", "busy: " + ", ".join(report.reasons or ("work reported",))
    since = max(m for m in (started, report.last_busy, report.keepalive_at) if m is not None)
    source = "kept alive" if since == report.keepalive_at else ("last work" if since == report.last_busy else "start")
    text = f"idle {duration((now - since).total_seconds())} since {source}, timeout {duration(timeout)} (profile {limits.profile})"
    return since + timedelta(seconds=timeout), text, ""
