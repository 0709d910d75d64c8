"""From Kubernetes objects and hub server models to :class:`~.recorder.CostRecorder` calls.

No I/O: the service's list+watch loops and hub poller hand plain dicts to a :class:`ClusterFeed`,
together with ``now`` (µs).  Where the cluster says when something happened, that time is used:

* a node is billed from the autoscaler's scale-up decision: its ``TriggeredScaleUp`` events
  (``pod triggered scale-up: [{aks-<pool>-<digits>-vmss 0->1 (max: 3)}]``) open one provisioning
  placeholder per node added, which the node object takes over when it joins; a node without one
  counts from its ``creationTimestamp``.  The autoscaler writes the same message on EVERY pod the
  scale-up helps, and again (count + 1) when it retries the same resize later: one decision is
  the group and its ``before->after`` sizes, seen again within ``DECISION_WINDOW``;
* a decision that yields no node bills nothing (Azure bills no VM it could not allocate): its
  open placeholders are cancelled when one of its pods gets ``NotTriggerScaleUp`` afterwards (the
  autoscaler no longer counts on that node: the resize failed and the group is backed off), on the
  autoscaler's ``ScaleUpTimedOut`` event (status ConfigMap, kube-system, when watched), or after
  the service's provisioning timeout.  A pod that goes does not cancel anything: the VM was asked
  for and comes anyway;
* a node is billed until its VM is deleted, not when the autoscaler marks it: the taint
  ``ToBeDeletedByClusterAutoscaler=<unix time>`` (and its ``ScaleDown`` event) comes first, the
  autoscaler deletes the VMSS instance 5 s later (--node-delete-delay-after-taint) and Azure
  deletes the VM in about a minute (``vm_delete_seconds``, 65 s from the taint by default - an
  estimate, Azure publishes none); the Node object goes when that is seen, in a real cluster later
  still (the node lifecycle controllers notice the VM gone after node-monitor-grace-period).  So a
  marked node is billed until ``min(deletion seen, taint + vm_delete_seconds)``, an unmarked one
  until its deletion is seen; for a node that went while the service was away, its last
  ``ScaleDown`` event + ``vm_delete_seconds``;
* a user server occupies its node from the pod's ``PodScheduled`` time until its pod goes; servers
  sharing a node share its time in proportion to their CPU requests (or equally).

The profile of a server comes from the hub (``user_options["profile"]``), else from the pod's
``hybridhub/profile`` label.
"""

from __future__ import annotations

import re
import time
from datetime import datetime
from fractions import Fraction
from typing import Callable, Iterable, Mapping

from hybridhub.spawner.pod import PROFILE_LABEL
from hybridhub.spawner.profiles import POOL_LABEL

from .ledger import to_micros
from .recorder import CostRecorder, is_placeholder

AKS_POOL_LABEL = "kubernetes.azure.com/agentpool"
USER_KEY = "hub.jupyter.org/username"
SERVER_KEY = "hub.jupyter.org/servername"
SCALE_UP = "TriggeredScaleUp"
NO_SCALE_UP = "NotTriggerScaleUp"
TIMED_OUT = "ScaleUpTimedOut"
SCALE_DOWN = "ScaleDown"
TO_BE_DELETED = "ToBeDeletedByClusterAutoscaler"
DECISION_WINDOW = 300 * 1_000_000  # µs: the same resize seen again this soon is the same decision
_GROUP = re.compile(r"\{(\S+) (\d+)->(\d+) \(max: \d+\)\}")
_TIMED_OUT_GROUP = re.compile(r"^Nodes added to group (\S+) failed to register")
_VMSS = re.compile(r"^aks-([a-z0-9]+)-\d+-vmss$")
TERMINAL = {"Succeeded", "Failed"}


def parse_time(text: str | None) -> int | None:
    """RFC 3339 (``2026-11-22T01:02:03Z``) → µs since the epoch; None for None or garbage."""
    if not text:
        return None
    try:
        return to_micros(datetime.fromisoformat(text.replace("Z", "+00:00")))
    except (TypeError, ValueError):
        return None


def scale_ups(message: str) -> list[tuple[str, int]]:
    """``[(pool, added), ...]`` from a TriggeredScaleUp message (node groups named as AKS does)."""
    return [(pool, after - before) for pool, before, after in resizes(message)]


def resizes(message: str) -> list[tuple[str, int, int]]:
    """``[(pool, before, after), ...]`` of the growing AKS scale sets in a TriggeredScaleUp message."""
    out = []
    for group, before, after in _GROUP.findall(message or ""):
        match = _VMSS.match(group)
        if match and int(after) > int(before):
            out.append((match.group(1), int(before), int(after)))
    return out


