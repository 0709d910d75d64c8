"""A cluster-autoscaler model (releases 1.31-1.37), with AKS's node pools (VMSS) as node groups.

What each part reproduces (paths in github.com/kubernetes/autoscaler, cluster-autoscaler/):

* the loop (loop/trigger.go): every ``--scan-interval`` (10 s) while pods wait, at once when an
  unschedulable pod appears, and again right after a successful scale-up;
* scale-up (core/scaleup/orchestrator/orchestrator.go): pods that fit a node being provisioned wait
  for it; node groups in backoff, at their max size or over the autoscaler's own resource limits are
  skipped (skippedreasons.go), the others are simulated with a template node; the best option
  (least waste) is resized and EVERY pod it helps gets ``TriggeredScaleUp`` with the same message
  (processors/status/eventing_scale_up_processor.go); pods get ``NotTriggerScaleUp`` only from a
  loop that tried no scale-up;
* resize (core/scaleup/orchestrator/executor.go): ``ScaledUpGroup`` events on the status ConfigMap;
  a refused resize (AKS: the VMSS PUT exceeding the subscription's vCPU quota, an error returned by
  IncreaseSize, cloudprovider/azure/azure_scale_set.go) gives ``FailedToScaleUpGroup`` there, backs
  the group off and no pod event; an asynchronous allocation failure gives ``TriggeredScaleUp`` and
  then no node: after ``--max-node-provision-time`` (15 min) ``ScaleUpTimedOut``, backoff, and the
  target size is reverted (clusterstate/clusterstate.go updateScaleRequests, 1.36+);
* scale-down: see scaledown.py.

Simplifications (docs/kube-standin.md): one equivalence group per pod, first-fit binpacking on the
template node, least-waste expander (AKS's default is random), reasons sorted by count (Go's map
order is random), nodes Ready as soon as they register.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from .castatus import Backoff, Recorder, StatusWriter
from .daemonsets import is_daemonset_pod
from .kubelet import go_duration
from .scaledown import ScaleDown
from .scheduling import misfit, pod_requests, summarise

GIB = 2**30


@dataclass
class Upcoming:
    """A VM asked for: it registers as a node at ``ready_at`` unless its allocation fails."""
    pool: object
    ready_at: float
    fails: bool
    timer: object = None


@dataclass
class ScaleUpRequest:
    increase: int
    time: float
    expected: float


class Autoscaler:
    COMPONENT = "cluster-autoscaler"

    def __init__(self, cluster):
        self.cluster = cluster
        self.cfg = cluster.config.autoscaler
        self.target = {p.name: p.initial for p in cluster.config.pools}  # VMSS capacity
        self.upcoming: list[Upcoming] = []
        self.requests: dict[str, ScaleUpRequest] = {}
        self.backoff = Backoff(self.cfg.initial_backoff_seconds, self.cfg.max_backoff_seconds,
                               self.cfg.backoff_reset_seconds)
        self.recorder = Recorder(cluster)
        self.status = StatusWriter(cluster)
        self.scaledown = ScaleDown(self)
        self._loop_timer = None
        self._seen_unschedulable: set[str] = set()
        self._started = cluster.clock.now()
        self.last_scale_up: float | None = None  # lastScaleUpTime: scale-down waits after it (scaledown.py)

    def start(self, t: float) -> None:
        """The autoscaler starts: its status ConfigMap is created ("Initializing")."""
        self.status.create(t)

    def groups(self) -> list:
        return [p for p in self.cluster.config.pools if p.autoscale]

    def upcoming_count(self, pool_name: str) -> int:
        return sum(1 for u in self.upcoming if u.pool.name == pool_name)

    def vmss(self, pool) -> str:
        digits = int(hashlib.sha256(pool.name.encode()).hexdigest(), 16) % 10**8
        return f"aks-{pool.name}-{digits:08d}-vmss"

    # ------------------------------------------------------------------ the loop
    def consider(self, pods: list[dict], t: float) -> None:
        """The scheduler's pass ended with ``pods`` unschedulable: a new one starts a loop at once."""
        uids = {p["metadata"]["uid"] for p in pods}
        if uids - self._seen_unschedulable:
            self.request_loop(t)
        elif pods and self._loop_timer is None:
            self._loop_timer = self.cluster.clock.call_at(t + self.cfg.scan_interval_seconds, self.run_once)
        self._seen_unschedulable = uids

    def request_loop(self, t: float) -> None:
        if self._loop_timer is not None and self._loop_timer.due <= t:
            return
        if self._loop_timer is not None:
            self._loop_timer.cancel()
        self._loop_timer = self.cluster.clock.call_at(t, self.run_once)

    def run_once(self, t: float) -> None:
        self._loop_timer = None
        self.backoff.remove_stale(t)
        self._update_requests(t)
        pods = self._unschedulable()
        remaining = self._not_on_upcoming(pods)
        scaled = bool(remaining) and self._scale_up(remaining, t)
        self.write_status(t)
        if scaled:
            self.request_loop(t)
        elif pods:
            self._loop_timer = self.cluster.clock.call_at(t + self.cfg.scan_interval_seconds, self.run_once)

    # ------------------------------------------------------------------ pod priority (FAQ.md "How does Cluster
    # Autoscaler work with Pod Priority and Preemption?"): pods below --expendable-pods-priority-cutoff neither
    # trigger scale-up nor keep a node from scaling down; core/utils FilterOutExpendableAndSplit and
    # FilterOutExpendablePods (the cluster snapshot holds only the scheduled pods at or above the cutoff).
    def expendable(self, pod: dict) -> bool:
        priority = (pod.get("spec") or {}).get("priority")
        return priority is not None and int(priority) < self.cfg.expendable_pods_priority_cutoff

    def important_pods_on(self, node_name: str) -> list[dict]:
        return [p for p in self.cluster.pods_on(node_name) if not self.expendable(p)]

    def _snapshot_free(self, state) -> dict:
        free = dict(state.pool.allocatable)
        for pod in self.important_pods_on(state.name):
            for k, v in pod_requests(pod).items():
                free[k] = free.get(k, 0) - v
        return free

    def _unschedulable(self) -> list[dict]:
        """Pods the scheduler marked Unschedulable that still fit no node (CA filters the others out).
        Expendable pods are ignored; a pod nominated to an existing node waits for the preemption
        of lower-priority pods there and is placed on that node in the simulation."""
        cluster = self.cluster
        free = {name: self._snapshot_free(s) for name, s in cluster.nodes.items() if not s.deleting}
        out = []
        for pod in cluster.pending_pods():
            cond = next((c for c in pod["status"].get("conditions", []) if c["type"] == "PodScheduled"), {})
            if cond.get("reason") != "Unschedulable" or self.expendable(pod):
                continue
            nominated = pod["status"].get("nominatedNodeName")
            if nominated and nominated in cluster.nodes:
                if nominated in free:
                    for k, v in pod_requests(pod).items():
                        free[nominated][k] = free[nominated].get(k, 0) - v
                continue
            req = pod_requests(pod)
            fit = next((n for n, f in free.items()
                        if misfit(pod, n, cluster.labels_of(n), cluster.nodes[n].taints, f, req) is None), None)
            if fit is None:
                out.append(pod)
                continue
            for k, v in req.items():  # the pod is placed in the simulation (filter-out-schedulable)
                free[fit][k] = free[fit].get(k, 0) - v
        return out

    def _not_on_upcoming(self, pods: list[dict]) -> list[dict]:
        """Pods that fit a node being provisioned wait for it (orchestrator.go UpcomingNodes)."""
        frees = [(u, dict(u.pool.allocatable)) for u in self.upcoming]
        remaining = []
        for pod in pods:
            req = pod_requests(pod)
            spot = next((f for u, f in frees if misfit(pod, "", u.pool.node_labels(), u.pool.taints, f, req) is None),
                        None)
            if spot is None:
                remaining.append(pod)
                continue
            for k, v in req.items():
                spot[k] = spot.get(k, 0) - v
        return remaining

    # ------------------------------------------------------------------ scale-up
    def _limits_exceeded(self, pool) -> list[str]:
        """The autoscaler's own limits (--cores-total, --memory-total): since 1.35 reported as
        ``exceeded quota: "cluster-wide", resources: cpu`` (resourcequotas/, cloudprovider/resource_limiter.go)."""
        states = list(self.cluster.nodes.values())
        cores = sum(int(s.pool.capacity.get("cpu", 0)) for s in states) + sum(
            int(u.pool.capacity.get("cpu", 0)) for u in self.upcoming)
        memory = sum(s.pool.capacity.get("memory", 0) for s in states) + sum(
            u.pool.capacity.get("memory", 0) for u in self.upcoming)
        out = []
        if cores + int(pool.capacity.get("cpu", 0)) > self.cfg.cores_total:
            out.append("cpu")
        if memory + pool.capacity.get("memory", 0) > self.cfg.memory_total_gib * GIB:
            out.append("memory")
        return out

    def _skip_reason(self, pool, t: float) -> str | None:
        if t < self._started + pool.not_ready_seconds:  # TargetSize() fails (Azure API errors, throttling)
            return "not ready for scale-up"
        if self.backoff.status(pool.name, t) is not None:
            return "in backoff after failed scale-up"
        if self.target[pool.name] >= pool.max:
            return "max node group size reached"
        exceeded = self._limits_exceeded(pool)
        if exceeded:
            return f'exceeded quota: "cluster-wide", resources: {", ".join(exceeded)}'
        return None

    @staticmethod
    def _binpack(pods: list[dict], pool) -> int:
        nodes: list[dict] = []
        for pod in pods:
            req = pod_requests(pod)
            spot = next((n for n in nodes if all(n.get(k, 0) >= v for k, v in req.items())), None)
            if spot is None:
                spot = dict(pool.allocatable)
                nodes.append(spot)
            for k, v in req.items():
                spot[k] = spot.get(k, 0) - v
        return len(nodes)

    def _scale_up(self, pods: list[dict], t: float) -> bool:
        """One scale-up attempt for ``pods``; True when a node group was resized."""
        skipped, rejected, options = {}, {p["metadata"]["uid"]: [] for p in pods}, []
        for pool in self.groups():
            why = self._skip_reason(pool, t)
            if why:
                skipped[pool.name] = why
                continue
            fits = []
            for pod in pods:
                reason = misfit(pod, "template-node", pool.node_labels(), pool.taints, pool.allocatable,
                                pod_requests(pod))
                if reason:
                    rejected[pod["metadata"]["uid"]].append(reason)
                else:
                    fits.append(pod)
            if fits:
                options.append((pool, min(self._binpack(fits, pool), pool.max - self.target[pool.name]), fits))
        if not options:
            for pod in pods:
                reasons = rejected[pod["metadata"]["uid"]] + list(skipped.values())
                self.recorder.event(pod, "NotTriggerScaleUp", f"pod didn't trigger scale-up: {summarise(reasons)}", t)
            return False
        pool, nodes, helped = min(options, key=lambda o: (o[0].allocatable.get("cpu", 0),
                                                          o[0].allocatable.get("memory", 0), o[0].name))
        current, group = self.target[pool.name], self.vmss(pool)
        new = current + nodes
        self.recorder.log_event("ScaledUpGroup", f"Scale-up: setting group {group} size to {new} instead of "
                                f"{current} (max: {pool.max})", t)
        error = self._increase_size(pool, nodes)
        if error:
            self.recorder.log_event("FailedToScaleUpGroup", f"Scale-up failed for group {group}: {error}", t,
                                    "Warning")
            self.backoff.backoff(pool.name, "cloudProviderError", f"failed to increase node group size: {error}", t)
            return False
        self._resized(pool, nodes, t)
        self.last_scale_up = t  # core/static_autoscaler.go instrumentedScaleUp: on ScaleUpSuccessful
        self.recorder.log_event("ScaledUpGroup", f"Scale-up: group {group} size set to {new} instead of "
                                f"{current} (max: {pool.max})", t)
        for pod in helped:
            self.recorder.event(pod, "TriggeredScaleUp",
                                f"pod triggered scale-up: [{{{group} {current}->{new} (max: {pool.max})}}]", t)
        return True

    def _family_vcpus(self, family: str) -> int:
        ledger = self.cluster.ledger
        return sum(ledger.count(p.name) * p.vcpus for p in self.cluster.config.pools if p.vm_family == family)

    def _increase_size(self, pool, nodes: int) -> str | None:
        """AKS's answer to the VMSS capacity update: None, or the synchronous error (quota)."""
        quotas = self.cluster.config.quotas
        used = self._family_vcpus(pool.vm_family)
        need = nodes * pool.vcpus
        limit = quotas.get(pool.vm_family)
        if pool.fail_scale_up == "quota" and limit is None:
            limit = used
        if limit is None or used + need <= limit:
            return None
        return (f'Code="OperationNotAllowed" Message="Operation could not be completed as it results in exceeding '
                f"approved {pool.vm_family} Cores quota. Additional details - Deployment Model: Resource Manager, "
                f"Location: {self.cluster.config.region}, Current Limit: {limit}, Current Usage: {used}, "
                f'Additional Required: {need}, (Minimum) New Limit Required: {used + need}."')

    def _resized(self, pool, nodes: int, t: float) -> None:
        self.target[pool.name] += nodes
        fails = pool.fail_scale_up == "allocation"
        for _ in range(nodes):
            up = Upcoming(pool, t + pool.provisioning_seconds, fails)
            if not fails:
                up.timer = self.cluster.clock.call_at(up.ready_at, lambda due, up=up: self._ready(up, due))
            self.upcoming.append(up)
        if not fails:  # Azure bills a VM from its allocation; a failed allocation bills nothing
            ledger = self.cluster.ledger
            ledger.set_count(pool.name, ledger.count(pool.name) + nodes, t)
        req = self.requests.get(pool.name)
        expected = t + self.cfg.max_node_provision_seconds
        if req is None:
            self.requests[pool.name] = ScaleUpRequest(nodes, t, expected)
        else:
            req.increase, req.time, req.expected = req.increase + nodes, t, expected
        self.cluster.clock.call_at(expected, self.request_loop)  # a loop then sees the timeout

    def _update_requests(self, t: float) -> None:
        """clusterstate.go updateScaleRequests: done when no node is upcoming; timed out after
        max-node-provision-time: ScaleUpTimedOut, backoff, target reverted (1.36+)."""
        for name, req in list(self.requests.items()):
            pool = self.cluster.config.pool(name)
            waiting = [u for u in self.upcoming if u.pool is pool]
            if not waiting:
                del self.requests[name]
                continue
            if req.expected > t:
                continue
            group, took = self.vmss(pool), go_duration(t - req.time)
            self.recorder.log_event("ScaleUpTimedOut", f"Nodes added to group {group} failed to register within "
                                    f"{took}", t, "Warning")
            self.backoff.backoff(name, "timeout", f"Scale-up timed out for node group {group} after {took}", t)
            for up in waiting:
                if up.fails:
                    self.upcoming.remove(up)
                    self.target[name] -= 1
            del self.requests[name]

    def _ready(self, up: Upcoming, t: float) -> None:
        if up not in self.upcoming:
            return
        self.upcoming.remove(up)
        self.cluster.add_node(up.pool)
        self.cluster.request_scheduling()

    def write_status(self, t: float) -> None:
        self.status.write([{
            "name": self.vmss(p), "ready": sum(1 for s in self.cluster.nodes.values() if s.pool is p),
            "target": self.target[p.name], "min": p.min, "max": p.max,
            "scaling_up": p.name in self.requests and self.upcoming_count(p.name) > 0,
            "backoff": self.backoff.status(p.name, t),
            "candidates": self.scaledown.candidates(p)} for p in self.groups()], t)

    # ------------------------------------------------------------------ scale-down (scaledown.py)
    def node_added(self, state) -> None:
        self.cluster.request_scheduling()  # the pass ends with check_scale_down

    def node_used(self, state, pod: dict | None = None) -> None:
        if pod is not None and (self.expendable(pod) or is_daemonset_pod(pod)):
            return  # an expendable pod, or a DaemonSet's (scaledown.py), does not make a node needed
        self.scaledown.node_used(state)

    def check_scale_down(self, t: float) -> None:
        self.scaledown.check(t)
