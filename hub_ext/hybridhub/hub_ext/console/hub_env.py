"""The hub's own environment, for the doctor: the console is a process the hub started.

JupyterHub starts a managed service with a bare environment (hub_ext/handover.py), but the
hub's config file reads the hub container's (the chart's ``jupyterhub_config.py`` finds its
Services through ``*_SERVICE_HOST``), and the doctor judges that environment
(``JUPYTERHUB_CRYPT_KEY`` present, the hub's ``SSL_CERT_FILE``, ``TZ``). The console reads
its parent's environment from ``/proc/<ppid>/environ`` (Linux; same user) and adds what it
lacks to its own; its own variables (its token, its URL) win. Values stay in memory, never shown.
"""

from __future__ import annotations

import os
from typing import Mapping, MutableMapping


def parent_environment(pid: int | None = None) -> dict[str, str] | None:
    """The environment process ``pid`` (default: the parent) started with; None when unreadable."""
    try:
        with open(f"/proc/{pid or os.getppid()}/environ", "rb") as f:
            raw = f.read()
    except OSError:
        return None
    pairs = (item.decode("utf-8", "surrogateescape").partition("=") for item in raw.split(b"\0") if b"=" in item)
    return {name: value for name, _, value in pairs if name}


def adopt(environ: MutableMapping[str, str], parent: Mapping[str, str]) -> list[str]:
    """Add ``parent``'s variables missing from ``environ``; returns their names (for the log)."""
    added = sorted(name for name in parent if name not in environ)
    for name in added:
        environ[name] = parent[name]
    return added
