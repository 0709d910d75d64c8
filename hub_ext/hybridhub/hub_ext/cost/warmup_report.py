"""The warm-up on the cost page: today's plan, and this month's warm-ups from the log — pure.

:func:`month_by_pool` sums ``warmup-log.jsonl`` (:mod:`hybridhub.hub_ext.warmup.actuator_log`) over
the accounting month: per pool, how many warm-ups (and how many of them were asked for on the spawn
form, ``on_intent``), their cost, their outcomes (used / wasted / never_joined / budget_stop) and the
waiting they saved.  :func:`warmup_report` is the JSON of
``/api/warmup``; :func:`warmup_view` turns it into display strings in the page's language (reason
codes translated by :mod:`hybridhub.hub_ext.warmup.i18n`).
"""

from __future__ import annotations

from datetime import datetime
from fractions import Fraction
from typing import Iterable, Mapping

from ..warmup import i18n as warmup_i18n
from ..warmup.actuator_log import BUDGET_STOP, NEVER_JOINED, USED, WASTED
from ..warmup.manifest import INTENT
from .i18n import text
from .money import exact_str, format_amount

OUTCOMES = (USED, WASTED, NEVER_JOINED, BUDGET_STOP)
NO_DECIMALS = {"JPY", "KRW"}


def _time(value) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None


def month_by_pool(entries: Iterable[Mapping], month_start: str, month_end: str) -> list[dict]:
    """Warm-ups that ended in ``[month_start, month_end)``, summed per pool (amounts as decimal strings)."""
    start, end = _time(month_start), _time(month_end)
    pools: dict[str, dict] = {}
    for e in entries:
        ended = _time(e.get("ended"))
        if ended is None or start is None or end is None or not start <= ended < end:
            continue
        row = pools.setdefault(str(e.get("pool")), {"pool": str(e.get("pool")), "warmups": 0, "on_intent": 0,
                                                     "cost": Fraction(0), "node_seconds": 0.0,
                                                     "wait_saved_seconds": 0.0, "outcomes": dict.fromkeys(OUTCOMES, 0)})
        row["warmups"] += 1
        row["on_intent"] += e.get("origin") == INTENT
        row["cost"] += Fraction(str(e.get("cost") or "0"))
        row["node_seconds"] += float(e.get("node_seconds") or 0)
        row["wait_saved_seconds"] += float(e.get("wait_saved_seconds") or 0)
        outcome = e.get("outcome")
        if outcome in row["outcomes"]:
            row["outcomes"][outcome] += 1
    return [r | {"cost": exact_str(r["cost"], 2), "node_seconds": round(r["node_seconds"], 1),
                 "wait_saved_seconds": round(r["wait_saved_seconds"], 1)} for _, r in sorted(pools.items())]


def budget_stops(entries: Iterable[Mapping], month_start: str, month_end: str) -> list[dict]:
    """This month's warm-ups ended by the budget, with their reason code."""
    start, end = _time(month_start), _time(month_end)
    return [{"pool": e.get("pool"), "ended": e.get("ended"), "reason": e.get("reason")} for e in entries
            if e.get("outcome") == BUDGET_STOP and (t := _time(e.get("ended"))) and start and end and start <= t < end]


def warmup_report(status: Mapping | None, entries: list[Mapping], month: Mapping) -> dict:
    """The JSON of ``/api/warmup``: ``status`` is :meth:`.warmup_loop.WarmupLoop.status` (None: disabled)."""
    if status is None:
        return {"enabled": False, "today": None, "next": None, "stopped": None, "refused": [], "placeholders": [],
                "last_error": None, "month": {"start": month["start"], "end": month["end"], "pools": [],
                                              "budget_stops": []}}
    return {**status, "month": {"start": month["start"], "end": month["end"],
                                "pools": month_by_pool(entries, month["start"], month["end"]),
                                "budget_stops": budget_stops(entries, month["start"], month["end"])}}


# -- display ----------------------------------------------------------------------------------
def money(amount, currency: str, language: str) -> str:
    if amount is None:
        return "—"
    figure = format_amount(Fraction(str(amount)), 0 if currency in NO_DECIMALS else 2)
    return text(language, "money_amount", amount=figure, currency=currency)


def hhmm(value: str | None) -> str:
    moment = _time(value) if value else None
    return moment.strftime("%H:%M") if moment else ""


def minutes(seconds: float, language: str) -> str:
    return text(language, "minutes", minutes=f"{round(seconds / 60):,}")


def reason(code: str | None, language: str, **values) -> str:
    return warmup_i18n.text(code, language, **values) if code else ""


def _window(w: Mapping, currency: str, language: str) -> dict:
    users = ", ".join(w.get("users") or [])
    return {"time": f"{hhmm(w.get('start'))}–{hhmm(w.get('end'))}", "users": users, "nodes": w.get("nodes", 0),
            "cost": money(w.get("cost"), currency, language),
            "reason": reason(w.get("reason"), language, users=users or "—")}


def warmup_view(report: Mapping, currency: str, language: str) -> dict:
    """Display strings of the warm-up section (the template lays them out, escaping every value)."""
    if not report.get("enabled"):
        return {"enabled": False, "disabled": text(language, "warmup_disabled")}
    today = report.get("today") or {}
    plan_pools = [{"pool": p["pool"], "total": money(p.get("total_cost"), currency, language),
                   "windows": [_window(w, currency, language) for w in p.get("windows", [])],
                   "dropped": [_window(w, currency, language) for w in p.get("dropped", [])]}
                  for p in today.get("pools", [])]
    stopped = report.get("stopped")
    month = [{"pool": r["pool"], "warmups": r["warmups"], "on_intent": r.get("on_intent", 0),
              "cost": money(r["cost"], currency, language),
              "outcomes": {k: r["outcomes"].get(k, 0) for k in OUTCOMES},
              "saved": minutes(r["wait_saved_seconds"], language)} for r in report["month"]["pools"]]
    return {
        "enabled": True,
        "date": today.get("date") or "",
        "no_plan": "" if today else text(language, "warmup_no_plan"),
        "plan_reason": reason(today.get("reason"), language),
        "plan_total": money(today.get("total_cost"), currency, language) if today else "",
        "plan_pools": plan_pools,
        "stopped": text(language, "warmup_stopped", reason=reason(stopped["reason"], language),
                        projected=money(stopped.get("projected"), currency, language),
                        budget=money(stopped.get("budget"), currency, language), at=hhmm(stopped.get("at")))
        if stopped else "",
        "refused": [{"pool": r.get("pool"), "at": hhmm(r.get("at")), "reason": reason(r.get("reason"), language)}
                    for r in report.get("refused", [])],
        "month": month,
        "outcome_names": {k: text(language, f"warmup_outcome_{k}") for k in OUTCOMES},
        "month_stops": [{"pool": s["pool"], "ended": s["ended"] or "", "reason": reason(s["reason"], language)}
                        for s in report["month"].get("budget_stops", [])],
        "last_error": text(language, "warmup_last_error", error=report["last_error"]["error"])
        if report.get("last_error") else "",
    }
