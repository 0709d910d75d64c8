"""The Dockerfile subset the kaniko stand-in executes: ARG (before FROM, with a default, set by
--build-arg), one FROM (``${NAME}``/``$NAME`` substituted), COPY <src>... <dest> from the context,
USER. Semantics from the Dockerfile reference (https://docs.docker.com/reference/dockerfile/:
ARG/FROM interaction, COPY of a folder copies its contents, a dest ending in / is a folder);
anything else is refused, never guessed."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

SUPPORTED = {"ARG", "FROM", "COPY", "USER"}
VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)")


class Unsupported(Exception):
    pass


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) per logical line: comments and blank lines dropped, a trailing
    backslash continues the line (the reference's default escape character)."""
    found, pending = [], ""
    for line in text.splitlines():
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        logical, pending = (pending + line).strip(), ""
        keyword, _, rest = logical.partition(" ")
        found.append((keyword.upper(), rest.strip()))
    if pending.strip():
        found.append(tuple(pending.strip().partition(" ")[::2]))  # type: ignore[arg-type]
    return found


def substitute(text: str, values: dict[str, str]) -> str:
    if "${" in text and re.search(r"\$\{[^}]*[:?+-]", text):
        raise Unsupported(f"variable modifiers (${{NAME:-...}}) are not supported by the stand-in: {text}")
    return VARIABLE.sub(lambda m: values.get(m.group(1) or m.group(2), ""), text)


def plan(text: str, build_args: dict[str, str]) -> dict:
    """The build: base ref, COPY steps (sources, dest), user. ARG before FROM is in scope for FROM
    only (the reference: "An ARG declared before a FROM is outside of a build stage")."""
    args: dict[str, str] = {}
    base, copies, user = None, [], None
    for keyword, rest in instructions(text):
        if keyword not in SUPPORTED:
            raise Unsupported(f"{keyword} is not supported by the stand-in (it executes ARG, FROM, COPY, USER)")
        if '"' in rest or "'" in rest:  # the reference's quoting rules are not implemented
            raise Unsupported(f"quotes are not supported by the stand-in: {keyword} {rest}")
        if keyword == "ARG":
            if base is not None:
                raise Unsupported("ARG after FROM is not supported by the stand-in")
            name, has_default, default = rest.partition("=")
            args[name] = build_args.get(name, default if has_default else "")
        elif keyword == "FROM":
            if base is not None:
                raise Unsupported("multi-stage builds (a second FROM) are not supported by the stand-in")
            words = rest.split()
            if len(words) != 1:
                raise Unsupported(f"FROM with options or AS is not supported by the stand-in: FROM {rest}")
            base = substitute(words[0], args)
            if not base:
                raise Unsupported(f"FROM {rest}: the image name is empty (no value for its ARG)")
        elif keyword == "COPY":
            words = rest.split()
            if base is None:
                raise Unsupported("COPY before FROM")
            if len(words) < 2 or any(w.startswith("--") for w in words) or rest.lstrip().startswith("["):
                raise Unsupported(f"COPY with flags or the JSON form is not supported by the stand-in: COPY {rest}")
            if any(ch in w for w in words for ch in "*?[$"):
                raise Unsupported(f"COPY with wildcards or variables is not supported by the stand-in: COPY {rest}")
            copies.append((words[:-1], words[-1]))
        elif keyword == "USER":
            user = rest
    if base is None:
        raise Unsupported("the Dockerfile has no FROM")
    return {"base": base, "copies": copies, "user": user}


def copy(context: Path, sources: list[str], dest: str, root: Path) -> None:
    """COPY: each source inside the context; a folder's contents (not the folder) go to dest; a
    file goes to dest/<name> when dest ends with / (or there are several sources), else to dest."""
    target = root / dest.lstrip("/")
    for source in sources:
        path = (context / source).resolve()
        if context.resolve() not in (path, *path.parents):
            raise Unsupported(f"COPY source outside the build context: {source}")
        if not path.exists():
            raise FileNotFoundError(f"failed to get fileinfo for {path}: lstat {path}: no such file or directory")
        if path.is_dir():
            shutil.copytree(path, target, dirs_exist_ok=True)
        elif dest.endswith("/") or len(sources) > 1:
            target.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target / path.name)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target)
