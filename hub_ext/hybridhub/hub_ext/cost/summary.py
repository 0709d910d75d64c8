"""Everything the admin page, its JSON API, the CSV export and the budget guard show — pure.

:func:`build_summary` turns a :class:`~.recorder.CostRecorder` into one JSON-ready document for a
month as of ``now``: month-to-date terms and total, projection against the budget, per pool (node
hours, ``T_n``, cost, idle cost), per profile, per user (idle as its own line), cost per day and
pool, and the servers running now.  Amounts are decimal strings rounded to 2 places (``*_exact``
keeps 6).  :func:`summary_csv` flattens it into rows.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta, timezone, tzinfo
from fractions import Fraction
from typing import Mapping

from .budget import check_budget, month_bounds, month_to_date, project
from .ledger import HOUR, node_hours, to_micros
from .money import exact_str, to_decimal
from .recorder import CostRecorder

IDLE = "(idle)"


def amount(value: Fraction) -> str:
    return f"{to_decimal(value, 2):.2f}"


def _iso(micros: int) -> str:
    return (datetime(1970, 1, 1, tzinfo=timezone.utc) + timedelta(microseconds=micros)).isoformat().replace(
        "+00:00", "Z")


def _ranked(mapping: Mapping) -> list[dict]:
    rows = [{"name": IDLE if k is None else k, "idle": k is None, "amount": amount(v), "amount_exact": exact_str(v, 6)}
            for k, v in mapping.items()]
    return sorted(rows, key=lambda r: (r["idle"], -Fraction(r["amount_exact"]), r["name"]))


def _days(month_start: datetime, now: datetime) -> list[tuple[str, int, int]]:
    out, day = [], month_start
    while day < now:
        nxt = day + timedelta(days=1)
        out.append((day.date().isoformat(), to_micros(day), to_micros(min(nxt, now))))
        day = nxt
    return out


def _servers(rec: CostRecorder, hub_servers: Mapping[tuple[str, str], Mapping]) -> list[dict]:
    """Servers running now: placed on a node (from the pods) and/or known to the hub."""
    out = {}
    for key, s in rec.running.items():
        out[key] = {"user": s.user, "server": s.server_name, "profile": s.profile, "node": s.node,
                    "since": _iso(s.start)}
    for (user, name), s in hub_servers.items():
        row = out.setdefault((user, name), {"user": user, "server": name, "profile": s.get("profile") or "",
                                            "node": "", "since": s.get("started") or ""})
        row["ready"] = bool(s.get("ready"))
    return sorted(out.values(), key=lambda r: (r["since"], r["user"], r["server"]))


def _nodes_up(rec: CostRecorder, pool: str) -> list[dict]:
    """The pool's nodes up now: since when, and why (the servers placed on each; none: idle,
    waiting for the autoscaler to remove it)."""
    on_node: dict[str, list[str]] = {}
    for s in rec.running.values():
        on_node.setdefault(s.node, []).append(f"{s.user}/{s.server_name}" if s.server_name else s.user)
    nodes = [{"name": node, "since": "" if (since := rec.ledger.since(node)) is None else _iso(since),
              "servers": sorted(on_node.get(node, []))}
             for node, node_pool in rec.ledger.up_nodes().items() if node_pool == pool]
    return sorted(nodes, key=lambda n: (n["since"], n["name"]))


def build_summary(rec: CostRecorder, now_micros: int, budget: Fraction, warn_percent: Fraction = Fraction(80),
                  tz: tzinfo = timezone.utc, pool_info: Mapping[str, Mapping] | None = None,
                  hub_servers: Mapping[tuple[str, str], Mapping] | None = None) -> dict:
    """The month containing ``now_micros`` (calendar month in ``tz``), as of ``now_micros``;
    ``hub_servers`` (``{(user, server): {profile, started, ready}}``) adds the hub's view."""
    now_dt = datetime(1970, 1, 1, tzinfo=timezone.utc) + timedelta(microseconds=now_micros)
    start_dt, end_dt = month_bounds(now_dt, tz)
    start, end = to_micros(start_dt), to_micros(end_dt)
    now = max(now_micros, start + 1)
    intervals = rec.ledger.intervals()
    mtd = month_to_date(intervals, rec.prices, rec.fixed, start, end, now)
    projection = project(mtd, Fraction(end - start, HOUR), rec.fixed)
    status = check_budget(projection.total, budget, warn_percent, spent=mtd.total)
    split = rec.attribution(start, now)
    pool_cost, idle_cost = split.by_pool(), split.idle_by_pool()
    nh = node_hours(intervals, start, now, rec.prices)
    info = pool_info or {}
    pools = []
    for p in mtd.input.pools:
        pools.append({
            "name": p.name, "vm_size": info.get(p.name, {}).get("vm_size", ""),
            "price_per_hour": exact_str(p.vm_price_per_hour, 6),
            "node_hours": exact_str(nh.get(p.name, Fraction(0)), 6),
            "hours_at_node_count": [exact_str(t, 6) for t in p.hours_at_node_count],
            "cost": amount(pool_cost.get(p.name, Fraction(0))),
            "idle_cost": amount(idle_cost.get(p.name, Fraction(0))),
            "nodes_up": sum(1 for pool in rec.ledger.up_nodes().values() if pool == p.name),
            "nodes": _nodes_up(rec, p.name),
        })
    daily = []
    for day, a, b in _days(start_dt, min(now_dt, end_dt)):
        hours = node_hours(intervals, a, b, rec.prices)
        by_pool = {pool: rec.prices.get(pool, Fraction(0)) * h for pool, h in hours.items()}
        daily.append({"date": day, "by_pool": {k: amount(v) for k, v in by_pool.items()},
                      "total": amount(sum(by_pool.values(), Fraction(0)))})
    return {
        "currency": rec.fixed.currency,
        "generated_at": _iso(now_micros),
        "month": {"start": start_dt.isoformat(), "end": end_dt.isoformat(),
                  "elapsed_hours": exact_str(mtd.input.hours, 6)},
        "month_to_date": {"total": amount(mtd.total), "total_exact": exact_str(mtd.total, 6),
                          "terms": [{"key": t.key, "kind": t.kind, "label": t.label, "amount": amount(t.amount)}
                                    for t in mtd.terms]},
        "projection": {"total": amount(projection.total), "total_exact": exact_str(projection.total, 6)},
        "budget": {"amount": amount(status.budget), "level": status.level,
                   "projected_percent": exact_str(status.projected_percent, 1),
                   "warn_percent": exact_str(status.warn_percent, 2)},
        "pools": pools,
        "nodes_cost": amount(split.total),
        "by_profile": _ranked(split.by_profile()),
        "by_user": _ranked(split.by_user()),
        "daily": daily,
        "servers": _servers(rec, hub_servers or {}),
    }


