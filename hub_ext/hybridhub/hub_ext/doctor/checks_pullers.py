"""Live check: each GPU profile's image is pulled on its pool's nodes as they join, by a DaemonSet in the
hub's namespace (helm-values/gpu-image-puller.yaml, deploy guide step 5), so that a node the warm-up
brings up has the image before its user comes (issue 21, image readiness).

A DaemonSet pulls an image on a pool when its pod template names the image (an init container or a
container) and would run on the pool's nodes: its nodeSelector and required node affinity match the
labels the pool's nodes carry, and it tolerates the pool's NoSchedule/NoExecute taints (the DaemonSet
controller's rule, pkg/controller/daemon/daemon_controller.go ``NodeShouldRunDaemonPod``). A pool
scaled to zero has no node to read, so its nodes' labels are the ones the hub's own pods require of
them (their nodeSelector and required affinity, doctor/placement.py) and AKS's ``agentpool`` label;
its taints are the catalog's. Without a puller the hub still works (the user's pod pulls the image
when it comes): a warning.
"""

from __future__ import annotations

import json

from hybridhub.spawner.profiles import Profile

from .check import PASS, WARN, Context, Result
from .kube import namespace, not_on_kubernetes, raw, with_kube
from .placement import Placement, matches, placement, profiles, untolerated

POOL_LABEL = "agentpool"  # AKS labels every node with its pool's name


def pool_node(profile: Profile, where: Placement) -> dict:
    """A node of the profile's pool as far as the hub's config tells: the labels its pods require,
    ``agentpool``, and the pool's taints."""
    node_labels = {POOL_LABEL: profile.pool.name, **where.selector}
    for term in where.terms[:1]:  # the first term the pods may use: its single-valued In and Exists
        for e in term.get("matchExpressions") or []:
            if e.get("operator") == "In" and len(e.get("values") or []) == 1:
                node_labels.setdefault(e["key"], e["values"][0])
            elif e.get("operator") == "Exists":
                node_labels.setdefault(e["key"], "")
    taints = [{"key": t.key, "value": t.value, "effect": t.effect} for t in profile.pool.taints]
    return {"metadata": {"labels": node_labels}, "spec": {"taints": taints}}


def pulled_images(daemonset: dict) -> list[str]:
    spec = daemonset.get("spec", {}).get("template", {}).get("spec", {})
    return [c.get("image", "") for c in (spec.get("initContainers") or []) + (spec.get("containers") or [])]


def runs_on(daemonset: dict, node: dict) -> bool:
    spec = daemonset.get("spec", {}).get("template", {}).get("spec", {})
    required = (((spec.get("affinity") or {}).get("nodeAffinity") or {})
                .get("requiredDuringSchedulingIgnoredDuringExecution") or {})
    where = Placement(spec.get("nodeSelector") or {}, required.get("nodeSelectorTerms") or [],
                      spec.get("tolerations") or [])
    return matches(node, where) and not untolerated(node, where)


def puller_findings(context: Context, daemonsets: list[dict]) -> tuple[list[str], list[str]]:
    """(covered, missing) per GPU pool and image, in words of no language: ``image → pool (DaemonSet)``
    and, for a missing one, ``image → pool`` with ``[what the pool's pullers pull instead]``."""
    covered, missing = [], []
    wanted = {(p.pool.name, p.image): p for p in profiles(context) if p.gpus}
    for (pool, image), profile in sorted(wanted.items()):
        node = pool_node(profile, placement(context, profile))
        here = [d for d in daemonsets if runs_on(d, node)]
        by = [d["metadata"]["name"] for d in here if image in pulled_images(d)]
        if by:
            covered.append(f"{image} → {pool} ({', '.join(by)})")
            continue
        instead = sorted({i for d in here for i in pulled_images(d) if i.rpartition("/")[2].partition(":")[0]
                          == image.rpartition("/")[2].partition(":")[0]})
        missing.append(f"{image} → {pool}" + (f" [{', '.join(instead)}]" if instead else ""))
    return covered, missing


def image_pullers(context: Context) -> Result:
    name = "image-pullers"
    skipped = not_on_kubernetes(context, name)
    if skipped:
        return skipped
    if not any(p.gpus for p in profiles(context)):
        return Result(name, PASS, "saw_gpu_none_needed", {})
    ns = namespace(context)

    async def work(core, where: str) -> Result:
        from kubernetes_asyncio import client

        apps = client.AppsV1Api(core.api_client)
        daemonsets = json.loads(await raw(apps.list_namespaced_daemon_set, ns)).get("items") or []
        covered, missing = puller_findings(context, daemonsets)
        if missing:
            return Result(name, WARN, "saw_pullers_missing", {"images": "; ".join(missing), "namespace": ns},
                          "fix_pullers_missing")
        return Result(name, PASS, "saw_pullers_ok", {"images": "; ".join(covered)})

    return with_kube(context, name, work)
