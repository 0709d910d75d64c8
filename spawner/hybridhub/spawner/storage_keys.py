"""Each user's own S3 keys, read on the hub from a mapping file (``HybridSpawner.storage_credentials_file``).

The file is a JSON object ``{"<username>": {"access_key": "...", "secret_key": "..."}}``; in
production a Kubernetes Secret mounted into the hub pod, in the demo a 0600 file in its data
directory. It is read at every server start, so added users and rotated keys need no hub
restart. Errors name the file and the user, never a key.
"""

from __future__ import annotations

import json
from pathlib import Path

from jupyterhub.spawner import SpawnException


class StorageKeysError(SpawnException):
    """The user's keys cannot be found: the server does not start (no fallback to shared keys).

    A JupyterHub ``SpawnException``: a setup matter the admin fixes in the file, so the hub logs
    one line ("Not starting ...") and the spawn page shows the message, not a traceback.
    """

    def __init__(self, message: str):
        super().__init__(message, reason="storage_keys", status_code=500)


def user_keys(path: str | Path, username: str) -> tuple[str, str]:
    """``(access_key, secret_key)`` of ``username``."""
    try:
        data = json.loads(Path(path).read_text())
    except OSError as e:
        raise StorageKeysError(f"cannot read the storage credentials file {path}: {e.strerror}") from None
    except ValueError:
        raise StorageKeysError(f"the storage credentials file {path} is not valid JSON") from None
    entry = data.get(username) if isinstance(data, dict) else None
    keys = (entry.get("access_key"), entry.get("secret_key")) if isinstance(entry, dict) else (None, None)
    if not all(isinstance(k, str) and k for k in keys):
        raise StorageKeysError(f"no storage credentials for user {username!r} in {path}")
    return keys
