"""Live checks of the node pools: every profile's pods have nodes to land on (or a node group the
cluster autoscaler can scale from zero), with taints the profile tolerates; GPU profiles' nodes
advertise GPUs.

What the API can tell: the nodes that exist now (labels, taints, ``status.allocatable``). A pool
scaled to zero has no node; then the cluster autoscaler's status ConfigMap
(``kube-system/cluster-autoscaler-status``, written by the autoscaler every loop:
cluster-autoscaler/clusterstate/utils/status.go) says whether it knows a node group for the pool
(AKS names it ``aks-<pool>-<digits>-vmss``) — but not the labels and taints a new node will get,
so those findings are warnings.
"""

from __future__ import annotations

import json
import re

import yaml

from hybridhub.spawner.profiles import GPU_RESOURCE, Profile

from .check import FAIL, PASS, WARN, Context, Result
from .kube import not_on_kubernetes, raw, with_kube
from .placement import leaving, matches, placement, profiles, untolerated

STATUS_NAMESPACE, STATUS_NAME = "kube-system", "cluster-autoscaler-status"


async def list_nodes(core) -> list[dict]:
    return json.loads(await raw(core.list_node)).get("items") or []


async def autoscaler_groups(core) -> list[str] | None:
    """Node group names in the autoscaler's status, or None when it cannot be read (no ConfigMap,
    no permission to read kube-system)."""
    from kubernetes_asyncio.client.exceptions import ApiException

    try:
        body = await raw(core.read_namespaced_config_map, STATUS_NAME, STATUS_NAMESPACE)
    except ApiException as e:
        if e.status in (403, 404):
            return None
        raise
    status = (json.loads(body).get("data") or {}).get("status") or ""
    try:  # YAML since cluster-autoscaler 1.30 (nodeGroups[].name); plain text before ("Name: ...")
        parsed = yaml.safe_load(status)
    except yaml.YAMLError:
        parsed = None
    if isinstance(parsed, dict):  # "autoscalerStatus: Initializing" has no node groups yet: unknown
        groups = parsed.get("nodeGroups")
        return [str(g.get("name")) for g in groups if isinstance(g, dict)] if isinstance(groups, list) else None
    return re.findall(r"^\s*Name:\s*(\S+)", status, re.MULTILINE) or None


def group_of(pool: str, groups: list[str]) -> str | None:
    return next((g for g in groups if g == pool or re.fullmatch(rf"aks-{re.escape(pool)}-\d+-vmss", g)), None)


def _finding(context: Context, profile: Profile, nodes: list[dict], groups: list[str] | None) -> tuple[str, str]:
    """(kind, detail) for one profile: ok, taints, labels, zero-known, zero-unknown, missing."""
    where = placement(context, profile)
    fitting = [n for n in nodes if matches(n, where)]
    if fitting:
        blocked = sorted({t for n in fitting for t in untolerated(n, where)})
        usable = [n for n in fitting if not untolerated(n, where)]
        if not usable:
            return "taints", f"{profile.slug} ({', '.join(blocked)})"
        return "ok", f"{profile.slug}: {len(usable)}"
    pool_nodes = [n for n in nodes if (n.get("metadata", {}).get("labels") or {}).get("agentpool") == profile.pool.name]
    if pool_nodes:  # the pool is up but its nodes miss a label the pod requires
        return "labels", f"{profile.slug} ({_wanted(where)})"
    if groups is None:
        return "zero-unknown", profile.slug
    group = group_of(profile.pool.name, groups)
    if group:
        return "zero-known", f"{profile.slug} ({group})"
    return "missing", f"{profile.slug} (pool {profile.pool.name})"


def _wanted(where) -> str:
    wanted = [f"{k}={v}" for k, v in where.selector.items()]
    for term in where.terms:
        wanted += [f"{e.get('key')} {e.get('operator')} {','.join(e.get('values') or [])}".strip()
                   for e in term.get("matchExpressions") or []]
    return "; ".join(wanted)


# the worst kind first: its profiles make the verdict
KINDS = [("missing", FAIL, "saw_pool_missing", "fix_pool_missing"),
         ("labels", FAIL, "saw_pool_labels", "fix_pool_labels"),
         ("taints", FAIL, "saw_pool_taints", "fix_pool_taints"),
         ("zero-unknown", WARN, "saw_pool_zero_unknown", "fix_pool_zero_unknown"),
         ("zero-known", WARN, "saw_pool_zero_known", "fix_pool_zero_known")]


def pools(context: Context) -> Result:
    name = "pools"
    skipped = not_on_kubernetes(context, name)
    if skipped:
        return skipped

    async def work(core, where: str) -> Result:
        nodes = [n for n in await list_nodes(core) if not leaving(n)]
        groups = await autoscaler_groups(core)
        findings = [_finding(context, p, nodes, groups) for p in profiles(context)]
        for kind, status, saw, fix in KINDS:
            found = [detail for k, detail in findings if k == kind]
            if found:
                return Result(name, status, saw, {"profiles": ", ".join(found), "nodes": len(nodes)}, fix)
        return Result(name, PASS, "saw_pools_ok", {"profiles": ", ".join(d for _, d in findings)})

    return with_kube(context, name, work)


def gpu_nodes(context: Context) -> Result:
    """A GPU profile's nodes must advertise the GPU resource (the NVIDIA device plugin puts it in
    ``status.allocatable``); a node without it never runs the pod."""
    name = "gpu-nodes"
    skipped = not_on_kubernetes(context, name)
    if skipped:
        return skipped
    wanted = [p for p in profiles(context) if p.gpus]
    if not wanted:
        return Result(name, PASS, "saw_gpu_none_needed", {})

    async def work(core, where: str) -> Result:
        nodes = [n for n in await list_nodes(core) if not leaving(n)]
        without, absent, ok = [], [], []
        for profile in wanted:
            fitting = [n for n in nodes if matches(n, placement(context, profile))]
            having = [n for n in fitting if _gpus(n) >= profile.gpus]
            if having:
                ok.append(f"{profile.slug}: {len(having)}")
            elif fitting:
                without.append(f"{profile.slug} ({', '.join(n['metadata']['name'] for n in fitting)})")
            else:
                absent.append(profile.slug)
        if without:
            return Result(name, FAIL, "saw_gpu_not_advertised", {"profiles": "; ".join(without),
                                                                  "resource": GPU_RESOURCE}, "fix_gpu_not_advertised")
        if absent:
            return Result(name, WARN, "saw_gpu_no_node", {"profiles": ", ".join(absent)}, "fix_gpu_no_node")
        return Result(name, PASS, "saw_gpu_ok", {"profiles": ", ".join(ok), "resource": GPU_RESOURCE})

    return with_kube(context, name, work)


def _gpus(node: dict) -> int:
    value = str((node.get("status", {}).get("allocatable") or {}).get(GPU_RESOURCE, "0"))
    return int(value) if value.isdigit() else 0
