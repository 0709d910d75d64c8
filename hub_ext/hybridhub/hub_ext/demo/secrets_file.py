"""Demo secrets (store keys, login passwords), made once per data directory.

Kept in one 0600 file inside the demo's private data directory so a restarted demo keeps
its data reachable; the demo prints the login passwords, never the store keys. Each demo user
has her own store keys (identities.py); there is no store identity shared by users.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Iterable

from .identities import UserKeys, new_user_keys
from .objectstore import StoreCredentials
from .private_json import write_private_json


@dataclass(frozen=True)
class DemoSecrets:
    user_password: str
    admin_password: str
    store: StoreCredentials  # the admin keys that seed the store; no shared user keys
    users: dict[str, UserKeys]  # each demo user's own store keys


def _new_secrets(usernames: Iterable[str]) -> DemoSecrets:
    return DemoSecrets(
        user_password=secrets.token_urlsafe(9),
        admin_password=secrets.token_urlsafe(24),  # JupyterHub wants >= 32 characters for admins
        store=StoreCredentials(
            admin_access_key="hhadmin" + secrets.token_hex(6),
            admin_secret_key=secrets.token_urlsafe(30),
            user_access_key="",
            user_secret_key="",
        ),
        users={name: new_user_keys() for name in usernames},
    )


def _read(data: dict, usernames: Iterable[str]) -> DemoSecrets:
    """A saved file; one from before per-user keys loses its shared user key and gains users' keys."""
    store = data["store"]
    users = {name: UserKeys(**keys) for name, keys in data.get("users", {}).items()}
    for name in usernames:
        users.setdefault(name, new_user_keys())
    return DemoSecrets(
        data["user_password"],
        data["admin_password"],
        StoreCredentials(store["admin_access_key"], store["admin_secret_key"], "", ""),
        users,
    )


def load_or_create(path: Path, usernames: Iterable[str]) -> DemoSecrets:
    """The saved secrets, completed with keys for users new to this data directory."""
    usernames = tuple(usernames)
    saved = json.loads(path.read_text()) if path.exists() else None
    made = _read(saved, usernames) if saved else _new_secrets(usernames)
    if asdict(made) != saved:
        write_private_json(path, asdict(made))
    return made
