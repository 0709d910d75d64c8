"""The workspace (the server root) and the one way hybridhub writes into it.

Every file or folder the extension writes below the server root goes through this module:
downloads from the object store, data pins, the pipeline template, local pipeline runs. A
cloned repository may contain symbolic links (``pipelines -> /elsewhere``, ``.hybridhub ->
/tmp``), so a write never follows one:

- Paths are checked first: no absolute paths, ``..``, ``.``, NUL, backslashes or over-long
  names (:func:`split`).
- Folders are opened one component at a time from the root with ``O_NOFOLLOW`` relative to
  the folder before (``dir_fd``), so a symbolic link anywhere on the way is refused, and a
  link swapped in after a check cannot redirect the write: the open folder is the one checked.
- Files are written atomically: a hidden temporary file in that same open folder, fsync'ed,
  then renamed over the target (a rename replaces a link, it never writes through it).

Refusals raise the caller's :class:`~hybridhub.lab_ext.reasons.ReasonError` subclass
(``error=``) with ``invalid_path`` (400), ``not_a_file`` (400) or ``file_exists`` (409), so
each area answers with its own reason table; a file standing where a folder should be raises
:class:`NotADirectoryError`, which the caller words for its users.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import shutil
import stat
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import BinaryIO

from .reason_catalog import WORKSPACE
from .reasons import MAX_NAME_BYTES, MAX_PATH_BYTES, ReasonError

#: the codes this module raises; every ``error=`` class must know them
WORKSPACE_REASONS = WORKSPACE

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_NEW_FILE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC

WorkspacePath = str | Sequence[str]


class WorkspaceError(ReasonError):
    REASONS = WORKSPACE_REASONS


def _bad(error: type[ReasonError], message: str) -> ReasonError:
    return error("invalid_path", message)


def split(api_path: str, *, error: type[ReasonError] = WorkspaceError, allow_root: bool = False) -> list[str]:
    """The components of an API path (``data/train.csv``); ``allow_root`` lets ``""`` mean the root."""
    if not isinstance(api_path, str):
        raise _bad(error, "The workspace path must be text.")
    if not api_path.strip("/"):
        if allow_root and api_path in ("", "/"):
            return []
        raise _bad(error, "The workspace path is empty.")
    if "\x00" in api_path or "\\" in api_path:
        raise _bad(error, "The workspace path contains a forbidden character.")
    if api_path.startswith("/") or (len(api_path) > 1 and api_path[1] == ":"):
        raise _bad(error, "The workspace path must be relative to the server root.")
    return _checked([p for p in api_path.split("/") if p], error)


def _checked(parts: Sequence[str], error: type[ReasonError]) -> list[str]:
    for part in parts:
        if not isinstance(part, str) or not part or "/" in part or "\x00" in part or "\\" in part:
            raise _bad(error, "The workspace path contains a forbidden character.")
        if part in (".", ".."):
            raise _bad(error, "The workspace path must not contain '.' or '..'.")
        if len(os.fsencode(part)) > MAX_NAME_BYTES:
            raise _bad(error, "A name in the workspace path is too long.")
    if len(os.fsencode("/".join(parts))) > MAX_PATH_BYTES:
        raise _bad(error, "The workspace path is too long.")
    return list(parts)


def _parts(path: WorkspacePath, error: type[ReasonError]) -> list[str]:
    parts = split(path, error=error) if isinstance(path, str) else _checked(list(path), error)
    if not parts:
        raise _bad(error, "The workspace path is empty.")
    return parts


def real_root(root: str | os.PathLike) -> Path:
    """The server root with its own symbolic links resolved (the root itself is trusted)."""
    return Path(os.path.realpath(root))


def relative_parts(root: str | os.PathLike, path: str | os.PathLike) -> list[str]:
    """The components of ``path`` (absolute, inside the root) below the real root."""
    return list(Path(path).relative_to(real_root(root)).parts)


def _inside(root: Path, path: Path) -> bool:
    return path == root or root in path.parents


def _symlink_refusal(error: type[ReasonError], name: str) -> ReasonError:
    return _bad(error, f"'{name}' in the workspace path is a symbolic link; hybridhub never writes through one.")


def _lstat(dir_fd: int, name: str) -> os.stat_result | None:
    try:
        return os.lstat(name, dir_fd=dir_fd)
    except FileNotFoundError:
        return None


def _open_child(dir_fd: int, name: str, create: bool, error: type[ReasonError]) -> int:
    for attempt in (1, 2):
        try:
            return os.open(name, _DIR_FLAGS, dir_fd=dir_fd)
        except FileNotFoundError:
            if not create or attempt == 2:
                raise
            with contextlib.suppress(FileExistsError):  # made meanwhile: the open checks what it is
                os.mkdir(name, 0o777, dir_fd=dir_fd)
        except OSError as exc:
            if exc.errno == errno.ENAMETOOLONG:
                raise _bad(error, "The workspace path is too long.") from None
            if exc.errno not in (errno.ELOOP, errno.ENOTDIR):
                raise
            st = _lstat(dir_fd, name)
            if st is not None and stat.S_ISLNK(st.st_mode):
                raise _symlink_refusal(error, name) from None
            raise NotADirectoryError(errno.ENOTDIR, f"'{name}' in the workspace path is a file, not a folder") from None
    raise AssertionError("unreachable")


@contextlib.contextmanager
def open_folder(
    root: str | os.PathLike, parts: Sequence[str], *, create: bool = False, error: type[ReasonError] = WorkspaceError
) -> Iterator[int]:
    """A descriptor of the folder ``parts`` below the root, walked without following any link.

    ``create`` makes missing folders; otherwise a missing one raises :class:`FileNotFoundError`.
    """
    parts = _checked(list(parts), error)
    fd = os.open(real_root(root), os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        for name in parts:
            child = _open_child(fd, name, create, error)
            os.close(fd)
            fd = child
        yield fd
    finally:
        os.close(fd)


def _check_target(dir_fd: int, name: str, overwrite: bool, error: type[ReasonError]) -> bool:
    """Whether ``name`` exists in the folder; refused if it is a link, a folder, or (unless
    ``overwrite``) a file."""
    st = _lstat(dir_fd, name)
    if st is None:
        return False
    if stat.S_ISLNK(st.st_mode):
        raise _bad(error, "The workspace path is a symbolic link; refusing to write through it.")
    if stat.S_ISDIR(st.st_mode):
        raise error("not_a_file", "The workspace path is a folder.")
    if not overwrite:
        raise error("file_exists", "A file with that name already exists in the workspace.")
    return True


def target_exists(root: str | os.PathLike, path: WorkspacePath, *, error: type[ReasonError] = WorkspaceError) -> bool:
    """Whether a file may be written at ``path`` and one is there already (nothing is written).

    Raises like a write would: a link on the way or at the end, a folder at the end, a file
    where a folder should be (:class:`NotADirectoryError`). Missing folders are fine.
    """
    parts = _parts(path, error)
    try:
        with open_folder(root, parts[:-1], error=error) as dir_fd:
            return _check_target(dir_fd, parts[-1], True, error)
    except FileNotFoundError:
        return False


@contextlib.contextmanager
def atomic_file(
    root: str | os.PathLike,
    path: WorkspacePath,
    *,
    overwrite: bool = False,
    create_parents: bool = False,
    mode: int | None = None,
    prefix: str | None = None,
    suffix: str = ".hybridhub-tmp",
    error: type[ReasonError] = WorkspaceError,
) -> Iterator[BinaryIO]:
    """A binary file to fill; on a clean exit it replaces ``path`` (fsync'ed, then renamed).

    The temporary file (``prefix`` + random + ``suffix``, mode 0600 unless ``mode``) lives in
    the target's folder, opened once without following links; on any error it is removed and
    an existing target is left untouched.
    """
    parts = _parts(path, error)
    name = parts[-1]
    with open_folder(root, parts[:-1], create=create_parents, error=error) as dir_fd:
        _check_target(dir_fd, name, overwrite, error)
        while True:
            tmp = f"{prefix if prefix is not None else '.' + name + '.'}{secrets.token_hex(4)}{suffix}"
            try:
                fd = os.open(tmp, _NEW_FILE_FLAGS, 0o600, dir_fd=dir_fd)
                break
            except FileExistsError:
                continue
        handle = os.fdopen(fd, "wb")
        try:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
            if mode is not None:
                os.fchmod(handle.fileno(), mode)
            handle.close()
            _check_target(dir_fd, name, overwrite, error)  # again, just before the rename
            try:
                os.rename(tmp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
            except IsADirectoryError:
                raise error("not_a_file", "The workspace path is a folder.") from None
            with contextlib.suppress(OSError):
                os.fsync(dir_fd)
        except BaseException:
            handle.close()
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp, dir_fd=dir_fd)
            raise


def write_bytes(root: str | os.PathLike, path: WorkspacePath, data: bytes, **options) -> None:
    """Write ``data`` atomically at ``path`` (options as for :func:`atomic_file`)."""
    with atomic_file(root, path, **options) as handle:
        handle.write(data)


def make_folder(
    root: str | os.PathLike, path: WorkspacePath, *, exist_ok: bool = True, error: type[ReasonError] = WorkspaceError
) -> None:
    """Make the folder ``path`` and its parents; ``exist_ok=False`` raises :class:`FileExistsError`."""
    parts = _parts(path, error)
    with open_folder(root, parts[:-1], create=True, error=error) as dir_fd:
        try:
            os.mkdir(parts[-1], 0o777, dir_fd=dir_fd)
        except FileExistsError:
            if not exist_ok:
                raise
        with open_folder(root, parts, error=error):  # a folder, not a link or a file
            pass


def read_bytes(root: str | os.PathLike, path: WorkspacePath, *, error: type[ReasonError] = WorkspaceError) -> bytes:
    """The content of the file ``path``, read without following any link on the way."""
    parts = _parts(path, error)
    with open_folder(root, parts[:-1], error=error) as dir_fd:
        try:
            fd = os.open(parts[-1], os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=dir_fd)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise _symlink_refusal(error, parts[-1]) from None
            raise
    with os.fdopen(fd, "rb") as handle:
        return handle.read()


def folder_entries(
    root: str | os.PathLike, path: WorkspacePath | Sequence[str], *, error: type[ReasonError] = WorkspaceError
) -> dict[str, bool]:
    """Names in the folder ``path`` -> whether each is a real folder (links are not)."""
    parts = split(path, error=error, allow_root=True) if isinstance(path, str) else _checked(list(path), error)
    with open_folder(root, parts, error=error) as dir_fd:
        with os.scandir(dir_fd) as entries:
            return {entry.name: entry.is_dir(follow_symlinks=False) for entry in entries}


def remove_tree(root: str | os.PathLike, path: WorkspacePath, *, error: type[ReasonError] = WorkspaceError) -> None:
    """Remove the folder (or file, or link itself) ``path``, never anything a link points to."""
    parts = _parts(path, error)
    try:
        with open_folder(root, parts[:-1], error=error) as dir_fd:
            st = _lstat(dir_fd, parts[-1])
            if st is None:
                return
            if stat.S_ISDIR(st.st_mode):
                shutil.rmtree(parts[-1], dir_fd=dir_fd)  # the fd-based rmtree: safe against links
            else:
                os.unlink(parts[-1], dir_fd=dir_fd)
    except FileNotFoundError:
        return


# -- storage's checks of API paths (kept as they were: a path may pass through a link that
#    stays inside the root; what is returned is the real location, written via atomic_file)


def resolve_existing_file(root: str | os.PathLike, api_path: str, *, error: type[ReasonError] = WorkspaceError) -> Path:
    """A regular file inside the root (symlinks allowed only if they stay inside)."""
    base = real_root(root)
    real = Path(os.path.realpath(base.joinpath(*split(api_path, error=error))))
    if not _inside(base, real):
        raise _bad(error, "The workspace path leads outside the server root.")
    if not real.is_file():
        raise error("not_a_file", "The workspace path is not a file.")
    return real


def resolve_new_file(
    root: str | os.PathLike, api_path: str, overwrite: bool = False, *, error: type[ReasonError] = WorkspaceError
) -> Path:
    """Where a file may be written: parent folder inside the root, target not a link."""
    base = real_root(root)
    parts = split(api_path, error=error)
    parent = Path(os.path.realpath(base.joinpath(*parts[:-1])))
    if not _inside(base, parent):
        raise _bad(error, "The workspace path leads outside the server root.")
    try:
        with open_folder(base, relative_parts(base, parent), error=error) as dir_fd:
            _check_target(dir_fd, parts[-1], overwrite, error)
    except (FileNotFoundError, NotADirectoryError):
        raise _bad(error, "The folder of the workspace path does not exist.") from None
    return parent / parts[-1]


def to_api_path(root: str | os.PathLike, path: Path) -> str:
    return Path(path).relative_to(real_root(root)).as_posix()
