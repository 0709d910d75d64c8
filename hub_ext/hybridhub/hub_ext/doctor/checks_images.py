"""Live check: every profile's image is pullable — its registry answers the distribution API and
serves the manifest with the credentials of the pull secrets the spawner names
(``KubeSpawner.image_pull_secrets``, which the chart sets from ``imagePullSecrets``), read through
the Kubernetes API as the kubelet reads them. A named Secret that does not exist is a failure
(the kubelet then pulls without it).

The hub asks from its own network with the CAs it trusts (``SSL_CERT_FILE``, else the public
ones); nodes pull through theirs, so a pass here is strong evidence, not proof."""

from __future__ import annotations

import base64
import json
import os

import certifi

from .check import FAIL, PASS, Context, Result, configured
from .checks_live import connection_failure, pool
from .classes import hub_class
from .kube import namespace, not_on_kubernetes, raw, with_kube
from .placement import profiles
from .registry import Denied, credentials, manifest_exists, parse

SECRET_KEYS = (".dockerconfigjson", ".dockercfg")  # kubernetes.io/dockerconfigjson and dockercfg Secrets
DENIED = {"no-api": ("saw_image_no_api", "fix_image_no_api"), "token": ("saw_image_token", "fix_image_credentials"),
          "denied": ("saw_image_denied", "fix_image_credentials"), "missing": ("saw_image_missing", "fix_image_missing")}


def pull_secret_names(context: Context) -> list[str]:
    spawner = hub_class(context, "spawner_class", "jupyterhub.spawners")
    given = configured(context.config, spawner, "image_pull_secrets", None) or []
    names = [given] if isinstance(given, str) else list(given)
    return [n["name"] if isinstance(n, dict) else str(n) for n in names]


async def _read_secret(core, name: str, ns: str) -> dict | None:
    """The Secret's docker config, or None when it does not exist."""
    from kubernetes_asyncio.client.exceptions import ApiException

    try:
        body = await raw(core.read_namespaced_secret, name, ns)
    except ApiException as e:
        if e.status == 404:
            return None
        raise
    data = json.loads(body).get("data") or {}
    for key in SECRET_KEYS:
        if key in data:
            try:
                return json.loads(base64.b64decode(data[key]))
            except ValueError:
                return {}
    return {}


def _tls(context: Context) -> dict:
    ca = context.environ.get("SSL_CERT_FILE", "")
    return {"cert_reqs": "CERT_REQUIRED", "ca_certs": ca if ca and os.path.isfile(ca) else certifi.where()}


def _ask(context: Context, name: str, image_text: str, secrets: dict[str, dict]) -> Result | str:
    """One image: '' when pullable (with which Secret), else the failed verdict."""
    image = parse(image_text)
    secret, login = next(((s, c) for s, c in ((s, credentials(d, image.registry)) for s, d in secrets.items()) if c),
                         ("-", None))
    seen = {"image": image_text, "registry": image.registry, "secret": secret}
    try:
        manifest_exists(pool(_tls(context)), image, login)
    except Denied as e:
        saw, fix = DENIED[e.kind]
        return Result(name, FAIL, saw, {**seen, "status": e.status}, fix)
    except Exception as e:  # noqa: BLE001 - a connection error is the verdict
        failure = connection_failure(name, f"https://{image.api_host}/v2/", e, "registry")
        if failure is None:
            raise
        return failure
    return f"{image_text} ({secret})"


def images(context: Context) -> Result:
    name = "images"
    skipped = not_on_kubernetes(context, name)
    if skipped:
        return skipped
    wanted = sorted({p.image for p in profiles(context)})
    secret_names = pull_secret_names(context)
    ns = namespace(context)

    async def read_secrets(core, where: str):
        secrets = {}
        for secret in secret_names:
            found = await _read_secret(core, secret, ns)
            if found is None:
                return Result(name, FAIL, "saw_image_secret_missing", {"secret": secret, "namespace": ns},
                              "fix_image_secret_missing")
            secrets[secret] = found
        return secrets

    # the Secrets within the Kubernetes calls' deadline; the registries after it, each call bounded
    # by the live checks' timeouts (a slow registry must not read as an unreachable API server)
    secrets = with_kube(context, name, read_secrets)
    if isinstance(secrets, Result):
        return secrets
    seen = []
    for image in wanted:
        verdict = _ask(context, name, image, secrets)
        if isinstance(verdict, Result):
            return verdict
        seen.append(verdict)
    return Result(name, PASS, "saw_images_ok", {"images": ", ".join(seen)})
