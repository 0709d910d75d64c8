"""The images' Python requirements resolve together with hybridhub's own requirements.

One pip resolution (``--dry-run``, metadata only, against the package index) for the image's
platform: CPython 3.12 on manylinux x86_64, as in python:3.12.x-slim-bookworm (glibc 2.36).
It covers the union of hybridhub's requirements and every image's pins, so each image's
subset resolves too.
"""

from __future__ import annotations

import json
import subprocess
import sys
from importlib.metadata import requires

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from .dockerfiles import IMAGES

pytestmark = pytest.mark.deploy

PLATFORMS = [f"manylinux_2_{minor}_x86_64" for minor in range(17, 37)] + ["manylinux2014_x86_64", "linux_x86_64"]
REQUIREMENT_FILES = sorted(IMAGES.glob("*/requirements.txt"))


def pins() -> dict[str, dict[str, str]]:
    found: dict[str, dict[str, str]] = {}
    for path in REQUIREMENT_FILES:
        for line in path.read_text(encoding="utf-8").splitlines():
            line = line.split("#", 1)[0].strip()
            if line:
                req = Requirement(line)
                found.setdefault(path.parent.name, {})[canonicalize_name(req.name)] = str(req.specifier)[2:]
    return found


def test_pins_agree_across_images():
    versions: dict[str, set[str]] = {}
    for image_pins in pins().values():
        for name, version in image_pins.items():
            versions.setdefault(name, set()).add(version)
    assert {n: v for n, v in versions.items() if len(v) > 1} == {}


def test_requirements_resolve_with_hybridhub(tmp_path):
    own = [r for r in requires("hybridhub") or [] if "extra ==" not in r]
    assert own, "hybridhub's metadata lists its requirements"
    (tmp_path / "hybridhub.txt").write_text("\n".join(own) + "\n")
    report = tmp_path / "report.json"
    command = [sys.executable, "-m", "pip", "install", "--dry-run", "--quiet", "--ignore-installed",
               "--only-binary=:all:", "--python-version", "3.12", "--implementation", "cp",
               "--target", str(tmp_path / "target"), "--report", str(report),
               "--requirement", str(tmp_path / "hybridhub.txt")]
    command += [arg for platform in PLATFORMS for arg in ("--platform", platform)]
    command += [arg for path in REQUIREMENT_FILES for arg in ("--requirement", str(path))]
    result = subprocess.run(command, capture_output=True, text=True, timeout=240)
    errors = [line for line in result.stderr.splitlines() if "ERROR" in line]
    assert result.returncode == 0, "\n".join(errors) or result.stderr[-2000:]
    resolved = {canonicalize_name(i["metadata"]["name"]): i["metadata"]["version"]
                for i in json.loads(report.read_text())["install"]}
    for image, image_pins in pins().items():
        for name, version in image_pins.items():
            assert resolved.get(name) == version, f"{image}: {name}=={version} resolved as {resolved.get(name)}"
    for line in own:
        req = Requirement(line)
        assert resolved[canonicalize_name(req.name)] in req.specifier, line
