"""Who used the nodes: a node's time shared among the user servers running on it.

For each node interval (from :mod:`.ledger`) and the server sessions placed on that node
(user, profile, start, stop), time is cut into segments at every session start and stop.  In a
segment with servers, the node's time is split among them in proportion to their ``weight``
(default 1: equal shares; a service may pass e.g. the CPU or GPU request instead).  A segment with
no server is *idle* and stays on its own line (``user`` and ``profile`` None).  Hence, exactly:

    Σ attributed node-hours + idle node-hours = node-hours of the pool
    Σ attributed cost + idle cost             = price · node-hours

Sessions are clipped to the node's lifetime and to the window; time a server spends pending (no
node yet) costs nothing here — the node it waits for is counted when it comes up (idle until the
server lands on it).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from fractions import Fraction
from typing import Iterable, Mapping

from .ledger import HOUR, NodeInterval, clipped

MESSAGES = {
    "no_price": "no price per hour for pool {pool!r}",
    "bad_weight": "session weight must be positive (user {user!r}, got {weight})",
    "bad_session": "session of user {user!r} stops ({stop}) before it starts ({start})",
}

IDLE = None  # user and profile of an idle line


class AttributionError(ValueError):
    pass


@dataclass(frozen=True)
class ServerSession:
    user: str
    profile: str
    node: str
    start: int  # microseconds since the epoch
    stop: int | None = None  # None: still running
    weight: Fraction = Fraction(1)
    server_name: str = ""


@dataclass(frozen=True)
class CostLine:
    pool: str
    user: str | None  # None for idle node time
    profile: str | None
    node_hours: Fraction
    cost: Fraction

    @property
    def idle(self) -> bool:
        return self.user is None


@dataclass(frozen=True)
class Attribution:
    lines: tuple[CostLine, ...]

    @property
    def total(self) -> Fraction:
        return sum((line.cost for line in self.lines), Fraction(0))

    @property
    def node_hours(self) -> Fraction:
        return sum((line.node_hours for line in self.lines), Fraction(0))

    def _by(self, key) -> dict:
        out: dict = defaultdict(Fraction)
        for line in self.lines:
            out[key(line)] += line.cost
        return dict(out)

    def by_pool(self) -> dict[str, Fraction]:
        return self._by(lambda line: line.pool)

    def by_user(self) -> dict[str | None, Fraction]:
        """Cost per user; the key None is idle node time."""
        return self._by(lambda line: line.user)

    def by_profile(self) -> dict[str | None, Fraction]:
        """Cost per profile; the key None is idle node time."""
        return self._by(lambda line: line.profile)

    def idle_by_pool(self) -> dict[str, Fraction]:
        out: dict[str, Fraction] = defaultdict(Fraction)
        for line in self.lines:
            if line.idle:
                out[line.pool] += line.cost
        return dict(out)


def attribute(intervals: Iterable[NodeInterval], sessions: Iterable[ServerSession],
              prices: Mapping[str, Fraction], start: int, end: int) -> Attribution:
    """Cost lines per (pool, user, profile), plus one idle line per pool, over ``[start, end)``."""
    by_node: dict[str, list[ServerSession]] = defaultdict(list)
    for session in sessions:
        if session.weight <= 0:
            raise AttributionError(MESSAGES["bad_weight"].format(user=session.user, weight=session.weight))
        if session.stop is not None and session.stop < session.start:
            raise AttributionError(MESSAGES["bad_session"].format(user=session.user, start=session.start,
                                                                  stop=session.stop))
        by_node[session.node].append(session)

    micros: dict[tuple[str, str | None, str | None], Fraction] = defaultdict(Fraction)
    for iv, s, e in clipped(intervals, start, end):
        if iv.pool not in prices:
            raise AttributionError(MESSAGES["no_price"].format(pool=iv.pool))
        _share_node(iv.pool, s, e, by_node.get(iv.node, ()), micros)

    lines = []
    for (pool, user, profile), us in sorted(micros.items(), key=_sort_key):
        node_h = us / HOUR
        lines.append(CostLine(pool, user, profile, node_h, Fraction(prices[pool]) * node_h))
    return Attribution(tuple(lines))


def _sort_key(item):
    (pool, user, profile), _ = item
    return (pool, user is None, user or "", profile or "")


def _share_node(pool: str, s: int, e: int, sessions: Iterable[ServerSession],
                micros: dict[tuple[str, str | None, str | None], Fraction]) -> None:
    """Split the node time ``[s, e)`` among ``sessions``; add microseconds to ``micros``."""
    changes: dict[int, list[tuple[tuple[str, str], Fraction]]] = defaultdict(list)
    for session in sessions:
        a = max(session.start, s)
        b = e if session.stop is None else min(session.stop, e)
        if a < b:
            key = (session.user, session.profile)
            weight = Fraction(session.weight)
            changes[a].append((key, weight))
            changes[b].append((key, -weight))
    active: dict[tuple[str, str], Fraction] = {}
    prev = s
    for t in [*sorted(changes), e]:
        if t > prev:
            duration = t - prev
            total = sum(active.values(), Fraction(0))
            if total == 0:
                micros[(pool, IDLE, IDLE)] += duration
            else:
                for (user, profile), weight in active.items():
                    micros[(pool, user, profile)] += duration * weight / total
            prev = t
        for key, delta in changes.get(t, ()):
            weight = active.get(key, Fraction(0)) + delta
            if weight:
                active[key] = weight
            else:
                active.pop(key, None)
