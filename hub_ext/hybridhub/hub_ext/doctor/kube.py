"""The doctor's way into the Kubernetes API: the client and configuration the hub's services use
(kubernetes_asyncio; the pod's service account when in a cluster, else ``KUBECONFIG``), each call
bounded by the live checks' short timeouts, and a failed connection turned into a verdict.

The client's configuration is built for the doctor alone (never the library's global default,
which KubeSpawner shares in the hub process)."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Awaitable, Callable

from .check import FAIL, PASS, Context, Result, configured
from .checks_live import CONNECT_TIMEOUT, READ_TIMEOUT
from .classes import hub_class

SERVICE_ACCOUNT = "/var/run/secrets/kubernetes.io/serviceaccount"
DEADLINE = 20.0  # seconds for one check's calls together (each call is bounded by READ_TIMEOUT too)
# the kubernetes_asyncio method suffix of each core/v1 resource the doctor asks about
SINGULAR = {"pods": "pod", "persistentvolumeclaims": "persistent_volume_claim", "events": "event",
            "nodes": "node", "secrets": "secret", "services": "service", "configmaps": "config_map"}


class NoKubeConfig(Exception):
    """Neither a service account (in a pod) nor a kubeconfig file."""


def services_kube_config(context: Context) -> str:
    """The kubeconfig the cost service is given (``CostService.kube_config_file``), if any."""
    from .checks_services import COST_SERVICE, cost_settings, hub_services

    if not any(s["name"] == COST_SERVICE for s in hub_services(context)):
        return ""
    app, failed = cost_settings(context)
    return "" if failed else app.kube_config_file


async def api_client(environ, kube_config_file: str = "") -> tuple[object, str]:
    """A kubernetes_asyncio ApiClient and where its configuration came from, as the cost service
    loads it (hub_ext/cost/service.py ``kube_api``): its kubeconfig setting, else in-cluster, else
    the kubeconfig file of ``KUBECONFIG`` (or ~/.kube/config)."""
    from kubernetes_asyncio import client, config
    from kubernetes_asyncio.config.incluster_config import InClusterConfigLoader

    from hybridhub.hub_ext.cost.service import in_cluster_environ

    if kube_config_file:
        if not Path(kube_config_file).is_file():
            raise NoKubeConfig(kube_config_file, True)
        return (await config.new_client_from_config(config_file=kube_config_file, persist_config=False),
                f"kubeconfig {kube_config_file}")
    token = Path(SERVICE_ACCOUNT)
    in_cluster = in_cluster_environ(environ, (token / "token").exists())
    if in_cluster is not None:
        configuration = client.Configuration()
        InClusterConfigLoader(token_filename=str(token / "token"), cert_filename=str(token / "ca.crt"),
                              environ=in_cluster).load_and_set(configuration)
        return client.ApiClient(configuration), "in-cluster service account"
    path = (environ.get("KUBECONFIG") or "").split(os.pathsep)[0]
    if not path:
        home = Path(environ.get("HOME") or "~").expanduser() / ".kube" / "config"
        path = str(home) if home.is_file() else ""
    if not path or not Path(path).is_file():
        raise NoKubeConfig(path)
    return await config.new_client_from_config(config_file=path, persist_config=False), f"kubeconfig {path}"


def namespace(context: Context) -> str:
    """The user servers' namespace as KubeSpawner picks it: its setting (the chart sets it from
    POD_NAMESPACE), else the service account's namespace, else ``default``."""
    spawner = hub_class(context, "spawner_class", "jupyterhub.spawners")
    given = configured(context.config, spawner, "namespace", "") if "namespace" in spawner.class_traits() else ""
    if given:
        return given
    token = Path(SERVICE_ACCOUNT) / "namespace"
    try:
        return token.read_text().strip() or "default"
    except OSError:
        return "default"


Work = Callable[[object, str], Awaitable]


def spawns_on_kubernetes(context: Context) -> bool:
    """The hub starts servers as pods (a KubeSpawner); the local demo's spawner does not."""
    from kubespawner import KubeSpawner

    return issubclass(hub_class(context, "spawner_class", "jupyterhub.spawners"), KubeSpawner)


