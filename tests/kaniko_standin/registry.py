"""The registry the kaniko stand-in pulls from and pushes to: the podman stand-in's state
(``$PODMAN_STANDIN_STATE``: images.json ref -> recipe, registries.json registry -> the login it
needs), so what a build pushes is what ``podman pull`` finds. Credentials come from the docker
config file, as kaniko reads them (DockerConfLocation: pkg/util/gcr_util.go, pkg/executor/push.go
in older releases; the keychain reads docker's config.json ``auths``)."""

from __future__ import annotations

import base64
import fcntl
import json
import os
from pathlib import Path


class Refused(Exception):
    """A registry error: kaniko prints the wrapped error and exits 1 (cmd/executor/cmd/root.go exit)."""


def state() -> Path:
    return Path(os.environ.get("PODMAN_STANDIN_STATE", ""))


def load(name: str) -> dict:
    path = state() / name
    return json.loads(path.read_text()) if path.is_file() else {}


def docker_config_path() -> Path:
    """DockerConfLocation: $DOCKER_CONFIG/config.json when it is a folder, the file itself
    when it is a file, /kaniko/.docker/config.json when unset or missing."""
    folder = os.environ.get("DOCKER_CONFIG", "")
    if folder and Path(folder).exists():
        return Path(folder) / "config.json" if Path(folder).is_dir() else Path(folder)
    return Path("/kaniko/.docker/config.json")


def credentials(registry: str) -> tuple[str, str] | None:
    """The user and password docker's config.json has for ``registry`` (``auths`` entry with
    username/password, or ``auth`` = base64 of user:password; the key may carry https:// and a path)."""
    path = docker_config_path()
    config = json.loads(path.read_text()) if path.is_file() else {}
    if config.get("credsStore") or config.get("credHelpers"):
        raise Refused("credential helpers (credsStore, credHelpers) are not supported by the stand-in")
    for key, entry in config.get("auths", {}).items():
        host = key.split("://", 1)[-1].split("/", 1)[0]
        if host != registry:
            continue
        if entry.get("auth"):
            user, _, password = base64.b64decode(entry["auth"]).decode().partition(":")
            return user, password
        return entry.get("username", ""), entry.get("password", "")
    return None


def split(ref: str) -> tuple[str, str, str]:
    """registry, repository, tag-or-digest of a reference, as go-containerregistry's name package
    reads one (WeakValidation): the first component is a registry when it has a "." or ":" or is
    localhost, else the registry is index.docker.io and a one-component name is library/<name>;
    no tag means latest."""
    name, at, digest = ref.partition("@")
    tag = ""
    if ":" in name.rsplit("/", 1)[-1]:
        name, _, tag = name.rpartition(":")
    first, slash, rest = name.partition("/")
    if slash and ("." in first or ":" in first or first == "localhost"):
        registry, repository = first, rest
    else:
        registry, repository = "index.docker.io", name if slash else f"library/{name}"
    return registry, repository, digest if at else (tag or "latest")


def authorized(registry: str) -> bool:
    """A registry listed in registries.json needs that login; others are open."""
    needed = load("registries.json").get(registry)
    if needed is None:
        return True
    given = credentials(registry)
    return given is not None and given == (needed["user"], needed["password"])


def check_push(destination: str) -> None:
    """push.go CheckPushPermissions (remote.CheckPushPermission: a blob upload is started) before
    the build; the registry's answer as go-containerregistry's transport error prints it."""
    registry, repository, _ = split(destination)
    if not authorized(registry):
        raise Refused(
            f'checking push permission for "{destination}": POST https://{registry}/v2/{repository}/blobs/uploads/: '
            f"UNAUTHORIZED: authentication required; [map[Action:pull Class: Name:{repository} Type:repository] "
            f"map[Action:push Class: Name:{repository} Type:repository]]"
        )


def pull(ref: str) -> dict:
    """The base image's recipe (pkg/image/remote/remote.go RetrieveRemoteImage: the manifest)."""
    registry, repository, reference = split(ref)
    if not authorized(registry):
        raise Refused(f"GET https://{registry}/v2/{repository}/manifests/{reference}: UNAUTHORIZED: authentication required")
    images = load("images.json")
    if ref not in images:
        raise Refused(f"GET https://{registry}/v2/{repository}/manifests/{reference}: MANIFEST_UNKNOWN: manifest unknown")
    return images[ref]


def push(refs: list[str], recipe: dict) -> None:
    """Register ``recipe`` under each ref, in one atomic replace of images.json (pushes of
    builds that run at the same time take turns: a lock file beside it)."""
    path = state() / "images.json"
    with open(state() / "images.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        images = load("images.json")
        images.update({ref: recipe for ref in refs})
        temporary = path.with_name(f"images.json.{os.getpid()}.tmp")
        temporary.write_text(json.dumps(images, indent=1))
        os.replace(temporary, path)