def _cell(value: str) -> str:
    """Text a spreadsheet would run as a formula (``=``, ``+``, ``-``, ``@`` first) gets a ``'``."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def summary_csv(summary: Mapping) -> str:
    """One row per figure: ``section,name,detail,amount,currency``."""
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\r\n")
    cur = summary["currency"]
    w.writerow(["section", "name", "detail", "amount", "currency"])
    w.writerow(["month_to_date", "total", summary["month"]["start"], summary["month_to_date"]["total"], cur])
    for t in summary["month_to_date"]["terms"]:
        w.writerow(["term", t["key"], t["label"], t["amount"], cur])
    w.writerow(["projection", "total", summary["month"]["end"], summary["projection"]["total"], cur])
    w.writerow(["budget", summary["budget"]["level"], f'{summary["budget"]["projected_percent"]} %',
                summary["budget"]["amount"], cur])
    for p in summary["pools"]:
        w.writerow(["pool", p["name"], f'{p["node_hours"]} node-h', p["cost"], cur])
        w.writerow(["pool_idle", p["name"], "", p["idle_cost"], cur])
        for n, t in enumerate(p["hours_at_node_count"]):
            w.writerow(["T_n", p["name"], f"n={n}", t, "h"])
    for section in ("by_profile", "by_user"):
        for row in summary[section]:
            w.writerow([section.removeprefix("by_"), _cell(row["name"]), "", row["amount"], cur])
    for day in summary["daily"]:
        for pool, value in day["by_pool"].items():
            w.writerow(["daily", day["date"], pool, value, cur])
    return out.getvalue()
