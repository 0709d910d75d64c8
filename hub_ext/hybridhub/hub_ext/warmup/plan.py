"""The warm-up plan of one working day: per GPU pool, its warm windows and what was dropped.

JSON for an admin page::

    {"date": "2026-12-08", "timezone": "Asia/Tokyo", "reason": null | "no_history" | ...,
     "pools": [{"date": ..., "pool": "gpua10",
                "windows": [{"start", "end", "users", "nodes", "lane", "reason": "likely_start",
                             "starts": [{"user", "profile", "at", "days", "of_days"}], "cost"}],
                "dropped": [{"start", "end", "users", "nodes", "reason", "cost", ...figures}],
                "total_cost": "..."}],
     "total_cost": "..."}

Costs are decimal strings (as in the cost service's report).  Windows are admitted against
the budget in time order across all pools, so the morning's windows come first.
"""

from __future__ import annotations

from datetime import date, tzinfo
from fractions import Fraction
from typing import Iterable, Mapping

from ..cost.money import exact_str
from .budget_stop import NO_PRICE, BudgetStop, BudgetView, window_cost
from .calendar import WorkCalendar
from .history import StartRecord
from .predict import Rule, Window, likely_starts, windows

LIKELY_START = "likely_start"
NO_HISTORY = "no_history"
NOT_A_WORKING_DAY = "not_a_working_day"
NO_LIKELY_STARTS = "no_likely_starts"
MAX_WARM_NODES = "max_warm_nodes"


def _entry(window: Window, reason: str, cost: Fraction | None, nodes: int | None = None) -> dict:
    return {
        "start": window.start.isoformat(), "end": window.end.isoformat(), "users": window.users,
        "nodes": window.nodes if nodes is None else nodes, "lane": window.lane, "reason": reason,
        "starts": [s.to_json() for s in window.starts],
        "cost": None if cost is None else exact_str(cost, 2),
    }


def plan(records: Iterable[StartRecord], day: date, tz: tzinfo, calendar: WorkCalendar, rule: Rule,
         gpu_pools: Iterable[str], lead: Mapping[str, float], max_nodes: Mapping[str, int],
         prices: Mapping[str, Fraction], budget: BudgetView) -> dict:
    """The plan for ``day``; ``lead`` is seconds per pool, ``prices`` the node price per hour per pool."""
    pools = sorted(set(gpu_pools))
    gpu = set(pools)
    records = [r for r in records if r.pool in gpu]
    result: dict = {"date": day.isoformat(), "timezone": str(tz), "reason": None, "pools": [],
                    "total_cost": exact_str(Fraction(0), 2)}
    per_pool = {p: {"date": day.isoformat(), "pool": p, "windows": [], "dropped": [], "total_cost": Fraction(0)}
                for p in pools}
    if not records:
        result["reason"] = NO_HISTORY
    elif not calendar.is_working_day(day):
        result["reason"] = NOT_A_WORKING_DAY
    else:
        starts = likely_starts(records, day, tz, calendar, rule)
        if not starts:
            result["reason"] = NO_LIKELY_STARTS
        kept, capped = windows(starts, lead, rule, max_nodes)
        for c in capped:
            per_pool[c.window.pool]["dropped"].append(
                _entry(c.window, MAX_WARM_NODES, None, nodes=c.wanted - c.allowed) | {"max_warm_nodes": c.allowed})
        stop = BudgetStop(budget)
        for w in kept:
            target = per_pool[w.pool]
            if w.pool not in prices:
                target["dropped"].append(_entry(w, NO_PRICE, None))
                continue
            cost = window_cost(prices[w.pool], w.start, w.end, w.nodes)
            refused = stop.admit(cost)
            if refused:
                target["dropped"].append(_entry(w, refused, cost) | stop.figures(cost))
            else:
                target["windows"].append(_entry(w, LIKELY_START, cost))
                target["total_cost"] += cost
    total = sum((p["total_cost"] for p in per_pool.values()), Fraction(0))
    result["pools"] = [p | {"total_cost": exact_str(p["total_cost"], 2)} for p in per_pool.values()]
    result["total_cost"] = exact_str(total, 2)
    return result
