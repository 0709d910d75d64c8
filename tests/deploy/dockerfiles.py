"""A small Dockerfile reader for the static image checks (no Docker engine needed)."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

from packaging.requirements import Requirement

from .z2jh import REPO

IMAGES = REPO / "images"
EXACT_TAG = re.compile(r"^v?\d+\.\d+\.\d+([.-][0-9A-Za-z.-]+)?$")
VARIABLE = re.compile(r"\$\{(\w+)\}|\$(\w+)")


@dataclass
class Dockerfile:
    path: Path
    instructions: list[tuple[str, str]] = field(default_factory=list)  # (INSTRUCTION, arguments)
    comments: list[str] = field(default_factory=list)

    @property
    def context(self) -> Path:
        """The build context named in the header comment: 'repository root' or 'this directory'."""
        for line in self.comments:
            if line.lower().startswith("build context:"):
                return REPO if "repository root" in line else self.path.parent
        raise AssertionError(f"{self.path}: no '# build context:' comment")

    def all(self, name: str) -> list[str]:
        return [args for instr, args in self.instructions if instr == name]

    @property
    def build_args(self) -> dict[str, str]:
        """``ARG NAME=default`` values (what a build without --build-arg uses)."""
        found = {}
        for args in self.all("ARG"):
            name, _, default = args.partition("=")
            found[name.strip()] = default.strip().strip('"')
        return found

    def expand(self, text: str) -> str:
        """``${NAME}`` and ``$NAME`` replaced by the ARG defaults (others left as they are)."""
        args = self.build_args
        return VARIABLE.sub(lambda m: args.get(m.group(1) or m.group(2), m.group(0)), text)


def parse(path: Path) -> Dockerfile:
    result = Dockerfile(path)
    pending = ""
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not pending and line.startswith("#"):
            result.comments.append(line.lstrip("#").strip())
            continue
        if not line:
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line, pending = pending + line, ""
        instruction, _, args = line.partition(" ")
        result.instructions.append((instruction.upper(), args.strip()))
    return result


def all_dockerfiles() -> list[Path]:
    return sorted(IMAGES.glob("*/Dockerfile"))


def base_images(dockerfile: Dockerfile) -> list[str]:
    """Images named by FROM, leaving out references to earlier build stages."""
    stages, images = set(), []
    for args in dockerfile.all("FROM"):
        words = [w for w in args.split() if not w.startswith("--")]
        if words[0] not in stages:
            images.append(words[0])
        if len(words) == 3 and words[1].lower() == "as":
            stages.add(words[2])
    return images


def is_pinned(image: str) -> bool:
    if "@sha256:" in image:
        return True
    name, _, tag = image.rpartition(":")
    if not name or "/" in tag:
        return False
    version = tag.split("-", 1)[0]
    return bool(EXACT_TAG.match(version)) and tag != "latest"


def final_user(dockerfile: Dockerfile) -> str | None:
    users = dockerfile.all("USER")
    return users[-1].split(":")[0] if users else None


def copies(dockerfile: Dockerfile) -> list[tuple[list[str], str]]:
    """(sources, destination) of each COPY/ADD from the build context, ARGs expanded."""
    found = []
    for args in dockerfile.all("COPY") + dockerfile.all("ADD"):
        words = shlex.split(dockerfile.expand(args))
        if any(w.startswith("--from") for w in words):
            continue
        words = [w for w in words if not w.startswith("--")]
        found.append((words[:-1], words[-1]))
    return found


def copy_sources(dockerfile: Dockerfile) -> list[str]:
    return [source for sources, _ in copies(dockerfile) for source in sources]


def context_path(dockerfile: Dockerfile, image_path: str) -> Path:
    """The build-context file a COPY put at ``image_path`` in the image."""
    for sources, destination in copies(dockerfile):
        for source in sources:
            if destination.endswith("/"):
                if image_path == destination + source.rpartition("/")[2]:
                    return dockerfile.context / source
            elif image_path == destination:
                return dockerfile.context / source
    raise AssertionError(f"{dockerfile.path}: nothing is copied to {image_path}")


def pip_installs(dockerfile: Dockerfile) -> list[list[str]]:
    """The arguments of every ``pip install`` the RUN instructions make, ARGs expanded."""
    found = []
    for args in dockerfile.all("RUN"):
        for command in re.split(r"&&|;", dockerfile.expand(args)):
            words = shlex.split(command)
            for start in range(len(words) - 1):
                if words[start].rpartition("/")[2] in ("pip", "pip3") and words[start + 1] == "install":
                    found.append(words[start + 2:])
                    break
    return found


def hybridhub_requirement(dockerfile: Dockerfile) -> Requirement | None:
    """The image's ``hybridhub…`` requirement (with its extras), or None if it installs none."""
    found = [Requirement(word) for install in pip_installs(dockerfile) for word in install
             if not word.startswith("-") and re.match(r"hybridhub\b", word)]
    assert len(found) <= 1, f"{dockerfile.path}: hybridhub installed more than once"
    return found[0] if found else None
