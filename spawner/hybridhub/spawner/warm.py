"""Was a node warmed up for this start? Read from the pool's warm-up placeholders: pure, tested directly.

The hub's warm-up keeps a node of a pool up with a low-priority placeholder pod (labels in
:mod:`.labels`: ``hybridhub/warmup=true`` and the pool's name) that a user pod preempts. What the
spawner can see with KubeSpawner's own permissions (list pods and events in its namespace):

- the pool's placeholder pods, and the node each one holds (``spec.nodeName``, empty while the
  node it asked for is still booting), each with its ``creationTimestamp``: when the warm-up asked
  for the node;
- the scheduler's ``Preempted`` event on a placeholder the user pod displaced
  (kubernetes pkg/scheduler/framework/preemption/preemption.go, PrepareCandidate:
  ``"Preempted by pod %v on node %v"`` with the preemptor's UID), and the user pod's
  ``status.nominatedNodeName`` (the node freed for it, set before it is bound).

From these, :meth:`WarmWatch.read` says **warmed** (the pod goes to a node a placeholder held: it
preempted the placeholder, or fits beside it) or **coming** (no warm node yet, but the warm-up's
node for this pool is already booting: its ETA counts from the placeholder's creation, not from
now), or nothing (the usual cold start and its ETA).  Placeholders are remembered across looks:
the scheduler deletes a preempted one at once (grace period 0), and the warm-up deletes an
unscheduled one when a user comes before its node joined.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timezone

WARMED = "warmed"
COMING = "coming"
PREEMPTED = re.compile(r"Preempted by pod (\S+) on node (\S+)")


def parse_time(stamp: str | None) -> datetime | None:
    """An RFC 3339 time as the API server writes it (``2026-12-07T08:55:00Z``), or None."""
    if not stamp:
        return None
    try:
        return datetime.fromisoformat(str(stamp).replace("Z", "+00:00"))
    except ValueError:
        return None


def booting_placeholder(placeholders: list[dict]) -> str | None:
    """The placeholder a start takes (deletes) before its pod exists: the oldest one still waiting for
    its node (no ``spec.nodeName``: the node closest to joining), and only when none of the pool's
    placeholders holds a node already (then the scheduler preempts that one for the user pod)."""
    if any((p.get("spec") or {}).get("nodeName") for p in placeholders):
        return None
    waiting = [(parse_time(_meta(p).get("creationTimestamp")) or datetime.max.replace(tzinfo=timezone.utc),
                _meta(p).get("name")) for p in placeholders if _meta(p).get("name")
               and not _meta(p).get("deletionTimestamp")]
    return min(waiting)[1] if waiting else None


@dataclass(frozen=True)
class WarmNews:
    kind: str  # WARMED or COMING
    node: str = ""  # WARMED: the node the placeholder kept
    requested_at: datetime | None = None  # COMING: when the warm-up asked for the node
    head_start: float = 0.0  # COMING: seconds the node had been coming when this server was asked for

    def remaining(self, eta: float) -> float:
        """Seconds until the coming node should join, by the pool's measured cold start ``eta``."""
        return max(0.0, eta - self.head_start)


@dataclass
class _Seen:
    node: str
    created: datetime | None


def _meta(obj: dict | None) -> dict:
    return (obj or {}).get("metadata") or {}


class WarmWatch:
    """What one start has seen of its pool's placeholders, and what that means for it."""

    def __init__(self) -> None:
        self.seen: dict[str, _Seen] = {}
        self.news: WarmNews | None = None

    def see(self, placeholders: list[dict]) -> None:
        """Take one look's placeholder pods (already of this pool); a node once seen is kept."""
        for pod in placeholders:
            name = _meta(pod).get("name")
            if not name:
                continue
            node = ((pod.get("spec") or {}).get("nodeName")) or ""
            known = self.seen.get(name)
            self.seen[name] = _Seen(node or (known.node if known else ""),
                                    parse_time(_meta(pod).get("creationTimestamp")))

    def read(self, pod: dict | None, events: list[dict], node: str = "") -> WarmNews | None:
        """The news for the user ``pod`` given the namespace's pod ``events``; once warmed, it stays so.

        ``node``: where the pod's own events say it was scheduled (they can arrive before the pod's
        update does)."""
        if self.news and self.news.kind == WARMED:
            return self.news
        if pod is None:
            if node and node in self._held():
                self.news = WarmNews(WARMED, node=node)
            return self.news
        warm = self._warm_node(pod, events, node)
        if warm:
            self.news = WarmNews(WARMED, node=warm)
        elif self.news is None and not self._placed(pod):
            self.news = self._coming(pod)
        return self.news

    def _held(self) -> set[str]:
        return {s.node for s in self.seen.values() if s.node}

    def _warm_node(self, pod: dict, events: list[dict], scheduled: str) -> str:
        uid = _meta(pod).get("uid")
        for event in events:
            if event.get("reason") != "Preempted":
                continue
            found = PREEMPTED.search(event.get("message") or "")
            victim = (event.get("involvedObject") or {}).get("name")
            if found and uid and found.group(1) == uid and victim in self.seen:
                return found.group(2)
        node = self._placed(pod) or scheduled
        return node if node in self._held() else ""

    @staticmethod
    def _placed(pod: dict) -> str:
        """The node the pod is bound to, or nominated for after a preemption."""
        return ((pod.get("spec") or {}).get("nodeName") or ((pod.get("status") or {}).get("nominatedNodeName"))
                or "")

    def _coming(self, pod: dict) -> WarmNews | None:
        booting = [s.created for s in self.seen.values() if not s.node and s.created]
        if not booting:
            return None
        asked = min(booting)  # the oldest request is the node closest to joining
        created = parse_time(_meta(pod).get("creationTimestamp"))
        head_start = max(0.0, (created - asked).total_seconds()) if created else 0.0
        return WarmNews(COMING, requested_at=asked, head_start=head_start)
