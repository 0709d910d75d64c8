"""Demo secrets (store keys, login passwords), made once per data directory.

Kept in one 0600 file inside the demo's private data directory so a restarted demo keeps
its data reachable; the demo prints the login passwords, never the store keys.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import asdict, dataclass
from pathlib import Path

from .objectstore import StoreCredentials


@dataclass(frozen=True)
class DemoSecrets:
    user_password: str
    admin_password: str
    store: StoreCredentials


def _new_secrets() -> DemoSecrets:
    return DemoSecrets(
        user_password=secrets.token_urlsafe(9),
        admin_password=secrets.token_urlsafe(24),  # JupyterHub wants >= 32 characters for admins
        store=StoreCredentials(
            admin_access_key="hhadmin" + secrets.token_hex(6),
            admin_secret_key=secrets.token_urlsafe(30),
            user_access_key="hhuser" + secrets.token_hex(6),
            user_secret_key=secrets.token_urlsafe(30),
        ),
    )


def load_or_create(path: Path) -> DemoSecrets:
    if path.exists():
        data = json.loads(path.read_text())
        return DemoSecrets(data["user_password"], data["admin_password"], StoreCredentials(**data["store"]))
    made = _new_secrets()
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(asdict(made), f)
    os.replace(tmp, path)
    return made
