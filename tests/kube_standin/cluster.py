"""The cluster model: nodes of each pool, the scheduler and pod deletion.

Everything here runs in simulated time (see clock.py) and changes objects only
through the store, so clients see every step through list/watch.  The
autoscaler and the kubelet are separate modules that this one drives.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, field
from fractions import Fraction

from .autoscaler import Autoscaler
from .clock import rfc3339
from .daemonsets import DaemonSets
from .events import Events
from .kubelet import Kubelet
from .ledger import Ledger
from .pools import ClusterConfig, Pool
from .preemption import Preemption
from .priority import install_system_classes, pod_priority
from .scheduling import misfit, pod_requests, summarise
from .store import Store

TERMINAL = ("Succeeded", "Failed")


@dataclass
class NodeState:
    name: str
    pool: Pool
    index: int
    ip: str
    images: set = field(default_factory=set)
    unneeded_timer: object = None
    pod_ips: int = 0
    taints: list = field(default_factory=list)  # the pool's, plus the autoscaler's ToBeDeleted taint
    deleting: bool = False  # tainted by the autoscaler, the VM is being deleted


def quantity_str(q: Fraction) -> str:
    if q.denominator == 1:
        return str(q.numerator)
    return f"{int(q * 1000)}m"


class Cluster:
    def __init__(self, config: ClusterConfig, clock, store: Store):
        self.config = config
        self.clock = clock
        self.store = store
        self.ledger = Ledger(clock.now())
        self.nodes: dict[str, NodeState] = {}
        self._instance = Counter()
        self._node_seq = 0
        self._schedule_pending = False
        self.events = Events(self)
        self.autoscaler = Autoscaler(self)
        self.kubelet = Kubelet(self)
        self.preemption = Preemption(self)
        self.daemonsets = DaemonSets(self)
        store.on_delete.append(self._garbage_collect)
        for ns in ("default", "kube-system", "kube-public", "kube-node-lease"):
            store.create("namespaces", None, {"metadata": {"name": ns}, "spec": {"finalizers": ["kubernetes"]},
                                              "status": {"phase": "Active"}})
        install_system_classes(store)
        self.autoscaler.start(clock.now())
        for pool in config.pools:
            self.ledger.add_pool(pool.name, pool.initial, clock.now())
            for _ in range(pool.initial):
                self.add_node(pool)

    # ------------------------------------------------------------------ nodes
    def node_name(self, pool: Pool) -> str:
        digits = int(hashlib.sha256(pool.name.encode()).hexdigest(), 16) % 10**8
        n = self._instance[pool.name]
        self._instance[pool.name] += 1
        b36 = ""
        while True:
            n, r = divmod(n, 36)
            b36 = "0123456789abcdefghijklmnopqrstuvwxyz"[r] + b36
            if n == 0:
                break
        return f"aks-{pool.name}-{digits:08d}-vmss{b36.rjust(6, '0')}"

    def add_node(self, pool: Pool) -> NodeState:
        """A VM of ``pool`` has joined and is Ready (the ledger is updated by the caller)."""
        name = self.node_name(pool)
        self._node_seq += 1
        state = NodeState(name, pool, self._node_seq, f"10.224.{self._node_seq // 250}.{4 + self._node_seq % 250}",
                          taints=[dict(t) for t in pool.taints])
        self.nodes[name] = state
        now = rfc3339(self.clock.now())
        self.store.create("nodes", None, {
            "metadata": {"name": name, "labels": {**pool.node_labels(), "kubernetes.io/hostname": name}},
            "spec": {"providerID": f"azure:///subscriptions/standin/resourceGroups/mc_standin/providers/"
                                   f"Microsoft.Compute/virtualMachineScaleSets/aks-{pool.name}-vmss/virtualMachines/{state.index}",
                     "podCIDR": f"10.244.{state.index}.0/24",
                     **({"taints": [dict(t) for t in pool.taints]} if pool.taints else {})},
            "status": {
                "capacity": {k: quantity_str(v) for k, v in pool.capacity.items()},
                "allocatable": {k: quantity_str(v) for k, v in pool.allocatable.items()},
                "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady",
                                "message": "kubelet is posting ready status",
                                "lastHeartbeatTime": now, "lastTransitionTime": now}],
                "addresses": [{"type": "InternalIP", "address": state.ip}, {"type": "Hostname", "address": name}],
            },
        })
        self.autoscaler.node_added(state)
        self.daemonsets.node_added(state)
        return state

    def labels_of(self, node_name: str) -> dict:
        return state_labels(self.nodes[node_name])

    def remove_node(self, state: NodeState) -> None:
        del self.nodes[state.name]
        self.store.delete("nodes", None, state.name)

    def pods_on(self, node_name: str) -> list[dict]:
        return self.store.list("pods", None, lambda p: p.get("spec", {}).get("nodeName") == node_name
                               and p.get("status", {}).get("phase") not in TERMINAL)

    def free(self, state: NodeState) -> dict[str, Fraction]:
        free = dict(state.pool.allocatable)
        for pod in self.pods_on(state.name):
            for k, v in pod_requests(pod).items():
                free[k] = free.get(k, Fraction(0)) - v
        return free

    # ------------------------------------------------------------------ events
    def event(self, obj: dict, reason: str, message: str, type_: str = "Normal",
              component: str = "default-scheduler", host: str | None = None, t: float | None = None) -> None:
        """Record a core/v1 Event as client-go's tools/record does (identical events counted)."""
        self.events.core(obj, reason, message, type_, component, host, self.clock.now() if t is None else t)

    # ------------------------------------------------------------------ scheduling
    def request_scheduling(self) -> None:
        """Run a scheduling pass soon (coalesces bursts of changes into one pass)."""
        if not self._schedule_pending:
            self._schedule_pending = True
            self.clock.call_at(self.clock.now(), self._schedule_pass)

    def pending_pods(self) -> list[dict]:
        pods = self.store.list("pods", None, lambda p: not p["spec"].get("nodeName")
                               and "deletionTimestamp" not in p["metadata"])
        # the scheduling queue's PrioritySort: higher spec.priority first, then the older pod
        return sorted(pods, key=lambda p: (-pod_priority(p), p["metadata"]["creationTimestamp"],
                                           int(p["metadata"]["resourceVersion"])))

    def _schedule_pass(self, t: float) -> None:
        self._schedule_pending = False
        unschedulable = []
        free = {name: self.free(state) for name, state in self.nodes.items()}
        for pod in self.pending_pods():
            requests = pod_requests(pod)
            reasons, best, statuses = [], None, {}
            missing = self._missing_claim(pod)
            for name, state in sorted(self.nodes.items()):
                load = self.preemption.nominated_load(name, pod)  # higher-priority pods nominated there
                room = {k: v - load.get(k, 0) for k, v in free[name].items()} if load else free[name]
                why = missing or misfit(pod, name, state_labels(state), state.taints, room, requests)
                if why:
                    reasons.append(why)
                    statuses[name] = why
                    continue
                score = free[name].get("cpu", Fraction(0)) / max(state.pool.allocatable.get("cpu", Fraction(1)), Fraction(1, 1000))
                if best is None or score > best[0]:
                    best = (score, name)
            if best is not None:
                node = best[1]
                for k, v in requests.items():
                    free[node][k] = free[node].get(k, Fraction(0)) - v
                self._bind(pod, self.nodes[node], t)
            else:
                nominated, post = self.preemption.post_filter(pod, statuses, t) if self.nodes else (None, "")
                self._unschedulable(pod, reasons, t, post, nominated)
                unschedulable.append(pod)
        self.autoscaler.consider(unschedulable, t)
        self.autoscaler.check_scale_down(t)

    def _missing_claim(self, pod: dict) -> str | None:
        for vol in pod["spec"].get("volumes") or []:
            claim = (vol.get("persistentVolumeClaim") or {}).get("claimName")
            if claim and self.store.find("persistentvolumeclaims", pod["metadata"]["namespace"], claim) is None:
                return f'persistentvolumeclaim "{claim}" not found'
        return None

    def _bind(self, pod: dict, state: NodeState, t: float) -> None:
        ns, name = pod["metadata"]["namespace"], pod["metadata"]["name"]

        def bind(p):
            p["spec"]["nodeName"] = state.name
            p["status"]["conditions"] = [c for c in p["status"].get("conditions", []) if c["type"] != "PodScheduled"]
            p["status"]["conditions"].append({"type": "PodScheduled", "status": "True",
                                              "lastTransitionTime": rfc3339(t)})
        pod = self.store.update("pods", ns, name, bind)
        self.events.scheduler(pod, "Normal", "Scheduled", "Binding", f"Successfully assigned {ns}/{name} to {state.name}", t)
        self.autoscaler.node_used(state, pod)
        self.kubelet.start(pod, state, t)

    def _unschedulable(self, pod: dict, reasons: list[str], t: float, post: str = "",
                       nominated: str | None = None) -> None:
        """``post``: the PostFilter (preemption) message; ``nominated``: the node it freed
        (schedule_one.go handleSchedulingFailure sets status.nominatedNodeName with the condition)."""
        total = len(self.nodes)
        detail = summarise(reasons)
        message = (f"0/{total} nodes are available: {detail}." + (f" {post}" if post else "") if total else
                   "no nodes available to schedule pods")
        cond = {"type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": message}
        current = [c for c in pod["status"].get("conditions", []) if c["type"] == "PodScheduled"]
        renominate = nominated is not None and pod["status"].get("nominatedNodeName") != nominated
        if renominate or not current or any(current[0].get(k) != v for k, v in cond.items()):
            def mark(p):
                p["status"]["conditions"] = [c for c in p["status"].get("conditions", []) if c["type"] != "PodScheduled"]
                p["status"]["conditions"].append({**cond, "lastTransitionTime": rfc3339(t)})
                if nominated is not None:
                    p["status"]["nominatedNodeName"] = nominated
            pod = self.store.update("pods", pod["metadata"]["namespace"], pod["metadata"]["name"], mark)
        self.events.scheduler(pod, "Warning", "FailedScheduling", "Scheduling", message, t)

    # ------------------------------------------------------------------ pod lifecycle hooks (API server)
    def pod_created(self, pod: dict) -> None:
        self.request_scheduling()

    def delete_pod(self, namespace: str, name: str, grace: int | None) -> dict:
        pod = self.store.get("pods", namespace, name)
        if grace is None:
            grace = pod["spec"].get("terminationGracePeriodSeconds", 30)
        node = pod["spec"].get("nodeName")
        if "deletionTimestamp" in pod["metadata"] and grace > 0:
            return pod
        if not node or grace == 0 or pod["status"].get("phase") in TERMINAL:
            self.kubelet.forget(pod)
            gone = self.store.delete("pods", namespace, name)
            self.after_pod_gone()
            return gone
        now = self.clock.now()

        def mark(p):
            p["metadata"]["deletionTimestamp"] = rfc3339(now + grace)
            p["metadata"]["deletionGracePeriodSeconds"] = grace
        pod = self.store.update("pods", namespace, name, mark)
        self.kubelet.terminate(pod, grace)
        return pod

    def finish_deletion(self, namespace: str, name: str, uid: str) -> None:
        """Called by the kubelet once the containers have stopped."""
        pod = self.store.find("pods", namespace, name)
        if pod is not None and pod["metadata"]["uid"] == uid:
            self.store.delete("pods", namespace, name)
            self.after_pod_gone()

    def after_pod_gone(self) -> None:
        self.request_scheduling()

    def delete_namespace_contents(self, namespace: str) -> None:
        for plural in ("pods", "persistentvolumeclaims", "services", "secrets", "configmaps", "events"):
            for obj in self.store.list(plural, namespace):
                if plural == "pods":
                    self.kubelet.forget(obj)
                self.store.delete(plural, namespace, obj["metadata"]["name"])
        self.after_pod_gone()

    def _garbage_collect(self, owner: dict) -> None:
        """The garbage collector: dependents (ownerReferences) go soon after their owner."""
        ns, uid = owner["metadata"].get("namespace"), owner["metadata"]["uid"]
        if ns is None:
            return

        def collect(_t):
            for plural in ("pods", "services", "secrets", "configmaps", "persistentvolumeclaims"):
                for obj in self.store.list(plural, ns, lambda o: any(
                        ref.get("uid") == uid for ref in o["metadata"].get("ownerReferences") or [])):
                    if plural == "pods":
                        self.delete_pod(ns, obj["metadata"]["name"], None)
                    else:
                        self.store.delete(plural, ns, obj["metadata"]["name"])
        self.clock.call_at(self.clock.now(), collect)

    def snapshot(self) -> dict:
        """Pools, nodes and the ledger, for /_standin/cluster and demos."""
        now = self.clock.now()
        return {
            "now": rfc3339(now),
            "speed": getattr(self.clock, "speed", None),
            "pools": {p.name: {"vm_size": p.vm_size, "min": p.min, "max": p.max,
                               "nodes": sorted(n for n, s in self.nodes.items() if s.pool is p),
                               "provisioning": self.autoscaler.upcoming_count(p.name)}
                      for p in self.config.pools},
            "ledger": self.ledger.report(now),
        }


def state_labels(state: NodeState) -> dict:
    return {**state.pool.node_labels(), "kubernetes.io/hostname": state.name}
