"""The warm-up inside the cost service: the day's plan made, kept and carried out (issue 21).

The cost service already holds what the warm-up needs: the Kubernetes ``ApiClient``, the cost
model's node prices and the month's projection against the budget.  When
``c.WarmupService.enabled`` is true, :class:`WarmupLoop` looks every ``c.WarmupPolicy.tick_seconds``:

- at ``c.WarmupService.plan_at`` (site time, ``c.WarmupPolicy.timezone``) it makes the plan of the
  next working day (:func:`hybridhub.hub_ext.warmup.schedule.next_plan`) and keeps it in
  ``plan_file``; a plan once kept is not made again (restarts, later looks);
- on a working day with no kept plan (first start, a service that was down in the evening) it
  makes today's plan at once from the history before today, and keeps it;
- today's kept plan is what the :class:`~hybridhub.hub_ext.warmup.actuator_runner.WarmupRunner`
  carries out: a fresh runner each day, ticked with the service's clock;
- a GPU profile chosen on the spawn form (:meth:`WarmupLoop.on_intent`) gets a placeholder at once,
  within the same budget stop, when :class:`~hybridhub.hub_ext.warmup.intent.IntentGate` allows it.

A failed look (API server unreachable, a damaged file) is logged by its type only (no URL, no
token) and the next look tries again; it never stops the cost service.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from typing import Callable

from traitlets import Bool, Unicode, TraitError, validate
from traitlets.config import Configurable

from hybridhub.spawner.coldstarts import ColdStartHistory
from hybridhub.spawner.profiles import ProfileCatalog

from ..warmup.actuator_log import WarmupLog
from ..warmup.actuator_setup import runner_for
from ..warmup.budget_stop import BudgetView
from ..warmup.history import StartHistory
from ..warmup.intent import WARMUP_STARTING, IntentDecision, IntentGate, intent_placeholder
from ..warmup.schedule import next_plan, placeholders_for
from ..warmup.settings import WarmupPolicy

LOG = logging.getLogger("hybridhub.warmup")
KEEP_PLANS = 14  # days of kept plans (today's and the next one are what matter)


class WarmupService(Configurable):
    """``c.WarmupService.*``: whether and when the cost service runs the warm-up."""

    enabled = Bool(False, config=True, help="""Run the predictive warm-up of GPU nodes in the cost service
        (placeholder pods from ``c.WarmupPolicy``). Off by default: warm-ups spend money and create pods
        in the cluster, so an admin turns them on after reviewing c.WarmupPolicy, the pools' prices and
        the cost service's RBAC (helm-values: hybridhub-warmup Role).""")
    plan_at = Unicode("18:00", config=True, help="""Site time (HH:MM, c.WarmupPolicy.timezone) at which the
        next working day's plan is made and kept; that plan is carried out on its day.""")
    plan_file = Unicode("", config=True, help="""JSON file keeping the plans (default:
        ``warmup-plans.json`` next to the cost service's state). Put it on the persistent volume.""")
    cold_start_history_path = Unicode("cold-starts.json", config=True, help="""The spawner's cold-start
        history (``c.HybridKubeSpawner.cold_start_history_path``): each pool's lead time.""")

    @validate("plan_at")
    def _valid_plan_at(self, proposal):
        plan_time(proposal["value"])
        return proposal["value"]


def plan_time(text: str) -> time:
    try:
        hours, minutes = (int(part) for part in text.split(":"))
        return time(hours, minutes)
    except ValueError:
        raise TraitError(f"WarmupService.plan_at: {text!r} is not a time HH:MM (e.g. 18:00)") from None


