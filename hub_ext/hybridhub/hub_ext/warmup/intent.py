"""Warming on intent: a user chose a GPU profile on the spawn form, so start its node now.

The same budget stop as the plan applies (the warm-up is priced as ``hold`` of the pool's
node), and each user gets at most one warm-up on intent per ``min_interval``: flipping
between profiles on the form does not bring up one node per click.  A granted warm-up is one
placeholder pod (:func:`intent_placeholder`) from now until ``until``, carried out and ended by
the day's :class:`~.actuator_runner.WarmupRunner` like a planned one; when the user submits the
form before its node joined, the spawner deletes it and the node on its way is theirs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from fractions import Fraction
from typing import Callable, Mapping

from hybridhub.spawner.profiles import Profile

from ..cost.money import exact_str
from .budget_stop import NO_PRICE, BudgetStop, BudgetView, window_cost
from .manifest import INTENT, ORIGIN_LABEL, placeholder_pod, window_id

WARM_ON_INTENT = "warm_on_intent"
NOT_GPU = "not_gpu"
UNKNOWN_PROFILE = "unknown_profile"
RATE_LIMITED = "rate_limited"
WARMUP_STARTING = "warmup_starting"  # the warm-up has not made its first look yet


@dataclass(frozen=True)
class IntentDecision:
    warm: bool
    reason: str
    pool: str | None = None
    until: datetime | None = None
    cost: Fraction | None = None

    def to_json(self) -> dict:
        return {"warm": self.warm, "reason": self.reason, "pool": self.pool,
                "until": self.until.isoformat() if self.until else None,
                "cost": None if self.cost is None else exact_str(self.cost, 2)}


class IntentGate:
    """Decides warm-ups on intent; remembers each user's last granted one (in memory)."""

    def __init__(self, profiles: Callable[[str], Profile | None], prices: Callable[[], Mapping[str, Fraction]],
                 budget: Callable[[], BudgetView], min_interval: timedelta, hold: timedelta):
        self.profiles = profiles
        self.prices = prices
        self.budget = budget
        self.min_interval = min_interval
        self.hold = hold
        self._last: dict[str, datetime] = {}

    def on_intent(self, user: str, profile: str, now: datetime) -> IntentDecision:
        chosen = self.profiles(profile)
        if chosen is None:
            return IntentDecision(False, UNKNOWN_PROFILE)
        pool = chosen.pool.name
        if not chosen.gpus:
            return IntentDecision(False, NOT_GPU, pool)
        last = self._last.get(user)
        if last is not None and now - last < self.min_interval:
            return IntentDecision(False, RATE_LIMITED, pool, until=last + self.min_interval)
        prices = self.prices()
        if pool not in prices:
            return IntentDecision(False, NO_PRICE, pool)
        until = now + self.hold
        cost = window_cost(prices[pool], now, until)
        refused = BudgetStop(self.budget()).admit(cost)
        if refused:
            return IntentDecision(False, refused, pool, cost=cost)
        self._last[user] = now
        return IntentDecision(True, WARM_ON_INTENT, pool, until=until, cost=cost)


def intent_placeholder(profile: Profile, decision: IntentDecision, now: datetime, namespace: str,
                       priority_class: str, image: str) -> dict:
    """The placeholder of a granted warm-up on intent, as :func:`.schedule.placeholders_for` gives
    planned ones (``{"start", "end", "manifest"}``).  Its labels name the pool, the profile and the
    origin, never the user."""
    pool = profile.pool.name
    window = window_id(pool, now.isoformat(), decision.until.isoformat(), index=0)
    manifest = placeholder_pod(profile, window, namespace, priority_class, image)
    manifest["metadata"]["labels"][ORIGIN_LABEL] = INTENT
    return {"start": now.isoformat(), "end": decision.until.isoformat(), "manifest": manifest}
