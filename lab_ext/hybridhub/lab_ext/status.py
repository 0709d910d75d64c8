"""What this user server has configured, in a form safe to send to the browser."""

from __future__ import annotations

from . import __version__
from .config import CodeHomeConfig, StorageConfig


def server_status(storage: StorageConfig, code_home: CodeHomeConfig) -> dict:
    """Summary for the frontend. Holds no credential: only whether they are present."""
    return {
        "version": __version__,
        "storage": {
            "configured": storage.configured,
            "endpoint": storage.endpoint,
            "default_bucket": storage.default_bucket,
            "prefix": storage.prefix,
        },
        "git": {"remote_configured": bool(code_home.git_remote_url)},
        "gitlab": {"configured": bool(code_home.gitlab_url), "url": code_home.gitlab_url},
    }
