"""GET /hybridhub/status: configuration summary for the frontend."""

from __future__ import annotations

from jupyter_server.auth.decorator import authorized
from tornado import web

from .base_handler import HybridHubHandler
from .status import server_status


class StatusHandler(HybridHubHandler):
    @web.authenticated
    @authorized
    def get(self):
        self.finish(server_status(self.hybridhub["storage"], self.hybridhub["code_home"]))
