"""Scheduling predicates shared by the scheduler and the autoscaler.

The autoscaler asks the same question as the scheduler about a *template* node
of each pool ("would this pod fit on a fresh node of pool X?"), as the real
cluster-autoscaler does by simulating the scheduler.
"""

from __future__ import annotations

from collections import Counter
from fractions import Fraction

from .quantity import parse_resources

AFFINITY = "node(s) didn't match Pod's node affinity/selector"


def pod_requests(pod: dict) -> dict[str, Fraction]:
    """Sum of container requests (limits stand in for missing requests, as API defaulting does)."""
    total: Counter = Counter()
    for c in pod.get("spec", {}).get("containers") or []:
        res = c.get("resources") or {}
        req = parse_resources(res.get("limits"))
        req.update(parse_resources(res.get("requests")))
        total.update(req)
    init_max: Counter = Counter()
    for c in pod.get("spec", {}).get("initContainers") or []:
        res = c.get("resources") or {}
        req = parse_resources(res.get("limits"))
        req.update(parse_resources(res.get("requests")))
        for k, v in req.items():
            init_max[k] = max(init_max[k], v)
    for k, v in init_max.items():
        total[k] = max(total[k], v)
    total["pods"] = Fraction(1)
    return dict(total)


def _expr_matches(expr: dict, labels: dict) -> bool:
    key, op, values = expr["key"], expr["operator"], expr.get("values") or []
    present = key in labels
    if op == "In":
        return present and labels[key] in values
    if op == "NotIn":
        return not present or labels[key] not in values
    if op == "Exists":
        return present
    if op == "DoesNotExist":
        return not present
    if op in ("Gt", "Lt"):
        try:
            actual, bound = int(labels[key]), int(values[0])
        except (KeyError, ValueError, IndexError):
            return False
        return actual > bound if op == "Gt" else actual < bound
    raise ValueError(f"unknown node selector operator {op!r}")


def matches_node(pod: dict, node_name: str, labels: dict) -> bool:
    spec = pod.get("spec") or {}
    for k, v in (spec.get("nodeSelector") or {}).items():
        if labels.get(k) != v:
            return False
    required = (((spec.get("affinity") or {}).get("nodeAffinity") or {})
                .get("requiredDuringSchedulingIgnoredDuringExecution"))
    if required:
        fields = {"metadata.name": node_name}
        for term in required.get("nodeSelectorTerms") or []:
            exprs = term.get("matchExpressions") or []
            fexprs = term.get("matchFields") or []
            if not exprs and not fexprs:
                continue  # an empty term matches nothing
            if all(_expr_matches(e, labels) for e in exprs) and all(_expr_matches(e, fields) for e in fexprs):
                break
        else:
            return False
    return True


def tolerates(toleration: dict, taint: dict) -> bool:
    if toleration.get("effect") and toleration["effect"] != taint["effect"]:
        return False
    op = toleration.get("operator") or "Equal"
    if not toleration.get("key"):
        return op == "Exists"
    if toleration["key"] != taint["key"]:
        return False
    return op == "Exists" or toleration.get("value", "") == taint.get("value", "")


def untolerated_taint(pod: dict, taints: list[dict]) -> dict | None:
    tolerations = (pod.get("spec") or {}).get("tolerations") or []
    for taint in taints:
        if taint["effect"] not in ("NoSchedule", "NoExecute"):
            continue
        if not any(tolerates(t, taint) for t in tolerations):
            return taint
    return None


def misfit(pod: dict, node_name: str, labels: dict, taints: list[dict],
           free: dict[str, Fraction], requests: dict[str, Fraction] | None = None) -> str | None:
    """``None`` if the pod fits, else the scheduler's reason string."""
    if not matches_node(pod, node_name, labels):
        return AFFINITY
    taint = untolerated_taint(pod, taints)
    if taint is not None:
        value = f": {taint['value']}" if taint.get("value") else ""
        return f"node(s) had untolerated taint {{{taint['key']}{value}}}"
    requests = pod_requests(pod) if requests is None else requests
    for res in sorted(requests):
        if requests[res] > free.get(res, Fraction(0)):
            return "Too many pods" if res == "pods" else f"Insufficient {res}"
    return None


def summarise(reasons: list[str]) -> str:
    """``["Insufficient cpu", "Insufficient cpu", AFFINITY]`` -> ``"2 Insufficient cpu, 1 node(s)..."``."""
    counts = Counter(reasons)
    return ", ".join(f"{n} {reason}" for reason, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))
