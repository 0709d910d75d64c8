"""The DaemonSet controller (apps/v1), as much of it as the chart's continuous image puller needs.

Follows kubernetes pkg/controller/daemon/daemon_controller.go and pkg/controller/daemon/util/daemonset_util.go:

* a node runs the DaemonSet's pod when ``NodeShouldRunDaemonPod`` says so: the template's nodeSelector and
  required node affinity match the node, and every NoSchedule/NoExecute taint of the node is tolerated by
  the template (``predicates``: fitsNodeAffinity, fitsTaints). Resources are the scheduler's business;
* the pod is created when the DaemonSet is created (for the nodes there) and when a node joins (the
  controller's node informer; the stand-in's nodes join Ready), and again when it is deleted while its
  node still should run it;
* the pod: the template, ``generateName: <ds>-``, a controller ownerReference to the DaemonSet (so the
  garbage collector ends it with the DaemonSet), the labels ``controller-revision-hash`` and
  ``pod-template-generation``; ``ReplaceDaemonSetPodNodeNameNodeAffinity`` replaces the required node
  affinity with ``matchFields metadata.name In [node]`` (the default scheduler places it, since 1.12);
  ``AddOrUpdateDaemonPodTolerations`` adds the not-ready/unreachable NoExecute and the
  disk-/memory-/pid-pressure and unschedulable NoSchedule tolerations (network-unavailable with
  hostNetwork).

Not modelled: rolling updates (a changed template does not replace pods), status beyond
desiredNumberScheduled/currentNumberScheduled, pods the DaemonSet should no longer run (the nodes'
labels and taints do not change here except the autoscaler's ToBeDeleted taint, which is NoSchedule and
leaves running pods alone).
"""

from __future__ import annotations

import copy
import hashlib
import json

from .scheduling import matches_node, untolerated_taint

__all__ = ["DaemonSets", "is_daemonset_pod"]

