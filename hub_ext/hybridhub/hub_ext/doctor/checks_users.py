"""What a user server is given: the object store and each user's own keys, GitLab, the culler."""

from __future__ import annotations

import json
from pathlib import Path

from .check import FAIL, PASS, WARN, Context, Result, configured
from .classes import hub_class

CULLER_URL_ENV = "HYBRIDHUB_CULLER_URL"


def _spawner_setting(context: Context, trait: str, default=None):
    return configured(context.config, hub_class(context, "spawner_class", "jupyterhub.spawners"), trait, default)


def _url_given(context: Context, name: str, trait: str, saw: str, fix: str) -> Result:
    """A URL setting of the spawner that user servers need: ``saw`` when set, ``saw``_unset and ``fix`` if not."""
    url = _spawner_setting(context, trait, "")
    if not url:
        return Result(name, FAIL, f"{saw}_unset", {}, fix)
    return Result(name, PASS, saw, {"url": url})


def storage_endpoint(context: Context) -> Result:
    return _url_given(context, "storage-endpoint", "storage_endpoint", "saw_storage_endpoint", "fix_storage_endpoint")


def storage_keys_file(context: Context) -> Result:
    """Each user's own keys: the mapping file exists, is a JSON object; its keys are never shown."""
    name = "storage-keys"
    path = _spawner_setting(context, "storage_credentials_file", "")
    if not path:
        shared = bool(_spawner_setting(context, "storage_access_key", ""))
        return Result(name, WARN if shared else FAIL, "saw_keys_shared" if shared else "saw_keys_unset", {},
                      "fix_keys_unset")
    try:
        data = json.loads(Path(path).read_text())
    except OSError as e:
        return Result(name, FAIL, "saw_keys_unreadable", {"path": path, "error": e.strerror or type(e).__name__},
                      "fix_keys_unreadable")
    except ValueError:
        return Result(name, FAIL, "saw_keys_not_json", {"path": path}, "fix_keys_not_json")
    if not isinstance(data, dict):
        return Result(name, FAIL, "saw_keys_not_json", {"path": path}, "fix_keys_not_json")
    if not data:
        return Result(name, WARN, "saw_keys_empty", {"path": path}, "fix_keys_empty")
    return Result(name, PASS, "saw_keys_ok", {"path": path, "users": len(data)})


def gitlab_url(context: Context) -> Result:
    return _url_given(context, "gitlab-url", "gitlab_url", "saw_gitlab_url", "fix_gitlab_url")


def culler_url(context: Context) -> Result:
    """User servers report activity to the culler at this URL; without it the culler hears of no activity."""
    name = "culler-url"
    env = _spawner_setting(context, "environment", {}) or {}
    url = env.get(CULLER_URL_ENV)
    if not url:
        return Result(name, FAIL, "saw_culler_url_unset", {"variable": CULLER_URL_ENV}, "fix_culler_url")
    return Result(name, PASS, "saw_culler_url", {"url": url})
