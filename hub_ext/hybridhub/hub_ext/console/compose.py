"""What the page shows, section by section, as plain data in the page's language — pure functions.

Each takes what a source gave (the doctor's results, the cost summary, the culler's decisions)
and returns rows of display strings; the template only lays them out (Jinja escapes every value).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction
from typing import Mapping, Sequence

from hybridhub.hub_ext.doctor import report as doctor_report
from hybridhub.hub_ext.doctor.check import FAIL, PASS, WARN, Result
from hybridhub.hub_ext.cost.i18n import text as cost_text
from hybridhub.hub_ext.cost.warmup_report import warmup_view
from hybridhub.hub_ext.doctor.i18n import text as doctor_text

from .chart import build_chart
from .humane import data_size, hours_minutes, local_time, money, parse_time, percent
from .i18n import text

STATUS_STYLE = {PASS: "success", WARN: "warning", FAIL: "danger"}
LEVEL_STYLE = {"ok": "success", "warning": "warning", "over": "danger"}
ACTION_STYLE = {"keep": "secondary", "warn": "warning", "cull": "danger"}


@dataclass
class DoctorRun:
    """The latest run of the doctor: its results, when it finished, how often it runs."""

    results: list[Result] | None
    finished_at: datetime | None
    interval_minutes: float
    config_file: str = ""


def doctor_section(run: DoctorRun, language: str, tz) -> dict:
    if run.results is None:
        return {"pending": text(language, "doctor_pending")}
    rows = []
    for result in run.results:
        item = doctor_report.as_dict(result, language)
        rows.append({"status": doctor_text(language, result.status), "style": STATUS_STYLE.get(result.status, "secondary"),
                     "title": item["title"], "saw": item["saw"], "fix": item["fix"] or ""})
    when = local_time(run.finished_at.isoformat(), tz) if run.finished_at else ""
    return {"headline": doctor_report.headline(run.results, language, run.config_file),
            "failed": doctor_report.counts(run.results)[FAIL] > 0,
            "when": text(language, "doctor_when", when=when, minutes=f"{run.interval_minutes:g}"),
            "rows": rows}


def summary_zone(summary: Mapping):
    """The accounting month's time zone, as the summary's month start carries it (an offset)."""
    start = parse_time(summary["month"]["start"])
    return start.tzinfo if start else None


def pools_section(summary: Mapping, language: str) -> list[dict]:
    cur = summary["currency"]
    return [{"name": p["name"], "vm_size": p["vm_size"], "up": p["nodes_up"] > 0,
             "state": text(language, "nodes_up", count=p["nodes_up"]) if p["nodes_up"] else text(language, "down"),
             "nodes": [node_row(node, summary, language) for node in p.get("nodes", [])],
             "node_time": hours_minutes(p["node_hours"], language), "cost": money(p["cost"], cur, language),
             "idle": money(p["idle_cost"], cur, language)} for p in summary["pools"]]


def node_row(node: Mapping, summary: Mapping, language: str) -> dict:
    """A node up now: since when (and for how long), and why — the servers on it, or none: idle,
    until the autoscaler removes it."""
    since, now = parse_time(node.get("since", "")), parse_time(summary["generated_at"])
    when = local_time(node.get("since", ""), summary_zone(summary))
    if since is None:
        up = ""
    elif now is not None and now >= since:
        up = text(language, "node_since", when=when, up_for=hours_minutes(Fraction(int((now - since).total_seconds()), 3600), language))
    else:  # a clock ahead of the summary's (the demo's fast Kubernetes stand-in): no negative time
        up = text(language, "node_since_only", when=when)
    return {"name": node["name"], "since": up,
            "why": text(language, "node_serves", servers=", ".join(node["servers"])) if node["servers"]
            else text(language, "node_idle"),
            "idle": not node["servers"]}


def servers_by_profile(summary: Mapping, language: str) -> list[dict]:
    """One row per profile that runs a server now or cost something this month (idle time apart)."""
    tz, cur = summary_zone(summary), summary["currency"]
    running: dict[str, list[Mapping]] = {}
    for server in summary["servers"]:
        running.setdefault(server.get("profile") or "", []).append(server)
    costs = {row["name"]: row["amount"] for row in summary["by_profile"] if not row["idle"]}
    rows = []
    for profile in sorted(set(running) | set(costs), key=lambda p: (-len(running.get(p, ())), p)):
        servers = running.get(profile, [])
        since = sorted(s["since"] for s in servers if s.get("since"))
        users = sorted({s["user"] + (f"/{s['server']}" if s.get("server") else "") for s in servers})
        rows.append({"profile": profile or "—", "count": len(servers), "users": ", ".join(users),
                     "since": local_time(since[0], tz) if since else "",
                     "cost": money(costs.get(profile, "0"), cur, language)})
    return rows


def cost_section(summary: Mapping, language: str) -> dict:
    cur = summary["currency"]
    budget = summary["budget"]
    chart = build_chart(summary, lambda amount: money(amount, cur, language))
    return {"as_of": text(language, "as_of", when=local_time(summary["generated_at"], summary_zone(summary))),
            "mtd": money(summary["month_to_date"]["total"], cur, language),
            "projection": money(summary["projection"]["total"], cur, language),
            "budget": money(budget["amount"], cur, language),
            "level": text(language, f"level_{budget['level']}", percent=percent(budget["projected_percent"])),
            "level_style": LEVEL_STYLE.get(budget["level"], "secondary"),
            "chart": chart, "axis_cost": text(language, "axis_cost", currency=cur)}


def _decision_row(entry: Mapping, language: str, tz) -> dict:
    action = entry.get("action", "")
    label = text(language, f"action_{action}") if action in ACTION_STYLE else action
    who = entry.get("user", "") + (f"/{entry['server']}" if entry.get("server") else "")
    return {"time": local_time(entry.get("time", ""), tz), "server": who, "profile": entry.get("profile", ""),
            "action": label, "style": ACTION_STYLE.get(action, "secondary"), "reason": entry.get("reason", ""),
            "outcome": entry.get("outcome", "")}


def decisions_section(decisions: Mapping, language: str, tz, recent: int = 20) -> dict:
    """The latest decision per server, and the last ``recent`` warnings and stops (newest first)."""
    latest = sorted(decisions.get("servers", {}).values(), key=lambda e: (e.get("user", ""), e.get("server", "")))
    acted: Sequence[Mapping] = [e for e in decisions.get("recent", []) if e.get("action") in ("warn", "cull")]
    return {"dry_run": bool(decisions.get("dry_run")),
            "latest": [_decision_row(e, language, tz) for e in latest],
            "recent": [_decision_row(e, language, tz) for e in list(acted)[::-1][:recent]]}



def warmup_section(summary: Mapping, language: str) -> dict | None:
    """The warm-up in the cost section: this month per pool and today's plan (the cost service's own
    display strings, :func:`hybridhub.hub_ext.cost.warmup_report.warmup_view`); None when the cost
    service runs no warm-up."""
    report = summary.get("warmup")
    if not isinstance(report, Mapping) or not report.get("enabled"):
        return None
    view = warmup_view(report, summary["currency"], language)
    labels = ("warmup", "warmup_month", "pool", "warmup_count", "warmup_on_intent", "cost", "warmup_saved",
              "warmup_none")
    today = cost_text(language, "warmup_plan_total", total=view["plan_total"]) if view["plan_total"] else view["no_plan"]
    return {**view, "today": today, "labels": {key: cost_text(language, key) for key in labels}}


TRANSFER_PLACES = 2  # the cost service's own precision (summary.amount): a month's transfer is often under 1 yen


def transfer_section(summary: Mapping, language: str) -> dict | None:
    """The month's measured data transfer in the cost section (``summary["transfer"]``, written by the
    cost service, cost/transfer.py ``month_figures``): GB into and out of the cloud, their cost, and
    what direct transfers and the cache saved. None when the summary has no transfer figures (a cost
    service from before issue 22)."""
    x = summary.get("transfer")
    if not isinstance(x, Mapping):
        return None
    cur = summary["currency"]

    def yen(amount: str) -> str:
        return money(amount, cur, language, TRANSFER_PLACES)

    labels = ("transfer", "transfer_in", "transfer_out", "transfer_cost")
    return {"gb_in": data_size(x["bytes_in"]), "gb_out": data_size(x["bytes_out"]), "cost": yen(x["cost"]),
            "saved": text(language, "transfer_saved", size=data_size(x["saved_bytes"]), cost=yen(x["saved_cost"]),
                          percent=x["saved_percent"]),
            "e": cost_text(language, "transfer_e", transfer=yen(x["cost"]), other=yen(x.get("other_per_month", "0"))),
            "labels": {key: cost_text(language, key) for key in labels}}
