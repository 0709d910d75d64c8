"""Asking a container registry whether it would serve an image, as a container runtime asks: the
OCI distribution API (https://distribution.github.io/distribution/spec/api/) — ``GET /v2/``, and on
401 the challenge of ``WWW-Authenticate``: ``Bearer realm=…,service=…`` means a token from the realm
for ``scope=repository:<name>:pull``, sent with the pull secret's credentials as HTTP Basic
(https://distribution.github.io/distribution/spec/auth/token/); ``Basic`` means the credentials
themselves — then ``HEAD /v2/<name>/manifests/<reference>``. Never a secret in what it returns.
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

import urllib3

DOCKER_HUB = "docker.io"
DOCKER_HUB_API = "registry-1.docker.io"
# what a runtime accepts (the image index first): OCI image spec media types, and Docker's
MANIFEST_TYPES = ", ".join([
    "application/vnd.oci.image.index.v1+json", "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.docker.distribution.manifest.v2+json"])


@dataclass(frozen=True)
class Image:
    registry: str  # host[:port] as in the reference (docker.io for Docker Hub)
    name: str  # repository path
    reference: str  # tag or digest

    @property
    def api_host(self) -> str:
        return DOCKER_HUB_API if self.registry == DOCKER_HUB else self.registry


def parse(image: str) -> Image:
    """An image reference (distribution/reference grammar): the first path component is a
    registry when it has a dot or a port or is ``localhost``; else Docker Hub (``library/`` for
    one-component names). No tag means ``latest``."""
    rest, digest = (image.split("@", 1) + [""])[:2]
    first, _, remainder = rest.partition("/")
    if remainder and ("." in first or ":" in first or first == "localhost"):
        registry, path = first, remainder
    else:
        registry, path = DOCKER_HUB, rest
        if "/" not in path:
            path = f"library/{path}"
    name, tag = path.rsplit(":", 1) if ":" in path.rsplit("/", 1)[-1] else (path, "")
    return Image(registry, name, digest or tag or "latest")


def credentials(docker_config: dict, registry: str) -> tuple[str, str] | None:
    """(username, password) for ``registry`` from a ``.dockerconfigjson`` (``{"auths": {...}}``) or
    ``.dockercfg`` mapping; keys may be URLs (``https://host/v1/``)."""
    auths = docker_config.get("auths", docker_config) if isinstance(docker_config, dict) else {}
    wanted = {registry, "index.docker.io", DOCKER_HUB_API} if registry == DOCKER_HUB else {registry}
    for key, entry in (auths or {}).items():
        host = urlsplit(key).netloc if "://" in key else key.split("/")[0]
        if host in wanted and isinstance(entry, dict):
            if entry.get("username") is not None:
                return str(entry.get("username")), str(entry.get("password") or "")
            if entry.get("auth"):
                user, _, password = base64.b64decode(entry["auth"]).decode().partition(":")
                return user, password
    return None


def _basic(user_password: tuple[str, str]) -> str:
    return "Basic " + base64.b64encode(":".join(user_password).encode()).decode()


def challenge(header: str) -> tuple[str, dict]:
    """``Bearer realm="…",service="…"`` -> ("bearer", {"realm": …, "service": …})."""
    scheme, _, params = header.strip().partition(" ")
    return scheme.lower(), dict(re.findall(r'(\w+)="([^"]*)"', params))


class Denied(Exception):
    """The registry refused (kind: ``no-api``, ``token``, ``denied``, ``missing``; status)."""

    def __init__(self, kind: str, status: int):
        super().__init__(kind)
        self.kind, self.status = kind, status


def manifest_exists(http: urllib3.PoolManager, image: Image, login: tuple[str, str] | None) -> str:
    """The manifest's digest when the registry would serve ``image`` with ``login``; raises
    :class:`Denied` otherwise (connection errors propagate)."""
    base = f"https://{image.api_host}/v2/"
    answer = http.request("GET", base)
    authorization = None
    if answer.status == 401:
        scheme, params = challenge(answer.headers.get("WWW-Authenticate", ""))
        if scheme == "bearer" and params.get("realm"):
            authorization = "Bearer " + _token(http, params, image, login)
        elif scheme == "basic" and login:
            authorization = _basic(login)
        else:
            raise Denied("denied", 401)
    elif answer.status != 200:
        raise Denied("no-api", answer.status)
    headers = {"Accept": MANIFEST_TYPES, **({"Authorization": authorization} if authorization else {})}
    head = http.request("HEAD", f"{base}{image.name}/manifests/{image.reference}", headers=headers)
    if head.status == 200:
        return head.headers.get("Docker-Content-Digest", "")
    raise Denied("missing" if head.status == 404 else "denied", head.status)


def _token(http: urllib3.PoolManager, params: dict, image: Image, login: tuple[str, str] | None) -> str:
    query = {"scope": f"repository:{image.name}:pull", **({"service": params["service"]} if "service" in params else {})}
    answer = http.request("GET", f"{params['realm']}?{urlencode(query)}",
                          headers={"Authorization": _basic(login)} if login else {})
    if answer.status != 200:
        raise Denied("token", answer.status)
    try:
        body = json.loads(answer.data)
    except ValueError:
        raise Denied("token", answer.status) from None
    token = body.get("token") or body.get("access_token") if isinstance(body, dict) else None
    if not token:
        raise Denied("token", answer.status)
    return token
