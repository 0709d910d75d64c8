"""Workspace paths of the storage area: API paths (``data/train.csv``) confined to the server root.

The checks live in :mod:`hybridhub.lab_ext.workspace` (the one confinement helper of every
area); here they answer with :class:`StorageError`. Refused: absolute paths, ``..``, NUL,
backslashes, and any path whose real location (after following symlinks) is outside the
root. Targets of a download may not be symlinks at all, and the download itself is written
through :func:`hybridhub.lab_ext.workspace.atomic_file`, so a rename can never write through
a link.
"""

from __future__ import annotations

import os
from pathlib import Path

from .. import workspace
from .errors import StorageError

to_api_path = workspace.to_api_path


def resolve_existing_file(root: str | os.PathLike, api_path: str) -> Path:
    """A regular file inside the root (symlinks allowed only if they stay inside)."""
    return workspace.resolve_existing_file(root, api_path, error=StorageError)


def resolve_new_file(root: str | os.PathLike, api_path: str, overwrite: bool = False) -> Path:
    """Where a download may be written: parent directory inside the root, target not a link."""
    return workspace.resolve_new_file(root, api_path, overwrite, error=StorageError)
