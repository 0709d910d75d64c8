"""kaniko_standin - a TEST DOUBLE for kaniko's ``executor``, as the template's ci/build.sh uses
it. Not for production.

The executable ``executor`` in this folder is put first on PATH by a test (kaniko's debug image
has /kaniko on PATH and DOCKER_CONFIG=/kaniko/.docker/: deploy/Dockerfile, stage kaniko-debug), with ``DOCKER_CONFIG`` pointing at a temporary
folder for the credentials file; it runs with ``$KANIKO_STANDIN_PYTHON`` (else
``$PODMAN_STANDIN_PYTHON``, else python3: the standard library only). It implements the flags
build.sh uses (--context, --dockerfile, --destination, --digest-file, --label, --build-arg, --reproducible, --no-push ...), strict on
syntax (an unknown flag: cobra's "Error: unknown flag", exit 1; kaniko's other flags: refused as
not supported), and kaniko's behaviour from its source (cited in cli.py): push permission checked
before the build with the credentials of ``$DOCKER_CONFIG/config.json``, the Dockerfile subset
ARG/FROM/COPY/USER executed (dockerfile.py; anything else refused, exit 1), the digest written to
--digest-file, every --destination and ``<repo>@<digest>`` pushed.

The registry is the podman stand-in's state, ``$PODMAN_STANDIN_STATE`` (registry.py):
images.json holds the base image (a podman_standin recipe) and the pushed image (the base recipe
with ``"rootfs"``: a folder under ``$PODMAN_STANDIN_STATE/rootfs/`` with the base's files and the
COPYed ones, and ``labels``, ``user``); registries.json says which registries need a login (the
base's pull and the push need it in the docker config then). The digest is a sha256 over the
image's content (base, files, labels, user); without --reproducible it covers the build time too,
as kaniko's image config has a creation time then.
"""

from __future__ import annotations

from pathlib import Path

from tests.podman_standin import register_image

HERE = Path(__file__).resolve().parent


def register_model_server_base(state: Path, ref: str, mlserver: str) -> dict:
    """Make ``ref`` the images/model-server image in the stand-ins' registry: CMD ``mlserver start
    /mnt/models`` (``mlserver`` is the host's ``mlserver`` executable at ``mlserver``), its ENV
    MLSERVER_* (MLSERVER_HOST 127.0.0.1 here, not the image's 0.0.0.0: test servers listen on
    loopback only; ports as ``{port:N}``, published or private per podman run), an empty
    /mnt/models in its filesystem. A build FROM it that COPYs model/ to /mnt/models/model/ serves
    that model. Returns the recipe."""
    root = state / "rootfs" / "base-model-server"
    (root / "mnt" / "models").mkdir(parents=True, exist_ok=True)
    recipe = {
        "command": ["mlserver", "start", "{rootfs:/mnt/models}"],
        "programs": {"mlserver": [mlserver]},
        "env": {"MLSERVER_HOST": "127.0.0.1", "MLSERVER_HTTP_PORT": "{port:8080}", "MLSERVER_GRPC_PORT": "{port:8081}",
                "MLSERVER_METRICS_PORT": "{port:8082}", "MLSERVER_PARALLEL_WORKERS": "0", "MLSERVER_DEBUG": "false"},
        "rootfs": str(root),
        "user": "10001",
    }  # fmt: skip
    register_image(state, ref, recipe)
    return recipe
