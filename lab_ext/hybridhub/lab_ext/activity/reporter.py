"""The server reports its activity to the hybridhub culler, with its own token.

Every ``report_seconds`` (and at once when work starts or ends, on a keep-alive, after the
browser saved) the server POSTs its activity report to ``<culler_url>report`` with
``Authorization: token $JUPYTERHUB_API_TOKEN``: the server's own token, which the culler
checks with the hub and which can report for this one server only. The answer carries the
culler's warning for this server (or none), which the monitor shows to JupyterLab. While a
warning stands the server reports every ``warning_report_seconds``, so "stopping now" and
"saved" travel within seconds. Nothing from the culler ever comes into the server except
that answer: no hub-wide credential reaches a user server.
"""

from __future__ import annotations

import asyncio
import json
import os

from tornado.httpclient import AsyncHTTPClient, HTTPRequest
from tornado.ioloop import IOLoop
from traitlets import Float, Unicode, default
from traitlets.config import LoggingConfigurable

from hybridhub.spawner import envvars

from .monitor import ActivityMonitor


class ActivityReporter(LoggingConfigurable):
    """Pushes this server's activity to the culler service (``c.ActivityReporter.*``)."""

    culler_url = Unicode(
        config=True,
        help="""Base URL of the culler service as this server reaches it, e.g.
        ``http://hub:10100/services/hybridhub-culler/`` (default: $HYBRIDHUB_CULLER_URL).
        Empty: no reports; the culler then judges the server by the hub's last_activity.""",
    )
    report_seconds = Float(30.0, config=True, help="Seconds between two reports while no warning stands.")
    warning_report_seconds = Float(3.0, config=True, help="Seconds between two reports while a culler warning stands.")
    timeout_seconds = Float(10.0, config=True, help="Timeout of one report request.")

    @default("culler_url")
    def _culler_url_default(self):
        return os.environ.get(envvars.CULLER_URL.name, "")

    def __init__(self, monitor: ActivityMonitor, **kwargs) -> None:
        super().__init__(**kwargs)
        self.monitor = monitor
        self.user = os.environ.get("JUPYTERHUB_USER", "")
        self.server = os.environ.get("JUPYTERHUB_SERVER_NAME", "")
        self._token = os.environ.get("JUPYTERHUB_API_TOKEN", "")
        self._wake: asyncio.Event | None = None
        self._task: asyncio.Task | None = None
        self._failing = False
        self.sent = 0

    @property
    def enabled(self) -> bool:
        return bool(self.culler_url and self._token and self.user)

    def start(self) -> None:
        if not self.enabled:
            self.log.info("hybridhub activity: not reporting to a culler (no %s or no hub token)", envvars.CULLER_URL.name)
            return
        self.monitor.on_change = self.nudge
        IOLoop.current().add_callback(self._begin)

    def _begin(self) -> None:
        self._wake = asyncio.Event()
        self._task = asyncio.ensure_future(self._loop())

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None

    def nudge(self) -> None:
        """Report now (work started or ended, keep-alive, saved)."""
        if self._wake is not None:
            self._wake.set()

    async def _loop(self) -> None:
        while True:
            self._wake.clear()
            await self.send()
            interval = self.warning_report_seconds if self.monitor.warning else self.report_seconds
            try:
                await asyncio.wait_for(self._wake.wait(), interval)
            except asyncio.TimeoutError:
                pass

    async def send(self) -> bool:
        """One report; applies the culler's answer. False (logged once per outage) on failure."""
        kept_alive = self.monitor.keepalive_at
        body = json.dumps({"user": self.user, "server": self.server, "report": self.monitor.report()})
        request = HTTPRequest(
            self.culler_url.rstrip("/") + "/report",
            method="POST",
            body=body,
            headers={"Authorization": f"token {self._token}", "Content-Type": "application/json"},
            request_timeout=self.timeout_seconds,
            connect_timeout=self.timeout_seconds,
            follow_redirects=False,
        )
        try:
            response = await AsyncHTTPClient().fetch(request, raise_error=False)
            if response.code != 200:
                raise OSError(f"HTTP {response.code}")
            answer = json.loads(response.body)
            if self.monitor.keepalive_at == kept_alive:
                self.monitor.apply_culler_warning(answer.get("warning"))
            # else: a keep-alive came while this report travelled; the culler's answer to it
            # may be outdated, and the report nudged since carries the keep-alive

        except (OSError, ValueError, TypeError, AttributeError, asyncio.TimeoutError) as error:
            if not self._failing:
                self.log.warning("hybridhub activity: report to the culler failed (%s); retrying", error)
            self._failing = True
            return False
        if self._failing:
            self.log.info("hybridhub activity: reporting to the culler again")
        self._failing = False
        self.sent += 1
        return True
