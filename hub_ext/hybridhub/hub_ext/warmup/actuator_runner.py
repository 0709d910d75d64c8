"""Carries out a day's plan on the cluster, one look at a time (``tick``).

Each placeholder (:func:`.schedule.placeholders_for`) is created once, at its window's start, and
ends in one of four ways, each written to the warm-up log (:mod:`.actuator_log`):

- **used**: a user pod of its pool took its node.  Either the scheduler preempted it (the user pod
  did not fit beside it: the ``Preempted`` event names the node), or a user pod of the pool is
  Running on its node (it fit beside it) and the runner deletes it at once.  A user who comes
  before the warm node joined uses it too: the spawner deletes the still unscheduled placeholder
  just before it creates the user's pod (else the runner does, at its next look) so the node on its
  way is the user's (the autoscaler counts pending pods on upcoming nodes); the wait saved is then
  how long that node had already been coming.  A placeholder is a bare
  pod, never re-created, so a preempted one never asks for a second node (the chart's StatefulSet
  placeholders would).  One already in the cluster when the runner first looks (created before the
  service restarted) is watched from its creation time, so it still ends at its window's end.
- **wasted**: its window ended and no user came; it is deleted and the autoscaler removes the node
  after the pool's scale-down time.  Also one removed by someone else (no ``Preempted`` event, and
  no user pod of its pool created since it was) for ``GONE_GRACE_SECONDS``: the spawner deletes a
  placeholder a moment before KubeSpawner creates the user's pod, so a look in between waits.
- **never_joined**: still unscheduled after the pool's cold-start median × ``node_join_factor``
  (the spawner's own node deadline, ``c.HybridKubeSpawner.node_deadline_factor``); it is deleted so
  the pending scale-up is the user's own again and their spawn proceeds as from zero.
- **already_here** (never created): when its window opens, everyone it was planned for already has a
  server in its pool (they came early, or never stopped yesterday's); a node for them would be
  paid for and taken by no one. Listed among the refused, nothing spent.
- **budget_stop**: the month's projection went over the budget (the cost service's level ``over``):
  no new placeholder from then on, the existing ones are deleted, and the reason with its figures is
  kept for an admin (:meth:`WarmupRunner.status`).
"""

from __future__ import annotations

import asyncio
import logging
import re
from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction
from typing import Awaitable, Callable, Mapping

from ..cost.budget import OVER
from ..cost.money import exact_str
from .actuator_log import BUDGET_STOP, NEVER_JOINED, USED, WASTED, WarmupLog
from .budget_stop import BUDGET_OVER, BudgetStop, BudgetView, window_cost
from .manifest import ORIGIN_LABEL, POOL_LABEL, USERNAME_ANNOTATION, WINDOW_LABEL

LOG = logging.getLogger("hybridhub.warmup")
# pkg/scheduler/framework/preemption/preemption.go PreemptPod: "Preempted by pod %v on node %v"
PREEMPTED = re.compile(r"Preempted by pod \S+ on node (\S+)")
ALREADY_HERE = "already_here"
# A placeholder gone with no Preempted event and no user pod yet is judged this long after: the spawner
# deletes it just before KubeSpawner creates the user's pod, and a busy hub takes seconds in between
GONE_GRACE_SECONDS = 60.0


@dataclass
class Held:
    """One placeholder of the plan, and what became of it."""

    name: str
    pool: str
    window: str
    start: datetime
    end: datetime
    manifest: dict
    created: datetime | None = None
    node: str | None = None
    outcome: str | None = None
    origin: str = "plan"  # or "intent": asked for from the spawn form (intent.py)
    gone_since: datetime | None = None  # first look that found it gone with no one having taken it
    users: tuple[str, ...] = ()  # who the plan warms it for (never in its labels); none for intent


def already_here(users, pods: list[dict]) -> bool:
    """Everyone in ``users`` has a server pod among ``pods`` (not being deleted)."""
    present = {(p["metadata"].get("annotations") or {}).get(USERNAME_ANNOTATION)
               for p in pods if not p["metadata"].get("deletionTimestamp")}
    return bool(users) and set(users) <= present


def _event_time(event: dict, fallback: datetime) -> datetime:
    stamp = event.get("eventTime") or event.get("lastTimestamp") or event["metadata"].get("creationTimestamp")
    try:
        return datetime.fromisoformat(str(stamp).replace("Z", "+00:00")).astimezone(fallback.tzinfo)
    except ValueError:
        return fallback


