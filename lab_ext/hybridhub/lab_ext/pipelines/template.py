"""The shipped CI/CD template and example project, and adding them to a workspace folder.

Files are written only where none exists, unless the user confirmed ``overwrite``; paths stay
inside the server root.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from .errors import PipelineError

TEMPLATE_DIR = Path(__file__).resolve().parent / "templates" / "ml-project"
_SKIP = {"__pycache__", ".gitlab-ci-local", "model", "metrics.json", "metrics.txt"}


def template_files() -> list[str]:
    """Relative paths of the template's files, sorted."""
    files = []
    for path in TEMPLATE_DIR.rglob("*"):
        rel = path.relative_to(TEMPLATE_DIR)
        if path.is_file() and not any(part in _SKIP or part.endswith(".pyc") for part in rel.parts):
            files.append(rel.as_posix())
    return sorted(files)


def target_dir(root: str | os.PathLike, folder: str) -> Path:
    base = Path(os.path.realpath(root))
    if not isinstance(folder, str) or "\x00" in folder:
        raise PipelineError("invalid_request", details="path must be a workspace folder")
    target = Path(os.path.realpath(base / folder.strip("/"))) if folder.strip("/") else base
    if target != base and base not in target.parents:
        raise PipelineError("invalid_request", details="path must be inside the workspace")
    return target


def existing(root: str | os.PathLike, folder: str) -> list[str]:
    target = target_dir(root, folder)
    return [name for name in template_files() if (target / name).exists()]


def add_template(root: str | os.PathLike, folder: str, overwrite: bool = False) -> dict:
    """Copy the template into ``folder``; ``files_exist`` (409) lists what would be replaced."""
    target = target_dir(root, folder)
    clashes = existing(root, folder)
    if clashes and not overwrite:
        raise PipelineError("files_exist", details=", ".join(clashes))
    written = []
    for name in template_files():
        destination = target / name
        destination.parent.mkdir(parents=True, exist_ok=True)
        if destination.is_symlink():
            raise PipelineError("invalid_request", details=f"{name} is a symbolic link")
        shutil.copyfile(TEMPLATE_DIR / name, destination)
        shutil.copymode(TEMPLATE_DIR / name, destination)
        written.append(name)
    return {"path": str(target.relative_to(Path(os.path.realpath(root)))), "written": written, "replaced": clashes}