def _pool_of_node_name(name: str) -> str | None:
    """``aks-gpu-12345678-vmss000002`` → ``gpu`` (AKS names nodes after their scale set)."""
    match = _VMSS.match(name[:name.rfind("vmss") + 4]) if "vmss" in name else None
    return match.group(1) if match else None


def cpu_request(pod: Mapping) -> Fraction:
    """The pod's CPU request in cores (``500m`` → 1/2), summed over its containers; 1 when none
    is given or it cannot be read."""
    total = Fraction(0)
    for container in (pod.get("spec") or {}).get("containers") or []:
        value = str(((container.get("resources") or {}).get("requests") or {}).get("cpu") or "0")
        try:
            total += Fraction(value[:-1]) / 1000 if value.endswith("m") else Fraction(value)
        except (ValueError, ZeroDivisionError):
            return Fraction(1)
    return total if total > 0 else Fraction(1)


def node_pool(node: Mapping) -> str | None:
    labels = (node.get("metadata") or {}).get("labels") or {}
    return labels.get(POOL_LABEL) or labels.get(AKS_POOL_LABEL)


def event_time(event: Mapping) -> int | None:
    return (parse_time(event.get("lastTimestamp")) or parse_time(event.get("eventTime"))
            or parse_time(event.get("firstTimestamp")) or parse_time((event.get("metadata") or {}).get("creationTimestamp")))


