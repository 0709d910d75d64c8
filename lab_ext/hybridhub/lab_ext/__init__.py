"""hybridhub's jupyter-server extension: REST handlers behind the JupyterLab panels.

It runs inside each user's server and talks to the object store, GitLab and the hub's REST
API only, never to Kubernetes.
"""

from __future__ import annotations

__version__ = "0.1.0"


def _jupyter_labextension_paths():
    return [{"src": "labextension", "dest": "hybridhub"}]


def _jupyter_server_extension_points():
    return [{"module": "hybridhub.lab_ext"}]


def _load_jupyter_server_extension(serverapp):
    from .routes import setup_routes
    from .storage.service import start as start_storage

    setup_routes(serverapp)
    start_storage(serverapp, serverapp.web_app.settings["hybridhub"])  # sweeps what a crash left behind
    serverapp.log.info("hybridhub server extension %s loaded", __version__)
