"""The hub's effective configuration, built by JupyterHub's own loader from its config file."""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from pathlib import Path

from .check import Context

# where the zero-to-jupyterhub chart mounts the hub's config (the hub runs `jupyterhub --config` on it)
CHART_CONFIG = "/usr/local/etc/jupyterhub/jupyterhub_config.py"


def default_config_file() -> str:
    return CHART_CONFIG if Path(CHART_CONFIG).is_file() else "jupyterhub_config.py"


_loading = threading.local()


def loading_for_doctor() -> bool:
    """True while :func:`load_context` runs the config file (its start-up report must stay off)."""
    return getattr(_loading, "active", False)


def load_context(config_file: str, environ=None) -> Context:
    """Run ``config_file`` as the hub does (``JupyterHub.load_config_file``) and keep its config."""
    from jupyterhub.app import JupyterHub

    if not Path(config_file).is_file():  # traitlets would skip it and leave JupyterHub's defaults
        raise FileNotFoundError(f"no file {config_file} (give the hub's with --config)")
    app = JupyterHub()
    # the chart's config prints what it loads; the report (and its JSON) alone goes to stdout
    _loading.active = True
    try:
        with contextlib.redirect_stdout(sys.stderr):
            app.load_config_file(config_file)
    finally:
        _loading.active = False
    return Context(config=app.config, environ=dict(os.environ if environ is None else environ))
