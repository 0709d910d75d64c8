"""A cluster-autoscaler model, with AKS's node pools as node groups.

* Scale-up: for each unschedulable pod that no node being provisioned can take,
  simulate the pod on a template node of every pool; pick the least wasteful
  pool that fits, is below its max and within the vCPU quota of its VM family;
  emit ``TriggeredScaleUp`` (or ``NotTriggerScaleUp`` with the reasons) on the
  pod; the node joins after the pool's provisioning time.
* Scale-down: a node with no running pods for the pool's
  scale-down-unneeded time is removed (``ScaleDown`` event on the node), never
  below the pool's min.

Simplifications (see docs/kube-standin.md): decisions are event-driven instead
of a 10 s scan loop; "unneeded" means empty (utilisation and pod moves are not
modelled); a quota refusal is reported at decision time as NotTriggerScaleUp,
where a real AKS would accept the scale-up and fail it with QuotaExceeded.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from fractions import Fraction

from .scheduling import misfit, pod_requests, summarise


@dataclass
class Upcoming:
    """A node being provisioned; pods it will take are reserved on it."""
    pool: object
    free: dict
    ready_at: float
    reserved: set = field(default_factory=set)


class Autoscaler:
    COMPONENT = "cluster-autoscaler"

    def __init__(self, cluster):
        self.cluster = cluster
        self.upcoming: list[Upcoming] = []
        self._waiting: dict[str, Upcoming] = {}  # pod uid -> node it waits for

    def upcoming_count(self, pool_name: str) -> int:
        return sum(1 for u in self.upcoming if u.pool.name == pool_name)

    def vmss(self, pool) -> str:
        digits = int(hashlib.sha256(pool.name.encode()).hexdigest(), 16) % 10**8
        return f"aks-{pool.name}-{digits:08d}-vmss"

    # ------------------------------------------------------------------ scale-up
    def _family_vcpus(self, family: str) -> int:
        ledger = self.cluster.ledger
        return sum(ledger.count(p.name) * p.vcpus for p in self.cluster.config.pools if p.vm_family == family)

    def consider(self, pods: list[dict], t: float) -> None:
        for pod in pods:
            uid = pod["metadata"]["uid"]
            if uid in self._waiting and self._waiting[uid] in self.upcoming:
                continue
            requests = pod_requests(pod)
            target = next((u for u in self.upcoming if misfit(pod, "", u.pool.node_labels(), u.pool.taints,
                                                                u.free, requests) is None), None)
            if target is None:
                target = self._scale_up_for(pod, requests, t)
            if target is not None:
                for k, v in requests.items():
                    target.free[k] = target.free.get(k, Fraction(0)) - v
                target.reserved.add(uid)
                self._waiting[uid] = target

    def _scale_up_for(self, pod: dict, requests: dict, t: float) -> Upcoming | None:
        quotas = self.cluster.config.quotas
        candidates, reasons = [], []
        for pool in self.cluster.config.pools:
            why = misfit(pod, "template-node", pool.node_labels(), pool.taints, pool.allocatable, requests)
            if why is None and self.cluster.ledger.count(pool.name) >= pool.max:
                why = "max node group size reached"
            if why is None and pool.vm_family in quotas:
                used, limit = self._family_vcpus(pool.vm_family), quotas[pool.vm_family]
                if used + pool.vcpus > limit:
                    why = (f"exceeded quota: {pool.vm_family} vCPUs in use {used} + {pool.vcpus} "
                           f"requested > limit {limit}")
            if why:
                reasons.append(why)
            else:
                candidates.append(pool)
        if not candidates:
            self.cluster.event(pod, "NotTriggerScaleUp", f"pod didn't trigger scale-up: {summarise(reasons)}",
                               component=self.COMPONENT, t=t)
            return None
        # "least-waste" expander: the smallest node that fits
        pool = min(candidates, key=lambda p: (p.allocatable.get("cpu", 0), p.allocatable.get("memory", 0), p.name))
        before = self.cluster.ledger.count(pool.name)
        self.cluster.ledger.set_count(pool.name, before + 1, t)
        up = Upcoming(pool, dict(pool.allocatable), t + pool.provisioning_seconds)
        self.upcoming.append(up)
        self.cluster.clock.call_at(up.ready_at, lambda due, up=up: self._ready(up, due))
        self.cluster.event(pod, "TriggeredScaleUp",
                           f"pod triggered scale-up: [{{{self.vmss(pool)} {before}->{before + 1} (max: {pool.max})}}]",
                           component=self.COMPONENT, t=t)
        return up

    def _ready(self, up: Upcoming, t: float) -> None:
        self.upcoming.remove(up)
        for uid in up.reserved:
            if self._waiting.get(uid) is up:
                del self._waiting[uid]
        self.cluster.add_node(up.pool)
        self.cluster.request_scheduling()

    # ------------------------------------------------------------------ scale-down
    def node_added(self, state) -> None:
        self.cluster.request_scheduling()  # the pass ends with check_scale_down

    def node_used(self, state) -> None:
        if state.unneeded_timer is not None:
            state.unneeded_timer.cancel()
            state.unneeded_timer = None

    def check_scale_down(self, t: float) -> None:
        for state in list(self.cluster.nodes.values()):
            empty = not self.cluster.pods_on(state.name)
            if not empty:
                self.node_used(state)
            elif state.unneeded_timer is None and self.cluster.ledger.count(state.pool.name) > state.pool.min:
                state.unneeded_timer = self.cluster.clock.call_at(
                    t + state.pool.scale_down_unneeded_seconds, lambda due, s=state: self._remove(s, due))

    def _remove(self, state, t: float) -> None:
        state.unneeded_timer = None
        pool = state.pool
        if state.name not in self.cluster.nodes or self.cluster.pods_on(state.name):
            return
        count = self.cluster.ledger.count(pool.name)
        if count <= pool.min:
            return
        node = self.cluster.store.get("nodes", None, state.name)
        self.cluster.event(node, "ScaleDown", f"Scale-down: removing empty node \"{state.name}\"",
                           component=self.COMPONENT, t=t)
        self.cluster.remove_node(state)
        self.cluster.ledger.set_count(pool.name, count - 1, t)
