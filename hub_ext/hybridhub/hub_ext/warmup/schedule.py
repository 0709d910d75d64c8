"""Glue for the hub: the next working day's plan from the configuration, and its placeholder pods.

``next_plan`` is what an admin page or the cost page shows; ``placeholders_for`` turns a plan's
kept windows into the Pod manifests that the next slice's :class:`.manifest.PlaceholderActuator`
creates at each window's start and deletes at its end (or when its node never joins).
"""

from __future__ import annotations

from datetime import date, datetime
from fractions import Fraction
from typing import Mapping

from hybridhub.spawner.coldstarts import ColdStartHistory
from hybridhub.spawner.profiles import ProfileCatalog

from .budget_stop import BudgetView
from .history import StartHistory
from .manifest import placeholder_pod, window_id
from .plan import plan
from .settings import WarmupPolicy, lead_seconds

NO_WORKING_DAY = "no_working_day"


def next_plan(policy: WarmupPolicy, catalog: ProfileCatalog, coldstarts: ColdStartHistory, history: StartHistory,
              prices: Mapping[str, Fraction], budget: BudgetView, now: datetime, day: date | None = None) -> dict:
    """The plan of ``day`` (default: the first working day after ``now`` in the site's zone).

    ``prices`` are the cost model's node prices per hour (the cost service's ``CostRecorder.prices``);
    ``budget`` its projection and budget (:meth:`.BudgetView.from_report`).
    """
    tz, calendar = policy.zone(), policy.calendar()
    day = day or calendar.next_working_day(now.astimezone(tz).date())
    if day is None:
        return {"date": None, "timezone": str(tz), "reason": NO_WORKING_DAY, "pools": [], "total_cost": "0"}
    pools = {name: pool for name, pool in catalog.pool_map().items() if pool.has_gpu}
    return plan(history.records(), day, tz, calendar, policy.rule(), pools, lead_seconds(pools, coldstarts),
                policy.max_nodes(pools), prices, budget)


def placeholders_for(day_plan: dict, catalog: ProfileCatalog, policy: WarmupPolicy, namespace: str) -> list[dict]:
    """One placeholder pod per node of each kept window, each with the window's start and end.

    The pod has the resources of the largest profile among the window's likely starts, so any of
    those users' pods fits the node it holds.  Returns ``[{"start", "end", "users", "manifest"}]``
    (the users for the runner only: a placeholder carries no user name).
    """
    out = []
    for pool in day_plan.get("pools", []):
        for w in pool["windows"]:
            profiles = [p for p in (catalog.get(s["profile"]) for s in w["starts"]) if p is not None]
            if not profiles:
                continue
            profile = max(profiles, key=lambda p: (p.gpus, p.cpu_request, p.slug))
            for index in range(w["nodes"]):
                wid = window_id(pool["pool"], w["start"], w["end"], w.get("lane", 0) + index)
                manifest = placeholder_pod(profile, wid, namespace, policy.priority_class, policy.pause_image)
                out.append({"start": w["start"], "end": w["end"], "users": list(w["users"]), "manifest": manifest})
    return out
