"""A small Dockerfile reader for the static image checks (no Docker engine needed)."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

from .z2jh import REPO

IMAGES = REPO / "images"
EXACT_TAG = re.compile(r"^v?\d+\.\d+\.\d+([.-][0-9A-Za-z.-]+)?$")


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


def copy_sources(dockerfile: Dockerfile) -> list[str]:
    sources = []
    for args in dockerfile.all("COPY") + dockerfile.all("ADD"):
        words = shlex.split(args)
        if any(w.startswith("--from") for w in words):
            continue
        words = [w for w in words if not w.startswith("--")]
        sources += words[:-1]
    return sources