# daemonset_util.go AddOrUpdateDaemonPodTolerations (keys from k8s.io/api/core/v1 well_known_taints.go)
DAEMON_TOLERATIONS = [
    {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute"},
    {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute"},
    {"key": "node.kubernetes.io/disk-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/memory-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/pid-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/unschedulable", "operator": "Exists", "effect": "NoSchedule"},
]
HOST_NETWORK_TOLERATION = {"key": "node.kubernetes.io/network-unavailable", "operator": "Exists",
                           "effect": "NoSchedule"}


def is_daemonset_pod(pod: dict) -> bool:
    """pod_util.IsDaemonSetPod (cluster-autoscaler utils/pod): a controller ownerReference of kind DaemonSet."""
    return any(ref.get("kind") == "DaemonSet" and ref.get("controller")
               for ref in pod["metadata"].get("ownerReferences") or [])


class DaemonSets:
    def __init__(self, cluster):
        self.cluster = cluster
        cluster.store.on_delete.append(self._deleted)

    # ------------------------------------------------------------------ triggers
    def created(self, ds: dict) -> None:
        """A DaemonSet was created: a pod for each node that should run it."""
        for state in list(self.cluster.nodes.values()):
            self._sync(ds, state)

    def node_added(self, state) -> None:
        for ds in self.cluster.store.list("daemonsets", None):
            self._sync(ds, state)

    def _deleted(self, obj: dict) -> None:
        if obj.get("kind", "Pod") != "Pod" or "spec" not in obj or not is_daemonset_pod(obj):
            return
        node = (obj["spec"] or {}).get("nodeName") or _node_of(obj)
        ref = next(r for r in obj["metadata"]["ownerReferences"] if r.get("kind") == "DaemonSet")
        ns = obj["metadata"]["namespace"]
        cluster = self.cluster

        def resync(_t):
            ds = cluster.store.find("daemonsets", ns, ref["name"])
            state = cluster.nodes.get(node)
            if ds is not None and ds["metadata"]["uid"] == ref.get("uid") and state is not None:
                self._sync(ds, state)
        cluster.clock.call_at(cluster.clock.now(), resync)

    # ------------------------------------------------------------------ the controller
    def should_run(self, ds: dict, state) -> bool:
        """NodeShouldRunDaemonPod: node affinity/selector and taints (NoSchedule, NoExecute) of the node."""
        template = {"spec": ds["spec"]["template"].get("spec") or {}}
        return (matches_node(template, state.name, self.cluster.labels_of(state.name))
                and untolerated_taint(template, state.taints) is None)

    def _sync(self, ds: dict, state) -> None:
        if state.deleting or not self.should_run(ds, state):
            return
        ns, uid = ds["metadata"]["namespace"], ds["metadata"]["uid"]
        existing = self.cluster.store.list("pods", ns, lambda p: _node_of(p) == state.name and any(
            r.get("uid") == uid for r in p["metadata"].get("ownerReferences") or []))
        if existing:
            return
        pod = self.pod_for(ds, state.name)
        from .admission import on_create  # the API server's defaults, as for any created pod
        from .priority import admit_pod_create
        admit_pod_create(self.cluster.store, pod)
        on_create("Pod", pod)
        self.cluster.store.create("pods", ns, pod)
        self._status(ds)
        self.cluster.pod_created(pod)

    def pod_for(self, ds: dict, node_name: str) -> dict:
        template = copy.deepcopy(ds["spec"]["template"])
        spec = template.setdefault("spec", {})
        meta = template.setdefault("metadata", {})
        revision = hashlib.sha256(json.dumps(ds["spec"]["template"], sort_keys=True).encode()).hexdigest()[:10]
        labels = {**(meta.get("labels") or {}), "controller-revision-hash": revision,
                  "pod-template-generation": str(ds["metadata"].get("generation", 1))}
        affinity = spec.setdefault("affinity", {}).setdefault("nodeAffinity", {})
        affinity["requiredDuringSchedulingIgnoredDuringExecution"] = {"nodeSelectorTerms": [
            {"matchFields": [{"key": "metadata.name", "operator": "In", "values": [node_name]}]}]}
        tolerations = list(spec.get("tolerations") or [])
        for extra in DAEMON_TOLERATIONS + ([HOST_NETWORK_TOLERATION] if spec.get("hostNetwork") else []):
            tolerations = [t for t in tolerations if not (t.get("key") == extra["key"]
                                                          and t.get("effect") == extra["effect"])] + [dict(extra)]
        spec["tolerations"] = tolerations
        return {"apiVersion": "v1", "kind": "Pod",
                "metadata": {**{k: v for k, v in meta.items() if k not in ("name", "namespace")},
                             "generateName": ds["metadata"]["name"] + "-", "labels": labels,
                             "ownerReferences": [{"apiVersion": "apps/v1", "kind": "DaemonSet",
                                                  "name": ds["metadata"]["name"], "uid": ds["metadata"]["uid"],
                                                  "controller": True, "blockOwnerDeletion": True}]},
                "spec": spec}

    def _status(self, ds: dict) -> None:
        ns, name, uid = ds["metadata"]["namespace"], ds["metadata"]["name"], ds["metadata"]["uid"]
        desired = sum(1 for s in self.cluster.nodes.values() if self.should_run(ds, s))
        current = len(self.cluster.store.list("pods", ns, lambda p: any(
            r.get("uid") == uid for r in p["metadata"].get("ownerReferences") or [])))

        def mutate(obj):
            obj["status"] = {**(obj.get("status") or {}), "desiredNumberScheduled": desired,
                             "currentNumberScheduled": current, "numberMisscheduled": 0,
                             "numberReady": (obj.get("status") or {}).get("numberReady", 0)}
        if self.cluster.store.find("daemonsets", ns, name) is not None:
            self.cluster.store.update("daemonsets", ns, name, mutate)


def _node_of(pod: dict) -> str | None:
    """The node a DaemonSet pod is for: its nodeName, or its matchFields metadata.name term."""
    spec = pod.get("spec") or {}
    if spec.get("nodeName"):
        return spec["nodeName"]
    terms = ((((spec.get("affinity") or {}).get("nodeAffinity") or {})
              .get("requiredDuringSchedulingIgnoredDuringExecution") or {}).get("nodeSelectorTerms") or [])
    for term in terms:
        for expr in term.get("matchFields") or []:
            if expr.get("key") == "metadata.name" and expr.get("operator") == "In" and expr.get("values"):
                return expr["values"][0]
    return None