class WarmupRunner:
    def __init__(self, actuator, log: WarmupLog, namespace: str, priority_class: dict,
                 prices: Mapping[str, Fraction], lead: Mapping[str, float], scale_down: Mapping[str, float],
                 budget: Callable[[], BudgetView], node_join_factor: float = 3.0):
        self.actuator, self.log, self.namespace = actuator, log, namespace
        self.priority_class = priority_class
        self.prices, self.lead, self.scale_down = prices, lead, scale_down
        self.budget, self.node_join_factor = budget, node_join_factor
        self.held: dict[str, Held] = {}
        self.stopped: dict | None = None
        self.refused: list[dict] = []
        self._class_ready = False
        # one look or one start at a time: a look lists the pods, then judges each placeholder it holds;
        # a placeholder created in between would be judged gone ("removed by someone else")
        self._turn = asyncio.Lock()

    def load(self, placeholders: list[dict]) -> None:
        """Take the day's placeholders (``[{"start", "end", "manifest"}]``); known ones are kept as they are."""
        for p in placeholders:
            meta = p["manifest"]["metadata"]
            self.held.setdefault(meta["name"], Held(
                meta["name"], meta["labels"][POOL_LABEL], meta["labels"][WINDOW_LABEL],
                datetime.fromisoformat(p["start"]), datetime.fromisoformat(p["end"]), p["manifest"],
                origin=meta["labels"].get(ORIGIN_LABEL, "plan"), users=tuple(p.get("users", ()))))

    async def start_now(self, placeholder: dict, now: datetime) -> str | None:
        """Create one placeholder at once (a warm-up on intent) instead of at the next tick; it then
        ends like any other.  None when created, else the reason it was not (budget, stop)."""
        async with self._turn:
            self.load([placeholder])
            held = self.held[placeholder["manifest"]["metadata"]["name"]]
            if held.created is None and not held.outcome:
                await self._maybe_create(held, now, BudgetStop(self.budget()))
            return held.outcome

    def join_timeout(self, pool: str) -> float:
        return max(60.0, float(self.lead.get(pool, 0)) * self.node_join_factor)

    async def tick(self, now: datetime) -> None:
        async with self._turn:
            await self._look(now)

    async def _look(self, now: datetime) -> None:
        view = self.budget()
        stop = BudgetStop(view)
        if self.stopped is None and view.level == OVER:
            self.stopped = {"reason": BUDGET_OVER, "at": now.isoformat(), **stop.figures(Fraction(0))}
        pods = {p["metadata"]["name"]: p for p in await self.actuator.existing(self.namespace)}
        for held in list(self.held.values()):
            if held.outcome:
                continue
            pod = pods.get(held.name)
            if held.created is None and pod is not None:  # created before a restart: watched from its creation
                held.created = _event_time({"metadata": pod["metadata"]}, now)
            if held.created is None:
                await self._maybe_create(held, now, stop)
            else:
                await self._watch(held, pod, now)

    async def _maybe_create(self, held: Held, now: datetime, stop: BudgetStop) -> None:
        if not held.start <= now < held.end:
            return
        if self.stopped:
            held.outcome = BUDGET_STOP  # never created: nothing spent, nothing to log
            self.refused.append({"placeholder": held.name, "pool": held.pool, "reason": self.stopped["reason"],
                                 "at": now.isoformat()})
            return
        if await self.actuator.preempted(held.name, self.namespace):
            held.outcome = USED  # taken before a hub restart (and logged then): never ask for its node again
            return
        if held.users and already_here(held.users, await self.actuator.user_pods(held.pool, self.namespace)):
            held.outcome = ALREADY_HERE
            self.refused.append({"placeholder": held.name, "pool": held.pool, "reason": ALREADY_HERE,
                                 "at": now.isoformat()})
            return
        if held.pool in self.prices:
            refused = stop.admit(window_cost(self.prices[held.pool], now, held.end))
            if refused:
                held.outcome = refused
                self.refused.append({"placeholder": held.name, "pool": held.pool, "reason": refused,
                                     "at": now.isoformat()})
                return
        if not self._class_ready:
            await self.actuator.ensure_priority_class(self.priority_class)
            self._class_ready = True
        await self.actuator.ensure(held.manifest)
        held.created = now

    async def _watch(self, held: Held, pod: dict | None, now: datetime) -> None:
        if pod is None:  # not deleted by us: the scheduler preempted it, a user's start took it, or someone removed it
            event = await self.actuator.preempted(held.name, self.namespace)
            if event is not None:
                found = PREEMPTED.search(event.get("message") or "")
                held.node = found.group(1) if found else held.node
                self._finish(held, USED, _event_time(event, now))
            elif not held.node and (taker := await self._user_pod_since(held)) is not None:
                # the spawner deletes a still unscheduled placeholder just before it creates the user's
                # pod (hybridhub.spawner.kube, _take_a_booting_warm_node): the node on its way is theirs.
                # That pod may be Running by now (a node nearly up when they came): its creation is
                # when the placeholder went, whatever this look finds
                taken = min(max(_event_time({"metadata": taker["metadata"]}, now), held.created), now)
                self._finish(held, USED, taken, saved=self._head_start(held, taken))
            elif held.gone_since is None or (now - held.gone_since).total_seconds() < GONE_GRACE_SECONDS:
                # KubeSpawner creates the user's pod a moment after the spawner deleted the placeholder
                # (seconds on a busy hub): wait for it before calling the placeholder wasted
                held.gone_since = held.gone_since or now
            else:
                self._finish(held, WASTED, held.gone_since, note="removed by someone else")
            return
        held.node = pod["spec"].get("nodeName") or held.node
        if self.stopped:
            await self._release(held, BUDGET_STOP, now, reason=self.stopped["reason"])
        elif held.node and await self.actuator.user_pods_running_on(held.node, held.pool, self.namespace):
            await self._release(held, USED, now)
        elif not held.node and await self.actuator.user_pods_unscheduled(held.pool, self.namespace):
            await self._release(held, USED, now, saved=self._head_start(held, now))
        elif not held.node and (now - held.created).total_seconds() > self.join_timeout(held.pool):
            await self._release(held, NEVER_JOINED, now)
        elif now >= held.end:
            await self._release(held, WASTED, now)

    async def _user_pod_since(self, held: Held) -> dict | None:
        """The first user pod of the placeholder's pool created since the placeholder was."""
        pods = await self.actuator.user_pods(held.pool, self.namespace)
        created = held.created.replace(microsecond=0)  # creationTimestamp has whole seconds
        since = [(_event_time({"metadata": p["metadata"]}, held.created), p) for p in pods]
        later = sorted(((t, p) for t, p in since if t >= created), key=lambda tp: tp[0])
        return later[0][1] if later else None

    def _head_start(self, held: Held, now: datetime) -> float:
        """The wait a user saved by taking a node still on its way: how long it had been coming, at most the lead."""
        return min((now - held.created).total_seconds(), float(self.lead.get(held.pool, 0)))

    async def _release(self, held: Held, outcome: str, now: datetime, reason: str | None = None,
                       saved: float | None = None) -> None:
        await self.actuator.remove(held.name, self.namespace)
        self._finish(held, outcome, now, reason=reason, saved=saved)

    def _finish(self, held: Held, outcome: str, ended: datetime, reason: str | None = None,
                note: str | None = None, saved: float | None = None) -> None:
        held.outcome = outcome
        seconds = max(0.0, (ended - held.created).total_seconds())
        if outcome == NEVER_JOINED:
            seconds = 0.0
        elif outcome != USED and held.node:
            seconds += float(self.scale_down.get(held.pool, 0))  # the empty node stays this long
        price = self.prices.get(held.pool)
        cost = None if price is None else exact_str(Fraction(price) * Fraction(round(seconds)) / 3600, 2)
        self.log.append({
            "pool": held.pool, "window": held.window, "placeholder": held.name,
            "start": held.start.isoformat(), "end": held.end.isoformat(),
            "created": held.created.isoformat(), "ended": ended.isoformat(), "node": held.node,
            "outcome": outcome, "reason": reason, "note": note, "origin": held.origin,
            "node_seconds": round(seconds, 1), "cost": cost,
            "wait_saved_seconds": 0.0 if outcome != USED else round(
                float(self.lead.get(held.pool, 0)) if saved is None else saved, 1),
        })

    async def run(self, now: Callable[[], datetime], sleep: Callable[[float], Awaitable[None]], every: float,
                  stop: asyncio.Event) -> None:
        """Tick every ``every`` seconds (``c.WarmupPolicy.tick_seconds``) until ``stop`` is set.  A look
        that fails (API server unreachable, refused) is logged and the next tick tries again: nothing
        is marked done before its delete succeeded, so a missed tick only delays it."""
        while not stop.is_set():
            try:
                await self.tick(now())
            except Exception:  # noqa: BLE001 - one failed look must not end the warm-up for the day
                LOG.exception("warm-up: a look at the placeholders failed; trying again in %.0f s", every)
            await sleep(every)

    def status(self) -> dict:
        """For an admin: why warm-ups stopped (if they did), what was refused, each placeholder's state."""
        return {"stopped": self.stopped, "refused": list(self.refused),
                "placeholders": [{"placeholder": h.name, "pool": h.pool, "start": h.start.isoformat(),
                                  "end": h.end.isoformat(), "node": h.node, "outcome": h.outcome, "origin": h.origin,
                                  "created": h.created.isoformat() if h.created else None}
                                 for h in self.held.values()]}
