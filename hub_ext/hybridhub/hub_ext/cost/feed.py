"""From Kubernetes objects and hub server models to :class:`~.recorder.CostRecorder` calls.

No I/O: the service's list+watch loops and hub poller hand plain dicts to a :class:`ClusterFeed`,
together with ``now`` (µs).  Where the cluster says when something happened, that time is used:

* a node is billed from the autoscaler's scale-up decision — its ``TriggeredScaleUp`` event on the
  pod (``pod triggered scale-up: [{aks-<pool>-<digits>-vmss 0->1 (max: 3)}]``) opens a
  provisioning placeholder which the node object takes over when it joins; a node without one
  counts from its ``creationTimestamp``;
* a node stops being billed when it is deleted: at the autoscaler's ``ScaleDown`` event on it, or,
  without one, when the deletion is seen (a deletion waits ``settle`` seconds for its event, as the
  two arrive on different watches);
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
SCALE_DOWN = "ScaleDown"
_GROUP = re.compile(r"\{(\S+) (\d+)->(\d+) \(max: \d+\)\}")
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
    out = []
    for group, before, after in _GROUP.findall(message or ""):
        match = _VMSS.match(group)
        if match and int(after) > int(before):
            out.append((match.group(1), int(after) - int(before)))
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
    def __init__(self, recorder: CostRecorder, settle: float = 2.0, monotonic: Callable[[], float] = time.monotonic,
                 share_by_cpu: bool = True):
        self.rec = recorder
        self.share_by_cpu = share_by_cpu
        self.settle = settle
        self.monotonic = monotonic
        self.seen_events: dict[str, list[int]] = {}  # event uid -> [count handled, time]
        self.scale_down_at: dict[str, int] = {}  # node -> time of its ScaleDown event
        self.pending_down: dict[str, tuple[str, int, float]] = {}  # node -> (pool, seen at, deadline)
        self.unclaimed: dict[str, tuple[str, int]] = {}  # node seen before its scale-up -> (pool, created)
        self.hub_profiles: dict[tuple[str, str], str] = {}  # (user, server) -> profile from the hub
        self.hub_servers: dict[tuple[str, str], dict] = {}  # (user, server) -> profile, started, ready
        self.horizon = 0  # events before this time were forgotten: never handle them again
        self.changes = 0  # bumped on every change, so the service knows when to save

    # -- persistence of what is not in the recorder
    def state(self) -> dict:
        return {"seen_events": self.seen_events, "scale_down_at": self.scale_down_at, "horizon": self.horizon}

    def restore(self, data: Mapping) -> None:
        self.seen_events = {str(k): [int(v[0]), int(v[1])] for k, v in (data.get("seen_events") or {}).items()}
        self.scale_down_at = {str(k): int(v) for k, v in (data.get("scale_down_at") or {}).items()}
        self.horizon = int(data.get("horizon") or 0)

    def forget_before(self, before: int) -> None:
        self.horizon = max(self.horizon, before)
        self.seen_events = {k: v for k, v in self.seen_events.items() if v[1] > before}
        self.scale_down_at = {k: v for k, v in self.scale_down_at.items() if v > before}

    # -- nodes
    def sync(self, events: Iterable[Mapping], nodes: Iterable[Mapping], now: int) -> None:
        """A full listing of the autoscaler's events and of the nodes (start-up, relist), applied
        in time order: scale-ups, nodes gone (at their ScaleDown event, else ``now``), nodes new."""
        scale, downs_before = [], dict(self.scale_down_at)
        for event in sorted(events, key=lambda e: event_time(e) or 0):
            scale += self._scale_event(event)
        listing = {}
        for node in nodes:
            pool, meta = node_pool(node), node.get("metadata") or {}
            if pool and meta.get("name"):
                listing[meta["name"]] = (pool, parse_time(meta.get("creationTimestamp")) or now)
        up = self.rec.ledger.up_nodes()
        steps = [(t, 1, pool, str(n)) for t, pool, n in scale]
        steps += [(min(self.scale_down_at.get(node, now), now), 0, pool, node) for node, pool in up.items()
                  if node not in listing and not is_placeholder(node)]
        steps += [(created, 2, pool, node) for node, (pool, created) in listing.items() if node not in up]
        # nodes that came and went unseen (while the service was down): known by their ScaleDown event
        steps += [(t, 3, _pool_of_node_name(node), node) for node, t in self.scale_down_at.items()
                  if node not in downs_before and node not in up and node not in listing and _pool_of_node_name(node)]
        for t, kind, pool, what in sorted(steps):
            if kind == 0:
                self.rec.node_left(t, pool, what)
            elif kind == 1:
                self._scale_up(t, pool, int(what))
            elif kind == 2:
                self._joined(t, pool, what)
            else:
                self.rec.node_joined(t, pool, what)
                self.rec.node_left(t, pool, what)
        for name in [n for n in self.pending_down if n in listing]:
            del self.pending_down[name]
        self.changes += 1

    def nodes_listed(self, items: Iterable[Mapping], now: int) -> None:
        self.sync([], items, now)

    def node_event(self, kind: str, node: Mapping, now: int) -> None:
        pool, name = node_pool(node), (node.get("metadata") or {}).get("name")
        if not pool or not name:
            return
        if kind == "DELETED":
            if name in self.scale_down_at:
                self.rec.node_left(self.scale_down_at[name], pool, name)
            else:
                self.pending_down[name] = (pool, now, self.monotonic() + self.settle)
        else:
            self._joined(parse_time((node.get("metadata") or {}).get("creationTimestamp")) or now, pool, name)
        self.changes += 1

    def _joined(self, created: int, pool: str, name: str) -> None:
        if self.rec.node_joined(created, pool, name) == "new":
            self.unclaimed[name] = (pool, created)

    def _scale_up(self, when: int, pool: str, count: int) -> None:
        """A scale-up whose node may already be here (the two come on different watches): that node
        is billed from the decision; otherwise a placeholder waits for it."""
        up = self.rec.ledger.up_nodes()
        for _ in range(count):
            early = sorted((created, name) for name, (p, created) in self.unclaimed.items()
                           if p == pool and created >= when and name in up)
            if early:
                self.rec.ledger.backdate(early[0][1], when)
                del self.unclaimed[early[0][1]]
            else:
                self.rec.scale_up(when, pool, 1)

    def flush(self, force: bool = False) -> None:
        """Close deletions whose ScaleDown event did not come within ``settle`` seconds."""
        for name, (pool, seen, deadline) in sorted(self.pending_down.items(), key=lambda kv: kv[1][1]):
            if force or self.monotonic() >= deadline:
                del self.pending_down[name]
                self.rec.node_left(seen, pool, name)
                self.changes += 1

    # -- autoscaler events
    def events_listed(self, items: Iterable[Mapping]) -> None:
        for event in sorted(items, key=lambda e: event_time(e) or 0):
            self.event(event)

    def event(self, event: Mapping, kind: str = "ADDED") -> None:
        if kind == "DELETED":
            return
        for when, pool, added in self._scale_event(event):
            self._scale_up(when, pool, added)

    def _scale_event(self, event: Mapping) -> list[tuple[int, str, int]]:
        """Note a ScaleDown; return ``[(time, pool, VMs added)]`` for a TriggeredScaleUp not yet handled."""
        uid, when = (event.get("metadata") or {}).get("uid"), event_time(event)
        if not uid or when is None or when <= self.horizon:
            return []
        count = int(event.get("count") or 1)
        handled = self.seen_events.get(uid, [0, when])[0]
        if count <= handled:
            return []
        self.seen_events[uid] = [count, when]
        self.changes += 1
        reason = event.get("reason")
        if reason == SCALE_UP:
            return [(when, pool, added * (count - handled)) for pool, added in scale_ups(event.get("message", ""))]
        if reason == SCALE_DOWN and (event.get("involvedObject") or {}).get("kind") == "Node":
            name = event["involvedObject"].get("name", "")
            self.scale_down_at[name] = when
            if name in self.pending_down:
                pool = self.pending_down.pop(name)[0]
                self.rec.node_left(when, pool, name)
        return []

    def expire(self, now: int, max_age: int) -> None:
        if self.rec.expire_provisioning(now, max_age):
            self.changes += 1
        up = self.rec.ledger.up_nodes()
        self.unclaimed = {n: v for n, v in self.unclaimed.items() if n in up and v[1] > now - max_age}

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
