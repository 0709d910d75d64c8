"""The next working day's likely GPU starts, and the warm windows they call for.

A person's start is *likely* at a time of day when, among the last ``of_days`` working days
(looking back at most ``lookback_weeks`` weeks), they started the same profile within
± ``tolerance`` of that time on at least ``min_days`` of them.  Each likely start asks for a
node from ``start - lead`` (the pool's measured cold-start median, so the node is Ready when
the person arrives) to ``start + grace``, on one node: windows of a pool that overlap are laid
on different nodes (lanes), at most the pool's ``max_warm_nodes``; beyond that, starts share one.
The predicted start is the median of the near starts; the window may open ``lead`` before an
earlier one, the ``open_percentile``-th percentile (nearest rank) of them (50: the median), so a
person who comes early finds the node ready, at the cost of the longer window.
Pure functions: no clock, no files.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Iterable, Mapping

from .calendar import WorkCalendar
from .history import StartRecord


@dataclass(frozen=True)
class Rule:
    lookback_weeks: int = 4
    min_days: int = 3  # K
    of_days: int = 5  # M
    tolerance: timedelta = timedelta(minutes=30)
    grace: timedelta = timedelta(minutes=30)
    open_percentile: int = 50  # the window opens ``lead`` before this percentile of the near starts


@dataclass(frozen=True)
class LikelyStart:
    user: str
    profile: str
    pool: str
    at: datetime
    days: int  # working days with a start near ``at``
    of_days: int  # working days looked at
    opens_for: datetime | None = None  # the earlier start the window opens for (None: ``at``)

    @property
    def early(self) -> datetime:
        return self.at if self.opens_for is None else self.opens_for

    def to_json(self) -> dict:
        out = {"user": self.user, "profile": self.profile, "at": self.at.isoformat(),
               "days": self.days, "of_days": self.of_days}
        if self.opens_for is not None and self.opens_for != self.at:
            out["opens_for"] = self.opens_for.isoformat()
        return out


@dataclass(frozen=True)
class Window:
    pool: str
    start: datetime
    end: datetime
    starts: tuple[LikelyStart, ...]
    nodes: int = 1
    lane: int = 0  # which of the pool's warm nodes (0, 1, ...): windows on one lane never overlap

    @property
    def users(self) -> list[str]:
        return sorted({s.user for s in self.starts})

    @property
    def hours(self) -> float:
        return (self.end - self.start).total_seconds() / 3600


@dataclass
class Capped:
    """A likely start that ``max_warm_nodes`` leaves without a node of its own (it shares one)."""

    window: Window
    wanted: int
    allowed: int


def likely_starts(records: Iterable[StartRecord], day: date, tz: tzinfo, calendar: WorkCalendar,
                  rule: Rule) -> list[LikelyStart]:
    """Every likely start on ``day`` (which should be a working day), earliest first."""
    days = calendar.working_days_before(day, rule.of_days, not_before=day - timedelta(weeks=rule.lookback_weeks))
    looked_at = set(days)
    points: dict[tuple[str, str], list[tuple[date, int, str]]] = defaultdict(list)
    for r in records:
        local = r.start.astimezone(tz)
        if local.date() in looked_at:
            points[(r.user, r.profile)].append((local.date(), local.hour * 60 + local.minute, r.pool))
    tol = rule.tolerance.total_seconds() / 60
    out = []
    for (user, profile), pts in sorted(points.items()):
        pool = max(pts)[2]  # the pool of the latest start
        remaining = sorted(pts, key=lambda p: p[1])
        while remaining:
            def near(centre: int) -> list[tuple[date, int, str]]:
                return [p for p in remaining if abs(p[1] - centre) <= tol]

            best = max((p[1] for p in remaining), key=lambda m: (len({p[0] for p in near(m)}), -m))
            cluster = near(best)
            seen = len({p[0] for p in cluster})
            if seen < rule.min_days:
                break
            minutes = sorted(p[1] for p in cluster)
            minute = int(statistics.median_low(minutes))
            at = datetime.combine(day, time(minute // 60, minute % 60), tzinfo=tz)
            early = _nearest_rank(minutes, rule.open_percentile)
            opens_for = datetime.combine(day, time(early // 60, early % 60), tzinfo=tz) if early < minute else None
            out.append(LikelyStart(user, profile, pool, at, seen, len(days), opens_for))
            remaining = [p for p in remaining if p not in cluster]
    return sorted(out, key=lambda s: (s.at, s.user, s.profile))


def windows(starts: Iterable[LikelyStart], lead: Mapping[str, float], rule: Rule,
            max_nodes: Mapping[str, int]) -> tuple[list[Window], list[Capped]]:
    """Warm windows per pool, each holding one node (earliest first), and the starts ``max_nodes`` shares out.

    Each likely start asks for one node from ``early - lead`` to ``at + grace``. Windows that overlap
    need different nodes (a GPU user pod takes a whole node), so they are laid on the fewest nodes,
    each a numbered *lane* (greedy interval partitioning). Every window keeps its own start and end:
    a node for a later start is not paid for from an earlier one's opening. A start that would need
    a lane beyond the pool's ``max_nodes`` shares the lane that frees first (that window is extended
    to cover it, and is the one node for both); it is reported as :class:`Capped`.
    """
    by_pool: dict[str, list[Window]] = defaultdict(list)
    for s in starts:
        by_pool[s.pool].append(Window(s.pool, s.early - timedelta(seconds=lead[s.pool]), s.at + rule.grace, (s,)))
    kept, capped = [], []
    for pool, singles in sorted(by_pool.items()):
        cap = max(int(max_nodes.get(pool, 1)), 0)
        lanes: list[Window] = []  # the last window laid on each lane
        for w in sorted(singles, key=lambda w: (w.start, w.end)):
            free = [i for i, last in enumerate(lanes) if last.end <= w.start]
            if free or len(lanes) < cap:
                lane = free[0] if free else len(lanes)
                placed = Window(pool, w.start, w.end, w.starts, 1, lane)
                lanes[lane:lane + 1] = [placed]
                kept.append(placed)
            elif lanes:
                lane = min(range(len(lanes)), key=lambda i: (lanes[i].end, i))
                last = lanes[lane]
                shared = Window(pool, last.start, max(last.end, w.end), last.starts + w.starts, 1, lane)
                kept[kept.index(last)] = lanes[lane] = shared
                capped.append(Capped(w, cap + 1, cap))
            else:
                capped.append(Capped(w, 1, 0))
    return sorted(kept, key=lambda w: (w.start, w.pool, w.lane)), capped


def _nearest_rank(ordered: list[int], q: int) -> int:
    """The q-th percentile (0..100) of sorted values, nearest rank (q 0: the first)."""
    return int(ordered[max(0, min(len(ordered) - 1, -(-len(ordered) * q // 100) - 1))])
