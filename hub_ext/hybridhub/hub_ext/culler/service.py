"""The hybridhub culler, run by JupyterHub as a service: ``python -m hybridhub.hub_ext.culler``.

User servers push their activity reports to the culler (``<prefix>/report``, with their own
token; see :mod:`.reports`); the culler never calls into a user server. Each round lists the
servers through the hub API, takes each ready server's latest report, asks
:func:`~.policy.decide` and acts: post a warning (handed to the server as the answer to its
next report), or stop the server through the hub API. One log line per decision, with its
reason; the decisions are also served to admins at ``/services/<name>/decisions``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import secrets
import time
from datetime import datetime, timedelta, timezone
from urllib.parse import urlparse

from traitlets import Bool, Float, Int, Unicode, default

from hybridhub.spawner.profiles import ProfileCatalog

from ..service_app import HubServiceApp

from .activity import HubClient
from .decisions import DecisionLog, make_web_app
from .policy import ActivityReport, Decision, Limits, ServerState, ServerView, Settings, decide, duration
from .reports import IdentityCache, ReportBook


def utcnow() -> datetime:
    """The culler's one clock (unit tests patch this)."""
    return datetime.now(timezone.utc)


class HybridCuller(HubServiceApp):
    name = "hybridhub-culler"
    description = "Stop idle JupyterHub servers by their profile's idle timeout and max age, from real activity."

    aliases = {
        "config": "HybridCuller.config_file",
        "interval": "HybridCuller.interval",
        "warn-before": "HybridCuller.warn_before_seconds",
    }
    flags = {
        "dry-run": ({"HybridCuller": {"dry_run": True}}, "Decide and log, but never warn nor stop a server."),
        "cull-admins": ({"HybridCuller": {"cull_admins": True}}, "Cull admins' servers too."),
    }

    config_file = Unicode(
        "",
        config=True,
        help="""Python config file with ``c.HybridCuller.*`` and ``c.ProfileCatalog.*``.

        Point it at a file that defines the same ``c.ProfileCatalog.profiles`` as the hub,
        for example one both configs load, so the culler sees the same profiles.""",
    )
    interval = Float(60.0, config=True, help="Seconds between two culling rounds.")
    dry_run = Bool(
        False,
        config=True,
        help="""Decide and log every decision, serve them to admins, but change nothing:
        no warning is sent to any server and no server is stopped.""",
    )
    warn_before_seconds = Int(
        300,
        config=True,
        help="""Warn the user this many seconds before a cull (JupyterLab notification with a
        "Keep running" action). A cull never happens sooner than this after its warning.
        The server picks the warning up with its next report, so keep this well above the
        servers' ``ActivityReporter.report_seconds``. 0 disables warnings.""",
    )
    cull_admins = Bool(False, config=True, help="Cull servers of admin users too.")
    cull_named_servers = Bool(True, config=True, help="Cull named servers too (not only default servers).")
    remove_named_servers = Bool(False, config=True, help="Remove culled named servers instead of only stopping them.")
    fallback_to_hub_activity = Bool(
        True,
        config=True,
        help="""When a server gives no activity report (hybridhub extension missing, server
        unreachable), judge it by the hub's last_activity like the classic culler. When False,
        such servers are kept (only max age stops them).""",
    )
    save_grace_seconds = Float(
        15.0,
        config=True,
        help="""Before stopping a server with a connected browser, tell it "stopping now" and wait
        up to this long for the browser to save open documents.""",
    )
    report_timeout_seconds = Float(
        120.0,
        config=True,
        help="""A server's report older than this counts as missing (the server stopped
        reporting: extension missing, culler unreachable), and the server is judged as
        ``fallback_to_hub_activity`` says. Servers report every 30 s by default
        (``c.ActivityReporter.report_seconds``) and at once when work starts or ends.""",
    )
    identity_cache_seconds = Float(
        60.0,
        config=True,
        help="""How long the hub's answer about a reporting token (``GET /hub/api/user``) is
        reused, so a fleet reporting every 30 s does not ask the hub 30 times a second.""",
    )
    concurrency = Int(10, config=True, help="Concurrent requests to the hub.")
    request_timeout = Float(10.0, config=True, help="Timeout of each HTTP request, seconds.")
    decisions_kept = Int(1000, config=True, help="How many recent decisions admins can read.")
    proxy_url = Unicode(
        "",
        config=True,
        help="""No longer used: the culler does not call user servers any more (they report to
        it). Accepted so older configuration files still load; remove it.""",
    )

    @default("log_datefmt")
    def _log_datefmt(self):
        return "%Y-%m-%d %H:%M:%S"

    @default("log_format")
    def _log_format(self):
        return "[%(levelname)1.1s %(asctime)s.%(msecs).03d %(name)s] %(message)s"

    def initialize(self, argv=None):
        super().initialize(argv)
        if self.config_file:
            self.load_config_file(self.config_file)
        self.catalog = ProfileCatalog(parent=self)
        self.settings = Settings(
            warn_before_seconds=self.warn_before_seconds,
            cull_admins=self.cull_admins,
            cull_named_servers=self.cull_named_servers,
            fallback_to_hub_activity=self.fallback_to_hub_activity,
        )
        self.decisions = DecisionLog(self.decisions_kept)
        self.states: dict[str, ServerState] = {}
        self.book = ReportBook(clock=lambda: utcnow())
        self.started_at = utcnow()

    # -- one server ---------------------------------------------------------------------

    def limits_for(self, slug: str) -> Limits:
        profile = (self.catalog.get(slug) if slug else None) or self.catalog.default_profile()
        return Limits(profile.slug, profile.idle_timeout_seconds, profile.max_age_seconds)

    def state_for(self, view: ServerView) -> ServerState:
        state = self.states.get(view.key)
        if state is None or state.started != view.started:  # a new start forgets old warnings
            state = self.states[view.key] = ServerState(started=view.started)
        return state

    def report_for(self, view: ServerView, now: datetime) -> tuple[ActivityReport, bool]:
        """The server's latest report (or why there is none), and whether one may still come.

        A server gets ``report_timeout_seconds`` after its start, and after the culler's own
        start, to deliver a first report before the hub's ``last_activity`` stands in for it.
        """
        received = self.book.get(view.key)
        timeout = timedelta(seconds=self.report_timeout_seconds)
        if received is None or (view.started is not None and received.received < view.started):
            since = max(m for m in (self.started_at, view.started) if m is not None)
            return ActivityReport.unavailable("no report yet"), now - since < timeout
        age = now - received.received
        if age > timeout:
            return ActivityReport.unavailable(f"no report for {duration(age.total_seconds())}"), False
        return received.report, False

    async def judge(self, client: HubClient, user: dict, name: str, server: dict) -> Decision:
        view = ServerView.from_model(user, name, server)
        limits = self.limits_for(view.profile)
        state = self.state_for(view)
        now = utcnow()
        report, awaited = self.report_for(view, now)
        # while a first report may still come, an idle clock from the hub would be premature
        settings = dataclasses.replace(self.settings, fallback_to_hub_activity=False) if awaited else self.settings
        decision = decide(view, limits, report, now, state, settings)
        outcome = await self.act(client, view, decision, report, state, now)
        prefix = "[dry run] " if self.dry_run and decision.action in ("warn", "cull") else ""
        self.log.info("%s%s %s: %s%s", prefix, decision.action, view.key, decision.reason, f" -> {outcome}" if outcome else "")
        self.decisions.add(now, view, limits.profile, decision, self.dry_run, outcome)
        return decision

    async def act(self, client, view, decision, report, state, now) -> str:
        if decision.action == "keep":
            state.warned_at = state.warned_cull_at = state.warned_kind = None
            self.book.withdraw(view.key)
            return ""
        if decision.action == "warn":
            fresh = state.warned_at is None or state.warned_kind != decision.kind
            if fresh:
                state.warned_at, state.warned_kind = now, decision.kind
            if state.warned_cull_at == decision.cull_at:
                return ""
            state.warned_cull_at = decision.cull_at
            if self.dry_run:
                return "not sent (dry run)"
            body = {"cull_at": decision.cull_at.isoformat(), "reason": decision.reason, "kind": decision.kind, "state": "pending"}
            self.book.warn(view.key, body)
            return "warning posted"
        if decision.action != "cull":
            return ""
        if self.dry_run:
            return "not stopped (dry run)"
        if report.browser_connected and self.save_grace_seconds > 0:
            await self.let_browser_save(view, decision, now)
        status = await client.stop(view.user, view.name, self.remove_named_servers)
        self.states.pop(view.key, None)
        self.book.forget(view.key)
        return {202: "stopping", 204: "stopped", 404: "already gone"}.get(status, f"HTTP {status}")

    async def let_browser_save(self, view: ServerView, decision: Decision, now: datetime) -> None:
        """Post "stopping now" and wait (up to ``save_grace_seconds``) for a report saying saved."""
        body = {"cull_at": now.isoformat(), "reason": decision.reason, "kind": decision.kind, "state": "stopping"}
        self.book.warn(view.key, body)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.save_grace_seconds
        while True:
            received = self.book.get(view.key)
            if received and received.report.saved_at is not None and received.report.saved_at >= now:
                return
            left = deadline - loop.time()
            if left <= 0:
                return
            try:
                await asyncio.wait_for(self.book.next_report(view.key, loop), left)
            except asyncio.TimeoutError:
                return

    # -- rounds -------------------------------------------------------------------------

    async def cull_round(self, client: HubClient) -> list[Decision]:
        users = await client.users()
        jobs = [
            self.judge(client, user, name, server)
            for user in users
            for name, server in (user.get("servers") or {}).items()
        ]
        present = {ServerView.from_model(u, n, s).key for u in users for n, s in (u.get("servers") or {}).items()}
        for key in set(self.states) - present:
            del self.states[key]
        self.decisions.forget_missing(present)
        self.book.forget_missing(present)
        results = await asyncio.gather(*jobs, return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException):
                self.log.error("culling a server failed: %s: %s", type(result).__name__, result)
        self.decisions.rounds += 1
        return [r for r in results if isinstance(r, Decision)]

    async def run(self) -> None:
        client = HubClient(self.api_url, self.api_token, self.request_timeout, concurrency=self.concurrency)
        identify = IdentityCache(client.identify, time.monotonic, self.identity_cache_seconds)
        if self.service_url:
            url = urlparse(self.service_url)
            app = make_web_app(self.service_prefix, self.decisions, self.dry_run, secrets.token_bytes(32), self.book, identify)
            app.listen(url.port or 80, url.hostname or "127.0.0.1")
        else:
            self.log.warning("no service URL: user servers cannot report; servers are judged by the hub's last_activity")
        if self.proxy_url:
            self.log.info("HybridCuller.proxy_url is no longer used (user servers report to the culler); remove it")
        self.log.info(
            "hybridhub culler: every %s s, warn %s s ahead%s, reports at %sreport",
            self.interval, self.warn_before_seconds, ", DRY RUN" if self.dry_run else "", self.service_prefix,
        )
        try:
            while True:
                try:
                    await self.cull_round(client)
                except Exception as error:  # the hub restarting must not kill the culler
                    self.log.error("culling round failed: %s: %s", type(error).__name__, error)
                await asyncio.sleep(self.interval)
        finally:
            await client.aclose()


main = HybridCuller.launch_instance
