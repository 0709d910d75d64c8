"""Workspace paths: API paths (``data/train.csv``) confined to the server's root directory.

Refused: absolute paths, ``..``, NUL, backslashes, and any path whose real location (after
following symlinks) is outside the root. Targets of a download may not be symlinks at all,
so a rename can never write through a link.
"""

from __future__ import annotations

import os
from pathlib import Path

from .errors import StorageError


def _bad(message: str) -> StorageError:
    return StorageError("invalid_path", message)


def _split(api_path: str) -> list[str]:
    if not isinstance(api_path, str) or not api_path.strip("/"):
        raise _bad("The workspace path is empty.")
    if "\x00" in api_path or "\\" in api_path:
        raise _bad("The workspace path contains a forbidden character.")
    if api_path.startswith("/") or (len(api_path) > 1 and api_path[1] == ":"):
        raise _bad("The workspace path must be relative to the server root.")
    parts = [p for p in api_path.split("/") if p not in {""}]
    if any(p in {".", ".."} for p in parts):
        raise _bad("The workspace path must not contain '.' or '..'.")
    return parts


def _inside(root: Path, path: Path) -> bool:
    return path == root or root in path.parents


def resolve_existing_file(root: str | os.PathLike, api_path: str) -> Path:
    """A regular file inside the root (symlinks allowed only if they stay inside)."""
    real_root = Path(os.path.realpath(root))
    target = real_root.joinpath(*_split(api_path))
    real = Path(os.path.realpath(target))
    if not _inside(real_root, real):
        raise _bad("The workspace path leads outside the server root.")
    if not real.is_file():
        raise StorageError("not_a_file", "The workspace path is not a file.")
    return real


def resolve_new_file(root: str | os.PathLike, api_path: str, overwrite: bool = False) -> Path:
    """Where a download may be written: parent directory inside the root, target not a link."""
    real_root = Path(os.path.realpath(root))
    parts = _split(api_path)
    parent = Path(os.path.realpath(real_root.joinpath(*parts[:-1])))
    if not _inside(real_root, parent):
        raise _bad("The workspace path leads outside the server root.")
    if not parent.is_dir():
        raise _bad("The folder of the workspace path does not exist.")
    target = parent / parts[-1]
    if target.is_symlink():
        raise _bad("The workspace path is a symbolic link; refusing to write through it.")
    if target.exists():
        if target.is_dir():
            raise StorageError("not_a_file", "The workspace path is a folder.")
        if not overwrite:
            raise StorageError("file_exists", "A file with that name already exists in the workspace.")
    return target


def to_api_path(root: str | os.PathLike, path: Path) -> str:
    return Path(path).relative_to(os.path.realpath(root)).as_posix()
