"""REST routes of the activity report: thin handlers over :class:`ActivityMonitor`.

- ``GET  /hybridhub/activity`` the report (``?client=lab`` marks a connected browser)
- ``POST /hybridhub/activity/keepalive`` one extension of the idle timeout (409 if refused)
- ``POST /hybridhub/activity/saved`` the browser saved its open documents

The culler never calls these: the server reports to the culler (:mod:`.reporter`) and holds
the warning the culler answers with; the browser reads it in ``GET /hybridhub/activity``.
"""

from __future__ import annotations

from jupyter_server.auth.decorator import authorized
from tornado import web

from ..base_handler import HybridHubHandler
from .errors import ActivityError
from .monitor import ActivityMonitor
from .reporter import ActivityReporter


def start_activity_monitor(serverapp) -> ActivityMonitor:
    """Create the server's monitor (``c.ActivityMonitor``), start sampling and reporting
    to the culler (``c.ActivityReporter``)."""
    monitor = ActivityMonitor(managers=serverapp.web_app.settings, parent=serverapp)
    monitor.start_sampling()
    monitor.reporter = ActivityReporter(monitor, parent=serverapp)
    monitor.reporter.start()
    return monitor


class ActivityBase(HybridHubHandler):
    area = "activity"
    error_class = ActivityError

    @property
    def monitor(self) -> ActivityMonitor:
        return self.hybridhub["activity"]


class ActivityHandler(ActivityBase):
    @web.authenticated
    @authorized
    def get(self):
        self.finish(self.monitor.report(from_browser=self.get_query_argument("client", "") == "lab"))


class KeepAliveHandler(ActivityBase):
    @web.authenticated
    @authorized
    def post(self):
        self.finish(self.monitor.keepalive())  # KeepAliveRefused: 409 with its reason code


class SavedHandler(ActivityBase):
    @web.authenticated
    @authorized
    def post(self):
        self.finish(self.monitor.mark_saved())
