"""One S3 identity per demo user: her own bucket to read and write, the shared buckets read-only.

The embedded store (SeaweedFS) enforces the actions listed for each identity in its ``s3.json``
(``Identity.CanDo`` in weed/s3api/auth_credentials.go): ``Read``/``Write``/``List``/``Tagging``
without a colon apply to every bucket, ``Read:<bucket>`` to that bucket only; ``Write`` covers
uploads, multipart uploads and deletes. A bucket per user is what it enforces plainly, also in
its bucket listing (a user sees only the buckets she may list). The spawner hands each user's
server its own keys from the mapping file written here (``HybridSpawner.storage_credentials_file``).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Mapping

from .private_json import write_private_json

OWN_ACTIONS = ("Read", "Write", "List", "Tagging")
SHARED_ACTIONS = ("Read", "List")


@dataclass(frozen=True)
class UserKeys:
    access_key: str
    secret_key: str


def user_bucket(username: str) -> str:
    """The user's own area: a bucket named after her (demo user names are valid bucket names)."""
    return f"home-{username}"


def new_user_keys() -> UserKeys:
    return UserKeys(access_key="hhu" + secrets.token_hex(8), secret_key=secrets.token_urlsafe(30))


def user_identity(username: str, keys: UserKeys, shared_buckets: Iterable[str]) -> dict:
    """The ``s3.json`` identity of one user: no Admin action, so no bucket creation either."""
    own = user_bucket(username)
    actions = [f"{action}:{own}" for action in OWN_ACTIONS]
    actions += [f"{action}:{bucket}" for bucket in shared_buckets for action in SHARED_ACTIONS]
    return {
        "name": f"user-{username}",
        "credentials": [{"accessKey": keys.access_key, "secretKey": keys.secret_key}],
        "actions": actions,
    }


def user_identities(users: Mapping[str, UserKeys], shared_buckets: Iterable[str]) -> list[dict]:
    shared = tuple(shared_buckets)
    return [user_identity(name, keys, shared) for name, keys in users.items()]


def write_credentials_file(path: Path, users: Mapping[str, UserKeys]) -> None:
    """The mapping the spawner reads: ``{"<username>": {"access_key": ..., "secret_key": ...}}``."""
    write_private_json(path, {name: {"access_key": k.access_key, "secret_key": k.secret_key} for name, k in users.items()})