class PlanStore:
    """The kept plans, by day (``{"plans": {"2027-01-15": {...plan, "made_at"}}}``), written atomically."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)

    def load(self) -> dict[str, dict]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:  # damaged: the plans are made again, the service still starts
            LOG.warning("warm-up: cannot read the kept plans %s (%s); making them again", self.path,
                        type(exc).__name__)
            return {}
        plans = data.get("plans") if isinstance(data, dict) else None
        return {k: v for k, v in (plans or {}).items() if isinstance(v, dict)}

    def save(self, plans: dict[str, dict]) -> None:
        kept = dict(sorted(plans.items())[-KEEP_PLANS:])
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text(json.dumps({"plans": kept}, ensure_ascii=False), encoding="utf-8")
        os.replace(tmp, self.path)


class WarmupLoop:
    """Makes and keeps the plans, and runs today's with a :class:`WarmupRunner`."""

    def __init__(self, settings: WarmupService, policy: WarmupPolicy, catalog: ProfileCatalog, namespace: str,
                 prices: Callable[[], dict], budget: Callable[[], BudgetView], now: Callable[[], datetime]):
        self.settings, self.policy, self.catalog, self.namespace = settings, policy, catalog, namespace
        self.prices, self.budget, self.now = prices, budget, now
        self.store = PlanStore(settings.plan_file)
        self.plans = self.store.load()
        self.coldstarts = ColdStartHistory(settings.cold_start_history_path)
        self.history = StartHistory(policy.history_file, policy.keep_days)
        self.log = WarmupLog(policy.log_file)
        self.runner = None
        self.runner_day: str | None = None
        self.last_error: dict | None = None
        self.gate = IntentGate(catalog.get, prices, budget, timedelta(seconds=policy.intent_min_interval_seconds),
                               timedelta(seconds=policy.intent_hold_seconds))

    def local_day(self, now: datetime) -> date:
        return now.astimezone(self.policy.zone()).date()

    def _make(self, now: datetime, day: date | None) -> dict:
        plan = next_plan(self.policy, self.catalog, self.coldstarts, self.history, self.prices(), self.budget(),
                         now, day=day)
        return {**plan, "made_at": now.isoformat()}

    def keep_plans(self, now: datetime) -> None:
        """Today's plan (made now if none was kept) and, from ``plan_at``, the next working day's."""
        today = self.local_day(now)
        changed = False
        if today.isoformat() not in self.plans and self.policy.calendar().is_working_day(today):
            self.plans[today.isoformat()] = self._make(now, today)
            changed = True
        local = now.astimezone(self.policy.zone())
        if local.time() >= plan_time(self.settings.plan_at):
            following = self.policy.calendar().next_working_day(today)
            if following is not None and following.isoformat() not in self.plans:
                self.plans[following.isoformat()] = self._make(now, following)
                changed = True
        if changed:
            self.store.save(self.plans)

    def today_plan(self, now: datetime) -> dict | None:
        return self.plans.get(self.local_day(now).isoformat())

    def next_plan(self, now: datetime) -> dict | None:
        later = sorted(k for k in self.plans if k > self.local_day(now).isoformat())
        return self.plans[later[0]] if later else None

    def plans_to_run(self, day: str) -> list[str]:
        """Today's kept plan, and the one kept before it: a placeholder of that day still in the
        cluster (the service was down when its window ended, or it spans midnight) is ended too."""
        earlier = sorted(k for k in self.plans if k < day)[-1:]
        return earlier + ([day] if day in self.plans else [])

    async def step(self, api_client) -> None:
        """One look: plans kept, today's runner (re)built at a new day, the runner ticked (in site time)."""
        now = self.now().astimezone(self.policy.zone())
        self.keep_plans(now)
        day = self.local_day(now).isoformat()
        if self.runner_day != day:
            runner = runner_for(self.policy, self.catalog, self.coldstarts, api_client, self.namespace,
                                self.prices(), self.budget)
            if self.runner is not None:  # a window open across midnight is still watched to its end
                runner.held.update({k: h for k, h in self.runner.held.items() if h.created and not h.outcome})
            for kept in self.plans_to_run(day):  # the previous kept day's too: its placeholders left
                runner.load(placeholders_for(self.plans[kept], self.catalog, self.policy, self.namespace))
            self.runner, self.runner_day = runner, day
        await self.runner.tick(now)

    async def on_intent(self, user: str, slug: str) -> IntentDecision:
        """``user`` chose profile ``slug`` on the spawn form: warm its pool's node now if allowed.

        A node already warm or on its way for the plan is not counted as theirs: it is there for the
        users predicted to come, and a second node for 15 minutes costs little next to a cold start."""
        now = self.now().astimezone(self.policy.zone())
        if self.runner is None:
            return IntentDecision(False, WARMUP_STARTING)
        decision = self.gate.on_intent(user, slug, now)
        if not decision.warm:
            return decision
        placeholder = intent_placeholder(self.catalog.get(slug), decision, now, self.namespace,
                                         self.policy.priority_class, self.policy.pause_image)
        refused = await self.runner.start_now(placeholder, now)
        if refused:  # the budget moved between the gate and the runner's own look
            return IntentDecision(False, refused, decision.pool)
        LOG.info("warm-up on intent: a placeholder in pool %s until %s", decision.pool, decision.until.isoformat())
        return decision

    async def run(self, api_client, sleep=asyncio.sleep) -> None:
        """Look every ``tick_seconds`` until cancelled, with the cost service's ``ApiClient``."""
        while True:
            try:
                await self.step(api_client)
                self.last_error = None
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - one failed look never stops the cost service
                error = type(exc).__name__ + (f" {exc.status}" if isinstance(getattr(exc, "status", None), int) else "")
                self.last_error = {"at": self.now().isoformat(), "error": error}
                LOG.warning("warm-up: a look failed (%s); trying again in %.0f s", error, self.policy.tick_seconds)
            await sleep(self.policy.tick_seconds)

    def status(self) -> dict:
        """Everything the warm-up page shows, as JSON (plans, the runner's state, the log)."""
        now = self.now().astimezone(self.policy.zone())
        runner = self.runner.status() if self.runner is not None and self.runner_day == self.local_day(now).isoformat() \
            else {"stopped": None, "refused": [], "placeholders": []}
        return {"enabled": True, "now": now.isoformat(), "today": self.today_plan(now), "next": self.next_plan(now),
                **runner, "last_error": self.last_error}


def from_micros(micros: int) -> datetime:
    return datetime(1970, 1, 1, tzinfo=timezone.utc) + timedelta(microseconds=micros)
