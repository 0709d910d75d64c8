"""The shipped CI/CD template and example project, and adding them to a workspace folder.

Files are written only where none exists, unless the user confirmed ``overwrite``. Every
file goes through :mod:`hybridhub.lab_ext.workspace`: no folder on the way may be a symbolic
link (a cloned repository may hold ``pipelines -> /elsewhere``), each file is replaced
atomically, and everything is checked before the first file is written.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from .. import workspace
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


def _folder(folder) -> list[str]:
    return workspace.split(folder, error=PipelineError, allow_root=True)


def _in_the_way(folder: list[str], error: NotADirectoryError) -> PipelineError:
    where = "/".join(folder) or "the workspace"
    return PipelineError(
        "file_exists",
        f"A file stands where the template needs a folder ({error.strerror}, in {where}). "
        "Choose another folder, or rename or remove that file.",
    )


def existing(root: str | os.PathLike, folder: str) -> list[str]:
    """The template's files already in ``folder``; refused like a write would be."""
    parts = _folder(folder)
    try:
        return [
            name for name in template_files()
            if workspace.target_exists(root, parts + name.split("/"), error=PipelineError)
        ]  # fmt: skip
    except NotADirectoryError as exc:
        raise _in_the_way(parts, exc) from None


def add_template(root: str | os.PathLike, folder: str, overwrite: bool = False) -> dict:
    """Copy the template into ``folder``; ``files_exist`` (409) lists what would be replaced."""
    parts = _folder(folder)
    clashes = existing(root, folder)
    if clashes and not overwrite:
        raise PipelineError("files_exist", details=", ".join(clashes))
    written = []
    for name in template_files():
        source = TEMPLATE_DIR / name
        try:
            workspace.write_bytes(
                root, parts + name.split("/"), source.read_bytes(), overwrite=True, create_parents=True,
                mode=stat.S_IMODE(source.stat().st_mode), error=PipelineError,
            )  # fmt: skip
        except NotADirectoryError as exc:
            raise _in_the_way(parts, exc) from None
        written.append(name)
    return {"path": "/".join(parts) or ".", "written": written, "replaced": clashes}