def not_on_kubernetes(context: Context, name: str) -> Result | None:
    """The verdict of a cluster check when the hub does not use a cluster (nothing to check)."""
    if spawns_on_kubernetes(context):
        return None
    spawner = hub_class(context, "spawner_class", "jupyterhub.spawners")
    return Result(name, PASS, "saw_kube_not_used", {"cls": f"{spawner.__module__}.{spawner.__qualname__}"})


def with_kube(context: Context, name: str, work: Work):
    """Run ``work(core_v1, where)`` against the cluster and return what it returns (a Result, or
    what a check reads); a missing configuration, an unreachable or refusing API server is this
    check's failed Result (with the fix), never a traceback."""
    return asyncio.run(_with_kube(context, name, work))


async def _with_kube(context: Context, name: str, work: Work):
    from kubernetes_asyncio import client
    from kubernetes_asyncio.config import ConfigException

    try:
        api, where = await api_client(context.environ, services_kube_config(context))
    except NoKubeConfig as e:
        if e.args[1:] == (True,):  # the cost service's own setting names a file that is not there
            return Result(name, FAIL, "saw_kube_config_missing", {"path": e.args[0]}, "fix_kube_config_missing")
        return Result(name, FAIL, "saw_kube_no_config", {}, "fix_kube_no_config")
    except (ConfigException, OSError, ValueError) as e:
        return Result(name, FAIL, "saw_kube_config_error", {"error": _first_line(e)}, "fix_kube_no_config")
    url = api.configuration.host
    try:
        async with api:
            return await asyncio.wait_for(work(client.CoreV1Api(api), where), DEADLINE)
    except Exception as e:  # noqa: BLE001 - classified; anything else is the check's own error
        failure = api_failure(name, url, e)
        if failure is None:
            raise
        return failure


def api_failure(name: str, url: str, error: Exception) -> Result | None:
    """An error of a call to the API server as this check's verdict, or None if not one of those."""
    import aiohttp
    from kubernetes_asyncio.client.exceptions import ApiException

    if isinstance(error, ApiException) and error.status == 401:
        return Result(name, FAIL, "saw_kube_unauthorized", {"url": url}, "fix_kube_unauthorized")
    if isinstance(error, ApiException) and error.status == 403:  # a read this check itself needs
        return Result(name, FAIL, "saw_kube_check_forbidden", {"url": url}, "fix_kube_check_forbidden")
    if isinstance(error, ApiException):
        return Result(name, FAIL, "saw_kube_error", {"url": url, "status": error.status, "reason": error.reason},
                      "fix_kube_unreachable")
    if isinstance(error, (aiohttp.ClientSSLError, aiohttp.ClientConnectorCertificateError)):
        return Result(name, FAIL, "saw_kube_tls", {"url": url, "error": _first_line(error)}, "fix_kube_tls")
    if isinstance(error, (aiohttp.ClientError, OSError, asyncio.TimeoutError)):
        return Result(name, FAIL, "saw_kube_unreachable", {"url": url, "error": type(error).__name__},
                      "fix_kube_unreachable")
    return None


async def raw(method, *args, **kwargs) -> bytes:
    """The body of a kubernetes_asyncio call as JSON text, for plain dicts instead of models.
    Without preloading the library raises on no status (rest.py), so a non-2xx one is raised here
    as it would: ``ApiException`` with the status."""
    from kubernetes_asyncio.client.exceptions import ApiException

    answer = await method(*args, _preload_content=False, _request_timeout=timeout(), **kwargs)
    try:
        body = await answer.read()
    finally:
        answer.release()
    if not 200 <= answer.status <= 299:
        raise ApiException(status=answer.status, reason=answer.reason)
    return body


def timeout() -> tuple[float, float]:
    """kubernetes_asyncio's ``_request_timeout``: (connect, read) seconds."""
    return (CONNECT_TIMEOUT, READ_TIMEOUT)


def _first_line(error: Exception) -> str:
    return f"{type(error).__name__}: {(str(error).splitlines() or [''])[0][:160]}"
