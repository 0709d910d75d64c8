"""cluster-autoscaler's scale-down of empty nodes, then AKS deleting the VM (a test double).

Reproduces (github.com/kubernetes/autoscaler, cluster-autoscaler/):

* core/scaledown/actuation/actuator.go: an empty node unneeded for scale-down-unneeded-time is
  first tainted (``taintNodesSync``; utils/taints/taints.go: ``ToBeDeletedByClusterAutoscaler=<unix
  time>:NoSchedule``), with ``ScaleDown`` "marked the node as toBeDeleted/unschedulable" on the node
  and ``ScaleDownEmpty`` "Scale-down: removing empty node "<name>"" on the status ConfigMap;
* after --node-delete-delay-after-taint (5 s) the VMSS instances are deleted
  (delete_in_batch.go): ``ScaleDown`` "nodes removed by cluster autoscaler" on the node - dropped
  by the recorder's spam filter when it comes within 5 minutes of the first ``ScaleDown`` - and
  ``ScaleDownEmpty`` "Scale-down: empty node <name> removed" on the ConfigMap;
* the Azure provider's DeleteInstances returns before the VM is gone (azure_scale_set.go:
  ``waitForDeleteInstances`` runs in the background); the VM, which Azure bills until it is
  deleted, and then its Node object (removed by the cloud node lifecycle controller) go
  ``deletion_seconds`` later (a pool setting: Azure publishes no figure).

Pods below --expendable-pods-priority-cutoff do not count (FAQ.md, "How does Cluster Autoscaler work
with Pod Priority and Preemption?": they "don't prevent scale-downs"); they go with the node.
DaemonSet pods do not count either (simulator/drainability/rules/daemonset/rule.go: a DaemonSet pod
is skipped when a node is drained, so a node running only them is empty; the chart's image puller
requests nothing, so it adds nothing to the utilisation).
After a scale-up anywhere in the cluster, nothing is scaled down for --scale-down-delay-after-add
(core/static_autoscaler.go: ``instrumentedScaleUp`` sets ``lastScaleUpTime``; ``scaleDown`` updates
the unneeded nodes on every loop, then ``isScaleDownInCooldown`` skips the removal while
``lastScaleUpTime + ScaleDownDelayAfterAdd`` is after now): a node unneeded long enough during the
cooldown goes when the cooldown ends.
Not modelled: the utilisation threshold and draining ("unneeded" means "no running pods" at or
above the cutoff), --scale-down-delay-after-delete and -after-failure, --scale-down-delay-type-local,
the scan loop's granularity (the unneeded timer is exact).
"""

from __future__ import annotations

from .daemonsets import is_daemonset_pod


TO_BE_DELETED = "ToBeDeletedByClusterAutoscaler"


class ScaleDown:
    def __init__(self, autoscaler):
        self.autoscaler = autoscaler
        self.cluster = autoscaler.cluster

    def candidates(self, pool) -> int:
        return sum(1 for s in self.cluster.nodes.values()
                   if s.pool is pool and s.unneeded_timer is not None and not s.deleting)

    def node_used(self, state) -> None:
        if state.unneeded_timer is not None:
            state.unneeded_timer.cancel()
            state.unneeded_timer = None

    def _keeping(self, state) -> list[dict]:
        """The pods that keep a node: at or above the cutoff, not a DaemonSet's."""
        return [p for p in self.autoscaler.important_pods_on(state.name) if not is_daemonset_pod(p)]

    def check(self, t: float) -> None:
        target = self.autoscaler.target
        for state in list(self.cluster.nodes.values()):
            if state.deleting or not state.pool.autoscale:
                continue
            if self._keeping(state):
                self.node_used(state)
            elif state.unneeded_timer is None and target[state.pool.name] > state.pool.min:
                state.unneeded_timer = self.cluster.clock.call_at(
                    t + state.pool.scale_down_unneeded_seconds, lambda due, s=state: self._taint(s, due))

    def _taint(self, state, t: float) -> None:
        state.unneeded_timer = None
        pool, cluster = state.pool, self.cluster
        if state.name not in cluster.nodes or self._keeping(state):
            return
        last_up = self.autoscaler.last_scale_up
        if last_up is not None and last_up + self.autoscaler.cfg.scale_down_delay_after_add_seconds > t:
            cooldown_ends = last_up + self.autoscaler.cfg.scale_down_delay_after_add_seconds
            state.unneeded_timer = cluster.clock.call_at(cooldown_ends, lambda due, s=state: self._taint(s, due))
            return  # still unneeded: removed when the cooldown ends
        if self.autoscaler.target[pool.name] <= pool.min:
            return
        recorder = self.autoscaler.recorder
        recorder.log_event("ScaleDownEmpty", f'Scale-down: removing empty node "{state.name}"', t)
        taint = {"key": TO_BE_DELETED, "value": str(int(t)), "effect": "NoSchedule"}
        state.taints = [*state.taints, taint]
        state.deleting = True

        def mark(node):
            node["spec"]["taints"] = [*(node["spec"].get("taints") or []), dict(taint)]
        node = cluster.store.update("nodes", None, state.name, mark)
        recorder.event(node, "ScaleDown", "marked the node as toBeDeleted/unschedulable", t)
        delay = self.autoscaler.cfg.delete_delay_after_taint_seconds
        cluster.clock.call_at(t + delay, lambda due: self._delete(state, due))

    def _delete(self, state, t: float) -> None:
        cluster = self.cluster
        node = cluster.store.find("nodes", None, state.name)
        if node is None:
            return
        self.autoscaler.target[state.pool.name] -= 1
        recorder = self.autoscaler.recorder
        recorder.event(node, "ScaleDown", "nodes removed by cluster autoscaler", t)
        recorder.log_event("ScaleDownEmpty", f"Scale-down: empty node {state.name} removed", t)
        cluster.clock.call_at(t + state.pool.deletion_seconds, lambda due: self._vm_gone(state, due))

    def _vm_gone(self, state, t: float) -> None:
        cluster = self.cluster
        if state.name not in cluster.nodes:
            return
        for pod in cluster.pods_on(state.name):  # pods that tolerated the taint go with the node
            cluster.kubelet.forget(pod)
            cluster.store.delete("pods", pod["metadata"]["namespace"], pod["metadata"]["name"])
        ledger = cluster.ledger
        ledger.set_count(state.pool.name, ledger.count(state.pool.name) - 1, t)
        cluster.remove_node(state)
        cluster.request_scheduling()
