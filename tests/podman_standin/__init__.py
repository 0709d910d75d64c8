"""podman_standin - a TEST DOUBLE for the podman CLI, as the template's ci/deploy.sh and
ci/serve_swap.py use it. Not for production.

The executable ``podman`` in this folder is put first on PATH by a test. It implements only the
subcommands and flags the deploy uses (login, pull, run, exec, inspect, logs, start, stop, rm), strict on
syntax (anything else: podman's error text and exit code 125), with the behaviour podman's
documentation gives (containers/podman docs/source/markdown/podman-*.1.md.in; cited where each is
implemented in engine.py). Containers are host processes: an "image" is a recipe the test
registers (``register_image``): the command the container runs, its environment, the programs
``exec`` can run in it; placeholders ``{port:N}`` (the host port published for container port N;
with ``--network host``, N itself; unpublished: a free port, as if in the container's own network
namespace), ``{mount:/path}`` (the host folder mounted there) and ``{state}`` (the container's own
writable folder). A recipe may have an image filesystem, ``"rootfs": "<host folder>"``; then
``{rootfs:/path}`` in its command, env, programs or files is that folder + /path (an image a build
pushed, e.g. tests/kaniko_standin's: the base image's folder plus the COPYed files; recipes without
``rootfs`` are unchanged). State lives in ``$PODMAN_STANDIN_STATE``: images.json (ref -> recipe: the
registry, which tests/kaniko_standin pushes to as well), registries.json (registry -> the login it
needs).
"""

from __future__ import annotations

import json
from pathlib import Path

HERE = Path(__file__).resolve().parent


def register_image(state: Path, ref: str, recipe: dict) -> None:
    """Make ``ref`` (name@sha256:... or name:tag) pullable, running ``recipe`` (command, env, programs, files, rootfs)."""
    state.mkdir(parents=True, exist_ok=True)
    path = state / "images.json"
    images = json.loads(path.read_text()) if path.is_file() else {}
    images[ref] = recipe
    path.write_text(json.dumps(images, indent=1))


def register_login(state: Path, registry: str, user: str, password: str) -> None:
    """The credentials ``podman login`` accepts for ``registry``; its images then need a login."""
    state.mkdir(parents=True, exist_ok=True)
    path = state / "registries.json"
    registries = json.loads(path.read_text()) if path.is_file() else {}
    registries[registry] = {"user": user, "password": password}
    path.write_text(json.dumps(registries))
