"""Where a profile's pod may run, as the scheduler decides it: the node selector and required node
affinity, and the taints it tolerates — the profile's own (spawner/pod.py ``profile_overrides``)
applied to what the hub's config gives KubeSpawner (the chart's ``matchNodePurpose: require`` is a
required affinity term).

Matching follows the Kubernetes scheduling documentation: a node must carry every selector label;
of the required affinity's terms one must match, with all its expressions
(https://kubernetes.io/docs/concepts/scheduling-eviction/assign-pod-node/); a NoSchedule or
NoExecute taint must be tolerated (https://kubernetes.io/docs/concepts/scheduling-eviction/taint-and-toleration/).
"""

from __future__ import annotations

from dataclasses import dataclass

from hybridhub.spawner.pod import profile_overrides
from hybridhub.spawner.profiles import Profile, ProfileCatalog

from .check import Context, configured
from .classes import hub_class

BLOCKING = ("NoSchedule", "NoExecute")  # PreferNoSchedule only steers
# the cluster autoscaler's taint on a node it is removing (cluster-autoscaler utils/taints/taints.go)
TO_BE_DELETED = "ToBeDeletedByClusterAutoscaler"


@dataclass(frozen=True)
class Placement:
    selector: dict
    terms: list  # required node affinity: nodeSelectorTerms (any one must match)
    tolerations: list


def profiles(context: Context) -> list[Profile]:
    return ProfileCatalog(config=context.config).all_profiles()


def placement(context: Context, profile: Profile) -> Placement:
    spawner = hub_class(context, "spawner_class", "jupyterhub.spawners")
    given = {t: configured(context.config, spawner, t, None) for t in ("node_selector", "node_affinity_required")}
    # KubeSpawner applies a profile's overrides (kubespawner/spawner.py _apply_overrides) merging a
    # dict into the configured one and replacing anything else: the selector adds the pool's label,
    # the profile's tolerations replace the configured ones
    own = profile_overrides(profile)
    selector = {**(given["node_selector"] or {}), **own["node_selector"]}
    tolerations = own["tolerations"]
    return Placement(selector, list(given["node_affinity_required"] or []), tolerations)


def leaving(node: dict) -> bool:
    """A node on its way out: the autoscaler is deleting it, or it is cordoned. It takes no new pods,
    so for a profile it counts as no node at all (its pool scales down, not a misconfiguration)."""
    spec = node.get("spec", {})
    return bool(spec.get("unschedulable")) or any(t.get("key") == TO_BE_DELETED for t in spec.get("taints") or [])


def labels(node: dict) -> dict:
    return node.get("metadata", {}).get("labels") or {}


def _expression(node_labels: dict, expression: dict) -> bool:
    key, op, values = expression.get("key"), expression.get("operator"), expression.get("values") or []
    if op == "In":
        return node_labels.get(key) in values
    if op == "NotIn":
        return node_labels.get(key) not in values
    if op == "Exists":
        return key in node_labels
    if op == "DoesNotExist":
        return key not in node_labels
    if op in ("Gt", "Lt") and key in node_labels:
        try:
            have, bound = int(node_labels[key]), int(values[0])
        except (ValueError, IndexError):
            return False
        return have > bound if op == "Gt" else have < bound
    return False


def matches(node: dict, where: Placement) -> bool:
    node_labels = labels(node)
    if any(node_labels.get(k) != v for k, v in where.selector.items()):
        return False
    terms = [t for t in where.terms if t.get("matchExpressions")]
    return not terms or any(all(_expression(node_labels, e) for e in t["matchExpressions"]) for t in terms)


def _tolerates(toleration: dict, taint: dict) -> bool:
    if toleration.get("effect") and toleration["effect"] != taint.get("effect"):
        return False
    if toleration.get("operator") == "Exists":
        return not toleration.get("key") or toleration["key"] == taint.get("key")
    return toleration.get("key") == taint.get("key") and (toleration.get("value") or "") == (taint.get("value") or "")


def untolerated(node: dict, where: Placement) -> list[str]:
    """The node's taints that keep the pod off it, as ``key=value:Effect``."""
    taints = node.get("spec", {}).get("taints") or []
    return [f"{t.get('key')}={t.get('value', '')}:{t.get('effect')}" for t in taints
            if t.get("effect") in BLOCKING and not any(_tolerates(o, t) for o in where.tolerations)]
