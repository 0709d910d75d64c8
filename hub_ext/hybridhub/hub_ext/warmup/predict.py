"""The next working day's likely GPU starts, and the warm windows they call for.

A person's start is *likely* at a time of day when, among the last ``of_days`` working days
(looking back at most ``lookback_weeks`` weeks), they started the same profile within
± ``tolerance`` of that time on at least ``min_days`` of them.  Each likely start asks for a
node from ``start - lead`` (the pool's measured cold-start median, so the node is Ready when
the person arrives) to ``start + grace``.  Overlapping windows of a pool merge into one; its
``nodes`` is how many of them overlap at once, capped by the pool's ``max_warm_nodes``.
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

    @property
    def users(self) -> list[str]:
        return sorted({s.user for s in self.starts})

    @property
    def hours(self) -> float:
        return (self.end - self.start).total_seconds() / 3600


@dataclass
class Capped:
    """Part of a merged window that ``max_warm_nodes`` leaves out."""

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
    """Merged warm windows per pool (earliest first), and the merges that hit ``max_nodes``."""
    by_pool: dict[str, list[Window]] = defaultdict(list)
    for s in starts:
        by_pool[s.pool].append(Window(s.pool, s.early - timedelta(seconds=lead[s.pool]), s.at + rule.grace, (s,)))
    merged, capped = [], []
    for pool, singles in sorted(by_pool.items()):
        singles.sort(key=lambda w: w.start)
        groups: list[list[Window]] = []
        for w in singles:
            if groups and w.start <= max(g.end for g in groups[-1]):
                groups[-1].append(w)
            else:
                groups.append([w])
        for group in groups:
            wanted = _peak(group)
            allowed = min(wanted, max(int(max_nodes.get(pool, 1)), 0))
            window = Window(pool, group[0].start, max(g.end for g in group),
                            tuple(s for g in group for s in g.starts), allowed)
            if allowed < wanted:
                capped.append(Capped(window, wanted, allowed))
            if allowed > 0:
                merged.append(window)
    return sorted(merged, key=lambda w: (w.start, w.pool)), capped


def _nearest_rank(ordered: list[int], q: int) -> int:
    """The q-th percentile (0..100) of sorted values, nearest rank (q 0: the first)."""
    return int(ordered[max(0, min(len(ordered) - 1, -(-len(ordered) * q // 100) - 1))])


def _peak(group: list[Window]) -> int:
    """The most windows of ``group`` open at one moment."""
    events = sorted([(w.start, 1) for w in group] + [(w.end, -1) for w in group], key=lambda e: (e[0], e[1]))
    peak = current = 0
    for _, step in events:
        current += step
        peak = max(peak, current)
    return peak
