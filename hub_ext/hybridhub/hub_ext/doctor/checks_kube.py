"""Live check: the hub and its services reach the Kubernetes API with the permissions they use.

One table says who uses what (from the code): KubeSpawner in the hub, and the cost service (the
culler talks to the hub's API only, hub_ext/culler). Every read they need is tried for real, as a
dry run: ``list`` with ``limit=1``, ``watch`` with ``timeoutSeconds=1``, ``get`` of a name that does
not exist (the API server authorizes before it looks: 404 means allowed, 403 forbidden —
https://kubernetes.io/docs/reference/access-authn-authz/authorization/). Writes (create, delete)
are in the table but not tried: the doctor must change nothing in the cluster.

The services run in the hub's pod with its service account (hub_ext/handover.py hands them the API
address), so one identity is asked for all of them, with the client configuration they load.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from .check import FAIL, PASS, Context, Result
from .checks_services import COST_SERVICE, cost_settings, hub_services
from .kube import SINGULAR, namespace, raw, timeout, with_kube

READS = ("get", "list", "watch")
PROBE_NAME = "hybridhub-doctor-probe"  # a name nothing has: a get of it answers 404 when allowed


@dataclass(frozen=True)
class Access:
    who: str
    resource: str
    namespace: str  # "" for a cluster-scoped resource
    verbs: tuple[str, ...]


def _spawner(ns: str) -> list[Access]:
    """KubeSpawner (kubespawner/spawner.py, reflector.py) and HybridKubeSpawner (spawner/kube.py):
    the pod reflector lists and watches pods, the event reflector events; pods and PVCs are created,
    read and deleted; the Secret and Service only with internal_ssl / services_enabled."""
    return [
        Access("hub (KubeSpawner)", "pods", ns, ("create", "delete", "list", "watch")),
        Access("hub (KubeSpawner)", "persistentvolumeclaims", ns, ("create", "get", "delete")),
        Access("hub (KubeSpawner)", "events", ns, ("list", "watch")),
        Access("hub (KubeSpawner)", "secrets", ns, ("create", "delete")),
        Access("hub (KubeSpawner)", "services", ns, ("create", "delete")),
    ]


def _cost(context: Context) -> list[Access]:
    """The cost service's list-watches (hub_ext/cost/service.py ``watchers``): nodes, its
    namespace's pods, and events of each event namespace (the autoscaler writes to kube-system)."""
    if not any(s["name"] == COST_SERVICE for s in hub_services(context)):
        return []
    app, failed = cost_settings(context)
    if failed:
        return []  # the budget check reports the unreadable settings
    who = f"service {COST_SERVICE}"
    return ([Access(who, "nodes", "", ("list", "watch")), Access(who, "pods", app.namespace, ("list", "watch"))]
            + [Access(who, "events", ns, ("list", "watch")) for ns in app.event_namespaces])


def access_table(context: Context) -> list[Access]:
    return _spawner(namespace(context)) + _cost(context)


async def _try(core, access: Access, verb: str) -> int:
    """The HTTP status of one dry-run read (200, or 404 for a get: allowed; 403 forbidden)."""
    from kubernetes_asyncio.client.exceptions import ApiException

    singular = SINGULAR[access.resource]
    ns_args = (access.namespace,) if access.namespace else ()
    scope = "namespaced_" if access.namespace else ""
    try:
        if verb == "get":
            await getattr(core, f"read_{scope}{singular}")(PROBE_NAME, *ns_args, _request_timeout=timeout())
        elif verb == "list":
            await getattr(core, f"list_{scope}{singular}")(*ns_args, limit=1, _request_timeout=timeout())
        else:
            # read to the end: the server ends the watch after timeoutSeconds
            await raw(getattr(core, f"list_{scope}{singular}"), *ns_args, watch=True, timeout_seconds=1)
    except ApiException as e:
        if e.status in (403, 404):
            return e.status
        raise
    return 200


def _label(access: Access, verb: str) -> str:
    return f"{verb} {access.resource}" + (f" in {access.namespace}" if access.namespace else "")


def kube_access(context: Context) -> Result:
    name = "kube-access"
    table = access_table(context)

    async def work(core, where: str) -> Result:
        tries = [(a, v) for a in table for v in a.verbs if v in READS]
        statuses = await asyncio.gather(*(_try(core, a, v) for a, v in tries))
        denied = [(a, v) for (a, v), status in zip(tries, statuses) if status == 403]
        if denied:
            who = sorted({a.who for a, _ in denied})
            return Result(name, FAIL, "saw_kube_forbidden",
                          {"who": ", ".join(who), "denied": "; ".join(_label(a, v) for a, v in denied)},
                          "fix_kube_forbidden")
        writes = sum(v not in READS for a in table for v in a.verbs)
        return Result(name, PASS, "saw_kube_access_ok", {"where": where, "tried": len(tries), "writes": writes})

    return with_kube(context, name, work)
