"""The admin console: one hub service page for the admin (issue 23, docs/console.md).

The doctor's report, node pools and servers now, this month's cost against the budget, the
culler's decisions — in JupyterHub's own page template, in English or Japanese.
"""

from __future__ import annotations

NAME = "hybridhub-console"


def console_url(service_prefix: str) -> str:
    """The console's URL beside another service's prefix: ``/x/services/hybridhub-cost/`` →
    ``/x/services/hybridhub-console/`` (the old pages redirect there)."""
    return service_prefix.rstrip("/").rpartition("/")[0] + f"/{NAME}/"