class ClusterFeed:
    def __init__(self, recorder: CostRecorder, monotonic: Callable[[], float] = time.monotonic,
                 share_by_cpu: bool = True, vm_delete_seconds: float = 65.0):
        self.rec = recorder
        self.vm_delete = int(vm_delete_seconds * 1_000_000)
        self.share_by_cpu = share_by_cpu
        self.monotonic = monotonic
        self.seen_events: dict[str, list[int]] = {}  # event uid -> [count handled, time]
        self.scale_down_at: dict[str, int] = {}  # node -> time of its last ScaleDown event
        # one scale-up decision: "pool:before:after" -> {"at": µs, "nodes": [placeholders], "pods": [uids]}
        self.decisions: dict[str, dict] = {}
        self.unclaimed: dict[str, tuple[str, int]] = {}  # node seen before its scale-up -> (pool, created)
        self.hub_profiles: dict[tuple[str, str], str] = {}  # (user, server) -> profile from the hub
        self.hub_servers: dict[tuple[str, str], dict] = {}  # (user, server) -> profile, started, ready
        self.horizon = 0  # events before this time were forgotten: never handle them again
        self.changes = 0  # bumped on every change, so the service knows when to save

    # -- persistence of what is not in the recorder
    def state(self) -> dict:
        return {"seen_events": self.seen_events, "scale_down_at": self.scale_down_at, "horizon": self.horizon,
                "decisions": self.decisions}

    def restore(self, data: Mapping) -> None:
        self.seen_events = {str(k): [int(v[0]), int(v[1])] for k, v in (data.get("seen_events") or {}).items()}
        self.scale_down_at = {str(k): int(v) for k, v in (data.get("scale_down_at") or {}).items()}
        self.horizon = int(data.get("horizon") or 0)
        self.decisions = {str(k): {"at": int(v["at"]), "nodes": [str(n) for n in v["nodes"]],
                                   "pods": [str(p) for p in v["pods"]]}
                          for k, v in (data.get("decisions") or {}).items()}

    def forget_before(self, before: int) -> None:
        self.horizon = max(self.horizon, before)
        self.seen_events = {k: v for k, v in self.seen_events.items() if v[1] > before}
        self.scale_down_at = {k: v for k, v in self.scale_down_at.items() if v > before}
        self.decisions = {k: v for k, v in self.decisions.items() if v["at"] > before}

    # -- nodes
    def sync(self, events: Iterable[Mapping], nodes: Iterable[Mapping], now: int) -> None:
        """A full listing of the autoscaler's events and of the nodes (start-up, relist), applied
        in time order: scale-ups, nodes gone (at their last ScaleDown event, else ``now``), nodes new."""
        scale, downs_before = [], dict(self.scale_down_at)
        for event in sorted(events, key=lambda e: event_time(e) or 0):
            scale += self._scale_event(event)
        listing = {}
        for node in nodes:
            pool, meta = node_pool(node), node.get("metadata") or {}
            if pool and meta.get("name"):
                listing[meta["name"]] = (pool, parse_time(meta.get("creationTimestamp")) or now)
        up = self.rec.ledger.up_nodes()
        steps = [(t, 1, pool, what) for t, pool, what in scale]
        steps += [(min(self.scale_down_at.get(node, now) + self.vm_delete, now), 0, pool, node)
                  for node, pool in up.items() if node not in listing and not is_placeholder(node)]
        steps += [(created, 2, pool, node) for node, (pool, created) in listing.items() if node not in up]
        # nodes that came and went unseen (while the service was down): known by their ScaleDown event
        steps += [(t + self.vm_delete, 3, _pool_of_node_name(node), node) for node, t in self.scale_down_at.items()
                  if node not in downs_before and node not in up and node not in listing and _pool_of_node_name(node)]
        for t, kind, pool, what in sorted(steps, key=lambda s: s[:2]):
            if kind == 0:
                self.rec.node_left(t, pool, what)
            elif kind == 1:
                what()
            elif kind == 2:
                self._joined(t, pool, what)
            else:
                self.rec.node_joined(t, pool, what)
                self.rec.node_left(t, pool, what)
        self.changes += 1

    def nodes_listed(self, items: Iterable[Mapping], now: int) -> None:
        self.sync([], items, now)

    def node_event(self, kind: str, node: Mapping, now: int) -> None:
        pool, meta = node_pool(node), node.get("metadata") or {}
        name = meta.get("name")
        if not pool or not name:
            return
        if kind == "DELETED":  # the VM is gone (a taint before it only marked the node)
            self.rec.node_left(self._vm_gone(node, now), pool, name)
        else:
            self._joined(parse_time(meta.get("creationTimestamp")) or now, pool, name)
        self.changes += 1

    def _vm_gone(self, node: Mapping, seen: int) -> int:
        """When Azure stopped billing a deleted node's VM: ``seen``, or earlier for a node the
        autoscaler marked (utils/taints/taints.go: the taint's value is the unix time it was set)."""
        marked = None
        for taint in (node.get("spec") or {}).get("taints") or []:
            if taint.get("key") == TO_BE_DELETED and str(taint.get("value", "")).isdigit():
                marked = int(taint["value"]) * 1_000_000
        name = (node.get("metadata") or {}).get("name")
        marked = marked if marked is not None else self.scale_down_at.get(name)
        return seen if marked is None else min(seen, marked + self.vm_delete)

    def _joined(self, created: int, pool: str, name: str) -> None:
        if self.rec.node_joined(created, pool, name) == "new":
            self.unclaimed[name] = (pool, created)

    def _decide(self, when: int, pool: str, before: int, after: int, pod: str) -> None:
        """A TriggeredScaleUp: a new decision opens one placeholder per node added (or backdates a
        node already seen: the two come on different watches); a known one only notes the pod."""
        key = f"{pool}:{before}:{after}"
        known = self.decisions.get(key)
        if known is not None and abs(when - known["at"]) < DECISION_WINDOW:
            if pod and pod not in known["pods"]:
                known["pods"].append(pod)
            return
        placeholders = []
        up = self.rec.ledger.up_nodes()
        for _ in range(after - before):
            early = sorted((created, name) for name, (p, created) in self.unclaimed.items()
                           if p == pool and created >= when and name in up)
            if early:
                self.rec.ledger.backdate(early[0][1], when)
                del self.unclaimed[early[0][1]]
            else:
                placeholders += self.rec.scale_up(when, pool, 1)
        self.decisions[key] = {"at": when, "nodes": placeholders, "pods": [pod] if pod else []}

    def _cancel(self, keys: Iterable[str]) -> None:
        """The decisions got no VM: their placeholders not taken over by a node bill nothing."""
        provisioning = self.rec.provisioning()
        for key in keys:
            for name in self.decisions[key]["nodes"]:
                if name in provisioning:
                    self.rec.ledger.cancel(name)
            self.decisions[key]["nodes"] = []

    def flush(self, force: bool = False) -> None:
        """Nothing waits any more: a node deletion is billed when it is seen."""

    # -- autoscaler events
    def events_listed(self, items: Iterable[Mapping]) -> None:
        for event in sorted(items, key=lambda e: event_time(e) or 0):
            self.event(event)

    def event(self, event: Mapping, kind: str = "ADDED") -> None:
        if kind == "DELETED":  # events expire (kube-apiserver --event-ttl): nothing happened
            return
        for _, _, apply in self._scale_event(event):
            apply()

    def _scale_event(self, event: Mapping) -> list[tuple[int, str, Callable[[], None]]]:
        """Note a ScaleDown; return ``[(time, pool, apply)]`` for a TriggeredScaleUp, NotTriggerScaleUp or
        ScaleUpTimedOut occurrence not yet handled (applied in time order by the caller)."""
        uid, when = (event.get("metadata") or {}).get("uid"), event_time(event)
        if not uid or when is None or when <= self.horizon:
            return []
        count = int(event.get("count") or (event.get("series") or {}).get("count") or 1)
        handled = self.seen_events.get(uid, [0, when])[0]
        if count <= handled:
            return []
        self.seen_events[uid] = [count, when]
        self.changes += 1
        reason, involved = event.get("reason"), event.get("involvedObject") or {}
        pod = str(involved.get("uid") or involved.get("name") or "") if involved.get("kind") == "Pod" else ""
        if reason == SCALE_UP:
            return [(when, pool, lambda when=when, pool=pool, b=before, a=after: self._decide(when, pool, b, a, pod))
                    for pool, before, after in resizes(event.get("message", ""))]
        if reason == NO_SCALE_UP and pod:
            return [(when, "", lambda: self._cancel([k for k, d in self.decisions.items()
                                                     if pod in d["pods"] and d["at"] < when]))]
        if reason == TIMED_OUT:
            match = _TIMED_OUT_GROUP.match(event.get("message") or "")
            group = _VMSS.match(match.group(1)) if match else None
            if group:
                return [(when, group.group(1), lambda: self._cancel([k for k, d in self.decisions.items()
                                                                      if k.split(":")[0] == group.group(1)
                                                                      and d["at"] <= when]))]
        elif reason == SCALE_DOWN and involved.get("kind") == "Node":
            name = involved.get("name", "")  # "marked the node as toBeDeleted/unschedulable" comes first
            self.scale_down_at[name] = min(when, self.scale_down_at.get(name, when))
        return []

    def expire(self, now: int, max_age: int) -> None:
        if self.rec.expire_provisioning(now, max_age):
            self.changes += 1
        up = self.rec.ledger.up_nodes()
        self.unclaimed = {n: v for n, v in self.unclaimed.items() if n in up and v[1] > now - max_age}
        keep = now - max(max_age, DECISION_WINDOW)
        self.decisions = {k: d for k, d in self.decisions.items() if d["at"] > keep}

    # -- user servers
    def _server(self, pod: Mapping) -> tuple[str, str, str] | None:
        meta = pod.get("metadata") or {}
        labels, notes = meta.get("labels") or {}, meta.get("annotations") or {}
        user = notes.get(USER_KEY) or labels.get(USER_KEY)
        if not user:
            return None
        server = notes.get(SERVER_KEY) or labels.get(SERVER_KEY) or ""
        profile = self.hub_profiles.get((user, server)) or labels.get(PROFILE_LABEL) or "(unknown)"
        return user, server, profile

    def pods_listed(self, items: Iterable[Mapping], now: int) -> None:
        present = set()
        for pod in items:
            key = self._server(pod)
            if key and self.pod_event("ADDED", pod, now):
                present.add(key[:2])
        for user, server in [k for k in self.rec.running if k not in present]:
            self.rec.server_stopped(now, user, server)
        self.changes += 1

    def pod_event(self, kind: str, pod: Mapping, now: int) -> bool:
        """True when the pod holds a node now."""
        key = self._server(pod)
        if key is None:
            return False
        user, server, profile = key
        node = (pod.get("spec") or {}).get("nodeName")
        status = pod.get("status") or {}
        gone = kind == "DELETED" or status.get("phase") in TERMINAL or "deletionTimestamp" in (pod.get("metadata") or {})
        if gone or not node:
            if (user, server) in self.rec.running:
                self.rec.server_stopped(now, user, server)
                self.changes += 1
            return False
        bound = next((parse_time(c.get("lastTransitionTime")) for c in status.get("conditions") or []
                      if c.get("type") == "PodScheduled" and c.get("status") == "True"), None)
        weight = cpu_request(pod) if self.share_by_cpu else Fraction(1)
        self.rec.server_started(bound or now, user, server, profile, node, weight)
        self.changes += 1
        return True

    # -- the hub's view
    def hub_users(self, users: Iterable[Mapping]) -> None:
        """The hub's ``GET /users`` models: each server's profile, start and readiness."""
        servers = {}
        for user in users:
            for name, server in (user.get("servers") or {}).items():
                profile = (server.get("user_options") or {}).get("profile")
                servers[(user["name"], name)] = {
                    "profile": profile if isinstance(profile, str) and profile else None,
                    "started": server.get("started"), "ready": bool(server.get("ready"))}
        self.hub_servers = servers
        self.hub_profiles = {key: s["profile"] for key, s in servers.items() if s["profile"]}
