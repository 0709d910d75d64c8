"""Parse ``git status --porcelain=v2 --branch -z`` into what the panel shows."""

from __future__ import annotations

import posixpath

MAX_FILES = 2000


def _entry(path: str, index: str, worktree: str, **extra) -> dict:
    return {
        "path": path,
        "name": posixpath.basename(path),
        "notebook": path.endswith(".ipynb"),
        "index": index,  # staged change: M A D R C T U or "."
        "worktree": worktree,  # unstaged change, same letters
        **extra,
    }


def parse_status(output: str) -> dict:
    """Branch, upstream, ahead/behind and the changed files (staged, unstaged, untracked)."""
    result = {"branch": None, "detached": False, "upstream": None, "ahead": 0, "behind": 0, "initial": False}
    files: list[dict] = []
    fields = output.split("\0")
    i = 0
    while i < len(fields):
        field = fields[i]
        i += 1
        if not field:
            continue
        if field.startswith("# "):
            key, _, value = field[2:].partition(" ")
            if key == "branch.head":
                result["detached"] = value == "(detached)"
                result["branch"] = None if result["detached"] else value
            elif key == "branch.oid":
                result["initial"] = value == "(initial)"
            elif key == "branch.upstream":
                result["upstream"] = value
            elif key == "branch.ab":
                ahead, behind = value.split()
                result["ahead"], result["behind"] = int(ahead), abs(int(behind))
            continue
        kind = field[0]
        if kind == "1":
            parts = field.split(" ", 8)
            files.append(_entry(parts[8], parts[1][0], parts[1][1]))
        elif kind == "2":
            parts = field.split(" ", 9)
            original = fields[i]
            i += 1
            files.append(_entry(parts[9], parts[1][0], parts[1][1], original=original))
        elif kind == "u":
            parts = field.split(" ", 10)
            files.append(_entry(parts[10], "U", "U", conflicted=True))
        elif kind == "?":
            files.append(_entry(field[2:], ".", "?", untracked=True))
    result["truncated"] = len(files) > MAX_FILES
    result["files"] = files[:MAX_FILES]
    result["staged"] = sum(1 for f in files if f["index"] not in (".", "U"))
    return result
