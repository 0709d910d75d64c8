"""What cluster-autoscaler's ``NotTriggerScaleUp`` event on a pod says, read as the spawner needs it.

Strings as kubernetes/autoscaler writes them (cluster-autoscaler releases 1.31 to 1.36):

* processors/status/eventing_scale_up_processor.go: the message is ``pod didn't trigger scale-up: ``
  then ReasonsMessage, ``<count> <reason>`` per distinct reason over all node groups, joined by
  ``", "`` in no fixed order; or only ``max total nodes in cluster reached`` (--max-nodes-total).
  The reasons of every node group are there, so a reason may be another pool's.
* core/scaleup/orchestrator/skippedreasons.go: ``in backoff after failed scale-up`` (the group's last
  scale-up failed, e.g. an asynchronous VMSS failure), ``max node group size reached``, ``not ready
  for scale-up`` (the group is unhealthy or its size could not be read: it may pass); the autoscaler's
  own resource limits (--cores-total, --memory-total, --gpu-total): up to 1.34
  ``max cluster cpu, memory limit reached``, from 1.35 ``exceeded quota: "cluster-wide", resources:
  cpu, memory`` (resourcequotas; cloudprovider/resource_limiter.go: ID() is "cluster-wide"). The
  Azure subscription's quota never shows here: AKS accepts the resize and fails it later.
* core/scaleup/orchestrator/orchestrator.go: ``atomic scale-up exceeds cluster node count limit``.
* Any other reason is a scheduler predicate on the pool's template node: no pool fits the pod.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

PREFIX = "pod didn't trigger scale-up: "
BACKOFF = "in backoff after failed scale-up"
NOT_READY = "not ready for scale-up"
MAX_SIZE = "max node group size reached"
_QUOTA = re.compile(r'exceeded quota: "[^"]*", resources: (.+?)(?=, \d+ |$)')  # 1.35+
_LIMIT = re.compile(r"max cluster (.+?) limit reached")  # up to 1.34
_NODE_COUNT = ("max total nodes in cluster reached", "atomic scale-up exceeds cluster node count limit")


@dataclass(frozen=True)
class ScaleUpVerdict:
    kind: str  # "transient", "scale_backoff", "autoscaler_limit", "pool_at_max" or "cannot_scale"
    reason: str  # English; for "autoscaler_limit" the limited resources: "cpu, memory", "nodes"

    @property
    def transient(self) -> bool:
        return self.kind == "transient"


def limited_resources(message: str) -> list[str]:
    found: list[str] = []
    for match in [*_QUOTA.finditer(message), *_LIMIT.finditer(message)]:
        found += [r.strip() for r in match.group(1).split(",")]
    if any(text in message for text in _NODE_COUNT):
        found.append("nodes")
    return list(dict.fromkeys(r for r in found if r))


def read_not_triggered(message: str) -> ScaleUpVerdict:
    """The verdict for one ``NotTriggerScaleUp`` message.

    Several node groups' reasons share one message, so the order decides: a group in back-off
    means a scale-up that should have served this pod failed (fail now); a group not ready may
    pass (keep waiting); then the autoscaler's own limits, which bind every pool; then a pool at
    its maximum; else nothing fits the pod.
    """
    reasons = message.removeprefix(PREFIX)
    if BACKOFF in reasons:
        return ScaleUpVerdict("scale_backoff", "the pool's last scale-up failed, so the autoscaler is backing off")
    if NOT_READY in reasons:
        return ScaleUpVerdict("transient", "the pool is not ready for scale-up")
    resources = limited_resources(reasons)
    if resources:
        return ScaleUpVerdict("autoscaler_limit", ", ".join(resources))
    if MAX_SIZE in reasons:
        return ScaleUpVerdict("pool_at_max", "the pool is at its maximum number of nodes")
    return ScaleUpVerdict("cannot_scale", reasons)
