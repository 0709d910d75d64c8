"""The base of hybridhub's JupyterHub services (culler, cost): hub connection and lifecycle.

A subclass defines ``async def run(self)``; this base reads the hub connection from the
environment JupyterHub gives a managed service, refuses to start without a token, and stops
cleanly on SIGTERM/SIGINT (the hub stops its services with these).
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys

from traitlets import Unicode, default
from traitlets.config import Application

NO_TOKEN = "no API token: run as a JupyterHub service or set $JUPYTERHUB_API_TOKEN"


class HubServiceApp(Application):
    api_url = Unicode(config=True, help="Hub API URL (default: $JUPYTERHUB_API_URL).")
    api_token = Unicode(config=True, help="The service's API token (default: $JUPYTERHUB_API_TOKEN).")
    service_url = Unicode(config=True, help="Where this service listens (default: $JUPYTERHUB_SERVICE_URL).")
    service_prefix = Unicode(config=True, help="URL prefix of this service (default: $JUPYTERHUB_SERVICE_PREFIX).")

    @default("api_url")
    def _api_url(self):
        return os.environ.get("JUPYTERHUB_API_URL", "http://127.0.0.1:8081/hub/api")

    @default("api_token")
    def _api_token(self):
        return os.environ.get("JUPYTERHUB_API_TOKEN", "")

    @default("service_url")
    def _service_url(self):
        return os.environ.get("JUPYTERHUB_SERVICE_URL", "")

    @default("service_prefix")
    def _service_prefix(self):
        return os.environ.get("JUPYTERHUB_SERVICE_PREFIX", f"/services/{self.name}/")

    @default("log_level")
    def _log_level(self):
        return "INFO"

    def start(self):
        if not self.api_token:
            self.log.critical(NO_TOKEN)
            sys.exit(2)
        try:
            asyncio.run(self.run_until_signalled())
        except KeyboardInterrupt:
            pass
        self.log.info("%s: stopped", self.name)

    async def run_until_signalled(self) -> None:
        task = asyncio.current_task()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, task.cancel)
        try:
            await self.run()
        except asyncio.CancelledError:
            pass
