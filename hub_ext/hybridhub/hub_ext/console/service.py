"""The admin console, run by JupyterHub as a service: ``python -m hybridhub.hub_ext.console``.

One page at ``/services/hybridhub-console/`` in JupyterHub's own page template: the doctor's
report on the hub's configuration (run in a worker thread at start and every few minutes),
the node pools and servers now, this month's cost against the budget, the culler's decisions.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from urllib.parse import urlparse

from traitlets import Bool, Float, Int, TraitError, Unicode, default, validate

from ..doctor.context import default_config_file
from ..service_app import HubServiceApp
from . import hub_env
from .doctor_runner import DoctorRunner
from .render import environment
from .sources import HubSources


class ConsoleService(HubServiceApp):
    name = "hybridhub-console"
    description = "One page for the hub's admin: the doctor's report, pools and servers now, cost, culling."
    aliases = {"config": "ConsoleService.config_file", "hub-config": "ConsoleService.hub_config_file"}

    config_file = Unicode("", config=True, help="""Python or JSON config file with ``c.ConsoleService.*``
        (the chart mounts one services.json for all hybridhub services).""")
    hub_config_file = Unicode(config=True, help="""The hub's ``jupyterhub_config.py``, which the doctor
        checks. Default: the chart's (/usr/local/etc/jupyterhub/jupyterhub_config.py) when present,
        else ./jupyterhub_config.py.""")
    doctor_interval_minutes = Float(10.0, config=True, help="""Minutes between two runs of the doctor
        (the first runs at start). Each run loads the hub's config and contacts the object store and GitLab.""")
    doctor_live = Bool(True, config=True, help="""Run the doctor's live checks (object store, GitLab,
        clock) too; False checks the configuration only (``hybridhub doctor --offline``).""")
    adopt_hub_environment = Bool(True, config=True, help="""Give the doctor the hub's environment: the
        console, started by the hub, reads its parent's (/proc/<ppid>/environ) and adds what it lacks.
        The hub's config file reads that environment and the doctor judges it (console/hub_env.py).""")
    cost_summary_path = Unicode("", config=True, help="""The cost service's summary file
        (``c.CostService.summary_path``). Default: the hub config's ``c.BudgetGuard.summary_path``,
        the file the budget guard reads.""")
    cost_service = Unicode("hybridhub-cost", config=True, help="Name of the cost service (its CSV/JSON downloads are linked).")
    culler_service = Unicode("hybridhub-culler", config=True, help="Name of the culler service whose decisions are shown.")
    recent_decisions = Int(20, config=True, help="How many recent warnings and stops of the culler the page lists.")
    request_timeout = Float(5.0, config=True, help="Timeout of each request to the hub and the culler, seconds.")
    base_url = Unicode(config=True, help="The hub's base URL (default: $JUPYTERHUB_BASE_URL, else /).")

    @default("hub_config_file")
    def _hub_config_file(self):
        return default_config_file()

    @default("base_url")
    def _base_url(self):
        return os.environ.get("JUPYTERHUB_BASE_URL") or "/"

    @validate("doctor_interval_minutes")
    def _check_interval(self, proposal):
        if proposal["value"] <= 0:
            raise TraitError(f"ConsoleService.doctor_interval_minutes must be greater than 0 (got {proposal['value']})")
        return proposal["value"]

    def initialize(self, argv=None):
        super().initialize(argv)
        if self.config_file:
            self.load_config_file(self.config_file)
        if self.adopt_hub_environment:
            parent = hub_env.parent_environment()
            added = hub_env.adopt(os.environ, parent) if parent else []
            self.log.info("hybridhub console: the doctor sees the hub's environment (%d variables added)", len(added))
        self.doctor = DoctorRunner(self.hub_config_file, self.doctor_interval_minutes, self.doctor_live, self.log)
        self.templates = environment()
        self.sources: HubSources | None = None

    def summary_path(self) -> str:
        if self.cost_summary_path:
            return self.cost_summary_path
        hub = self.doctor.hub_config
        return str(hub.BudgetGuard.get("summary_path", "")) if hub is not None and "BudgetGuard" in hub else ""

    def render(self, namespace: dict) -> str:
        return self.templates.get_template("console.html").render(namespace)

    async def run(self) -> None:
        from .web import make_app

        self.sources = HubSources(self.api_url, self.api_token, self.culler_service, self.request_timeout)
        if self.service_url:
            url = urlparse(self.service_url)
            make_app(self.service_prefix, self, secrets.token_bytes(32)).listen(url.port or 80, url.hostname or "127.0.0.1")
        self.log.info("hybridhub console at %s: doctor on %s every %g min", self.service_prefix, self.hub_config_file,
                      self.doctor_interval_minutes)
        task = asyncio.create_task(self.doctor.loop(), name="doctor")
        try:
            await asyncio.Event().wait()
        finally:
            task.cancel()
            self.doctor.close()
            await self.sources.aclose()


main = ConsoleService.launch_instance
