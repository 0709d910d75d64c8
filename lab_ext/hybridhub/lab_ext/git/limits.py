"""What the git routes accept: checked before git runs, each refusal a 400 naming the limit.

* a path (``path``, each of ``files``): at most 4,096 bytes, each name at most 255 bytes, no
  control characters (:func:`hybridhub.lab_ext.reasons.path_problem`);
* ``files``: at most 5,000 per call;
* a commit message: at most 64 KiB, no NUL;
* a branch name: at most 255 bytes, each ``/``-separated part at most 250 bytes (its ``.lock``
  file must fit a 255-byte file name), git's ``check-ref-format --branch`` rules, and not ``@``,
  ``HEAD`` or a name starting with ``refs/`` (GitLab refuses those);
* a merge request title: at most 255 characters, its description at most 1,000,000 (GitLab's);
* other texts (project, search): at most 255 characters, no control characters.
"""

from __future__ import annotations

import re

from ..reasons import MAX_NAME_BYTES, has_control, path_problem
from .errors import GitError

MAX_FILES = 5000
MAX_MESSAGE_BYTES = 64 * 1024
MAX_BRANCH_BYTES = 255
MAX_BRANCH_PART_BYTES = MAX_NAME_BYTES - len(".lock")
MAX_TITLE = 255
MAX_DESCRIPTION = 1_000_000
MAX_TEXT = 255

# git-check-ref-format(1), rules 1 and 3-10, plus --branch's leading '-'
_BAD_REF = re.compile(r"(^|/)\.|\.lock(/|\Z)|\.\.|[\x00-\x20\x7f~^:?*\[\\]|@\{|//|^/|/\Z|\.\Z|^-")


def _size(text: str) -> int:
    return len(text.encode("utf-8", "surrogatepass"))


def check_path(value, name: str = "path") -> str:
    if not isinstance(value, str):
        raise GitError("invalid_request", f"'{name}' must be a string.")
    problem = path_problem(value)
    if problem:
        raise GitError("invalid_path", problem)
    return value


def check_files(files) -> list[str]:
    if not isinstance(files, list) or not files or not all(isinstance(f, str) and f for f in files):
        raise GitError("invalid_request", "'files' must be a non-empty list of paths.")
    if len(files) > MAX_FILES:
        raise GitError("invalid_request", f"At most {MAX_FILES} files per call: {len(files)} were given.")
    for name in files:
        check_path(name, "files")
    return files


def check_message(message) -> str:
    if not isinstance(message, str) or not message.strip():
        raise GitError("empty_message")
    if "\0" in message:
        raise GitError("invalid_request", "The commit message contains a NUL character.")
    if _size(message) > MAX_MESSAGE_BYTES:
        raise GitError("invalid_request", f"The commit message is longer than {MAX_MESSAGE_BYTES // 1024} KiB.")
    return message


def check_branch(name) -> str:
    """A name git and GitLab both accept as a new or existing branch, or ``invalid_branch_name``."""
    if not isinstance(name, str) or not name:
        raise GitError("invalid_branch_name", "Give the branch a name.")
    if _size(name) > MAX_BRANCH_BYTES or any(_size(part) > MAX_BRANCH_PART_BYTES for part in name.split("/")):
        raise GitError(
            "invalid_branch_name",
            f"A branch name is at most {MAX_BRANCH_BYTES} bytes, each part between '/' at most {MAX_BRANCH_PART_BYTES}.",
        )
    if name in ("@", "HEAD") or name.startswith("refs/") or _BAD_REF.search(name):
        raise GitError(
            "invalid_branch_name",
            "A branch name may not be '@' or 'HEAD', start with 'refs/', '-' or '/', contain spaces, control "
            "characters, '..', '~', '^', ':', '?', '*', '[', '\\\\' or '@{', or end with '.', '/' or '.lock'.",
        )
    return name


def check_text(value, name: str, limit: int = MAX_TEXT, required: bool = False, lines: bool = False) -> str:
    """A string of at most ``limit`` characters without control characters (``lines``: newlines and tabs allowed)."""
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value.strip()):
        raise GitError("invalid_request", f"'{name}' must be a non-empty string." if required else f"'{name}' must be a string.")
    if len(value) > limit:
        raise GitError("invalid_request", f"'{name}' is longer than {limit} characters.")
    if has_control(value.replace("\n", "").replace("\t", "").replace("\r", "") if lines else value):
        raise GitError("invalid_request", f"'{name}' contains a control character.")
    return value
