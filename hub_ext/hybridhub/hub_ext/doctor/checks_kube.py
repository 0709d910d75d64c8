"""Live check: the hub and its services reach the Kubernetes API with the permissions they use.

One table says who uses what (from the code): KubeSpawner in the hub, and the cost service (the
culler talks to the hub's API only, hub_ext/culler). Every (verb, resource, namespace) of it is
asked of the API server as a SelfSubjectAccessReview (authorization.k8s.io/v1, "Checking API
access": https://kubernetes.io/docs/reference/access-authn-authz/authorization/#checking-api-access),
which answers for the asking identity without doing anything. The reads are also done for real, as
a dry run of the path the services take: ``list`` with ``limit=1``, ``watch`` with
``timeoutSeconds=1``, ``get`` of a name that does not exist (authorization comes first: 404 means
allowed, 403 forbidden). An API server that does not serve the review (404) leaves the writes
unchecked, and the report says so.

The services run in the hub's pod with its service account (hub_ext/handover.py hands them the API
address), so one identity is asked for all of them, with the client configuration they load.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass

from .check import FAIL, PASS, Context, Result
from .checks_services import COST_SERVICE, cost_settings, hub_services
from .kube import SINGULAR, namespace, not_on_kubernetes, raw, timeout, with_kube

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


async def _review(core, access: Access, verb: str) -> bool | None:
    """The API server's SelfSubjectAccessReview answer; None when it does not serve the review."""
    from kubernetes_asyncio.client import AuthorizationV1Api
    from kubernetes_asyncio.client.exceptions import ApiException

    attributes = {"verb": verb, "group": "", "resource": access.resource,
                  **({"namespace": access.namespace} if access.namespace else {})}
    body = {"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
            "spec": {"resourceAttributes": attributes}}
    try:
        answer = await raw(AuthorizationV1Api(core.api_client).create_self_subject_access_review, body)
    except ApiException as e:
        if e.status == 404:
            return None
        raise
    return bool((json.loads(answer).get("status") or {}).get("allowed"))


def kube_access(context: Context) -> Result:
    name = "kube-access"
    skipped = not_on_kubernetes(context, name)
    if skipped:
        return skipped
    table = access_table(context)

    async def work(core, where: str) -> Result:
        asked = [(a, v) for a in table for v in a.verbs]
        reads = [(a, v) for a, v in asked if v in READS]
        reviews = await asyncio.gather(*(_review(core, a, v) for a, v in asked))
        statuses = await asyncio.gather(*(_try(core, a, v) for a, v in reads))
        denied = [(a, v) for (a, v), allowed in zip(asked, reviews) if allowed is False]
        denied += [(a, v) for (a, v), status in zip(reads, statuses) if status == 403 and (a, v) not in denied]
        if denied:
            who = sorted({a.who for a, _ in denied})
            return Result(name, FAIL, "saw_kube_forbidden",
                          {"who": ", ".join(who), "denied": "; ".join(dict.fromkeys(_label(a, v) for a, v in denied))},
                          "fix_kube_forbidden")
        if None in reviews:
            return Result(name, PASS, "saw_kube_access_reads_only",
                          {"where": where, "tried": len(reads), "writes": len(asked) - len(reads)})
        return Result(name, PASS, "saw_kube_access_ok", {"where": where, "reviewed": len(asked), "tried": len(reads)})

    return with_kube(context, name, work)
