"""All hybridhub REST routes, in one table."""

from __future__ import annotations

from jupyter_server.utils import url_path_join

from .config import CodeHomeConfig, StorageConfig
from .status_handler import StatusHandler

NAMESPACE = "hybridhub"

ROUTES = [
    ("status", StatusHandler),
]


def setup_routes(serverapp) -> None:
    web_app = serverapp.web_app
    web_app.settings["hybridhub"] = {
        "storage": StorageConfig(parent=serverapp),
        "code_home": CodeHomeConfig(parent=serverapp),
    }
    base_url = web_app.settings["base_url"]
    handlers = [(url_path_join(base_url, NAMESPACE, path), handler) for path, handler in ROUTES]
    web_app.add_handlers(".*$", handlers)
