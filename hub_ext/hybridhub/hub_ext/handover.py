"""What the hub hands to the hybridhub services it starts (``hub.extraConfig`` calls this last).

JupyterHub starts a managed service with a bare environment (its ``JUPYTERHUB_*`` variables,
``PATH``, ``PYTHONPATH``, ``LANG`` and the service's own ``environment``), not the hub
container's. In the zero-to-jupyterhub chart the services therefore see neither the Kubernetes
API server (``KUBERNETES_SERVICE_HOST``/``PORT``) nor their namespace (``POD_NAMESPACE``), and
their profile catalog would be the built-in one, not the hub's. This puts all three into each
hybridhub service's ``environment``: the catalog as JSON (``HYBRIDHUB_PROFILE_CATALOG``), read
by :class:`~hybridhub.spawner.profiles.ProfileCatalog`, so hub, culler and cost service share one.
"""

from __future__ import annotations

import os

from hybridhub.spawner.profiles import CATALOG_ENV, ProfileCatalog

SERVICE_PREFIX = "hybridhub-"
# the hub container's variables a service needs to reach the cluster like the hub does
PASSED_ON = ("KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT", "POD_NAMESPACE")


def hand_over_to_services(c, environ=os.environ) -> list[str]:
    """Add the cluster's address, the namespace and the hub's catalog to hybridhub services.

    ``c`` is the hub's config at the end of loading; returns the names of the services changed.
    """
    catalog = ProfileCatalog(config=c).as_json()
    changed = []
    for service in c.JupyterHub.get("services", []):
        if not (service.get("name", "").startswith(SERVICE_PREFIX) and service.get("command")):
            continue
        env = dict(service.get("environment") or {})
        env.update({name: environ[name] for name in PASSED_ON if name in environ})
        env[CATALOG_ENV] = catalog
        service["environment"] = env
        changed.append(service["name"])
    return changed
