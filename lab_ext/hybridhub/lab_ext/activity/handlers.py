"""REST routes of the activity report: thin handlers over :class:`ActivityMonitor`.

- ``GET  /hybridhub/activity`` the report (``?client=lab`` marks a connected browser)
- ``POST /hybridhub/activity/keepalive`` one extension of the idle timeout (409 if refused)
- ``POST /hybridhub/activity/warning`` the culler announces a cull; ``DELETE`` withdraws it
- ``POST /hybridhub/activity/saved`` the browser saved its open documents
"""

from __future__ import annotations

import json

from jupyter_server.auth.decorator import authorized
from tornado import web

from ..base_handler import HybridHubHandler
from .monitor import ActivityMonitor, KeepAliveRefused


def start_activity_monitor(serverapp) -> ActivityMonitor:
    """Create the server's monitor (config from ``c.ActivityMonitor``) and start sampling."""
    monitor = ActivityMonitor(managers=serverapp.web_app.settings, parent=serverapp)
    monitor.start_sampling()
    return monitor


class ActivityBase(HybridHubHandler):
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
        try:
            body = self.monitor.keepalive()
        except KeepAliveRefused as refused:
            raise web.HTTPError(409, str(refused), reason=str(refused)) from None
        self.finish(body)


class WarningHandler(ActivityBase):
    @web.authenticated
    @authorized
    def post(self):
        try:
            body = json.loads(self.request.body or b"{}")
            warning = self.monitor.set_warning(body)
        except (ValueError, KeyError, TypeError) as error:
            raise web.HTTPError(400, f"invalid warning: {error}") from None
        self.finish(warning)

    @web.authenticated
    @authorized
    def delete(self):
        self.monitor.clear_warning()
        self.set_status(204)
        self.finish()


class SavedHandler(ActivityBase):
    @web.authenticated
    @authorized
    def post(self):
        self.finish(self.monitor.mark_saved())
