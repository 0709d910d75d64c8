"""The hindsight reference of benchmarks/warmup.py: the cheapest fixed warm window per person, chosen
knowing the whole measured month.

No warm-up policy can know the month it plans for: it plans each day from the days before. This
module looks at the month itself and picks, for each person, ONE window (the same minutes of the
day on every working day, or none) so that the team's p90 wait stays under a limit at the least
warm-up cost. The benchmark replays those windows through the same stand-in, runner and cost
model as the policy (run ``c_hindsight``), so the cost it measures is what fixed windows that knew
the month would pay. When a person's days are independent of each other (as in the default
trace), a plan made from the days before cannot expect to do better: if the reference misses a
goal, the policy can meet it only by luck; if it meets it, the gap to the policy is the price of
not knowing.

The choice uses a small model of a warm start (measured figures of run (a) go in):

* the runner creates the placeholder up to ``tick`` seconds after the window opens; its node and
  image are ready ``ready`` seconds after that (the slower cold starts of (a), its p90: a start 300 s
  into a window waited 364 s with (a)'s median, 604 s, taken for ``ready``);
* a person who starts before the window opens finds no node (``already_here``): a cold start;
* one who starts at or after its end finds the node released: a cold start, and the window was paid;
* one who starts while the node boots takes it and waits for the rest; after, waits ~nothing;
* a window pays its node from its opening to the person's start, or, when nobody comes, to its
  end plus the autoscaler's ``release`` (scale-down-unneeded-time).

Then, per person, the cheapest window for each number of starts it leaves over the limit, and
across people the cheapest combination that leaves at most as many as the p90 allows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, tzinfo
from typing import Iterable, Mapping

from warmup_trace import Session


@dataclass(frozen=True)
class FixedWindow:
    user: str
    profile: str
    opens: int  # minutes after local midnight
    closes: int
    cost: float  # the model's warm-up cost over the measured days (yen)
    over_limit: int  # the person's measured starts that the model has waiting over the limit


@dataclass(frozen=True)
class Model:
    ready_s: float  # request to a usable warm node (the cold start of run (a))
    limit_s: float  # a start waiting longer than this counts against the p90
    tick_s: float = 15.0  # the runner's look interval
    release_s: float = 300.0  # the autoscaler's scale-down-unneeded-time

    def judge(self, opens: int, closes: int, arrivals: list[int | None], price_per_minute: float) -> tuple[float, int]:
        """(cost, starts over the limit) of one fixed window over a person's days (minutes; None: away)."""
        cost, over = 0.0, 0
        open_s, held_s = opens * 60 + self.tick_s, (closes - opens) * 60 + self.release_s
        for arrival in arrivals:
            if arrival is None:
                cost += held_s / 60 * price_per_minute
                continue
            at = arrival * 60
            if at < open_s - self.tick_s:
                over += 1  # came before the window: no node is asked for
            elif arrival >= closes:  # the runner deletes the placeholder at its first look from the end on
                over += 1
                cost += held_s / 60 * price_per_minute
            else:
                cost += max(0.0, at - open_s) / 60 * price_per_minute
                over += (open_s + self.ready_s - at) > self.limit_s
        return cost, over


def arrivals_by_user(sessions: Iterable[Session], days: list[date], tz: tzinfo) -> dict[str, tuple[str, list]]:
    """user -> (their profile, the minute of their first start on each day, None when away)."""
    firsts: dict[str, dict[date, int]] = {}
    profiles: dict[str, str] = {}
    for s in sorted(sessions, key=lambda s: s.start):
        local = s.start.astimezone(tz)
        if local.date() in days:
            firsts.setdefault(s.user, {}).setdefault(local.date(), local.hour * 60 + local.minute)
            profiles.setdefault(s.user, s.profile)
    return {u: (profiles[u], [firsts[u].get(d) for d in days]) for u in sorted(firsts)}


def best_windows(arrivals: Mapping[str, tuple[str, list]], prices_per_hour: Mapping[str, float], model: Model,
                 allowed_over: int, margin_minutes: int = 45) -> list[FixedWindow]:
    """The cheapest fixed window per person (or none) leaving at most ``allowed_over`` starts over the limit
    (when no choice does, the one that leaves the fewest)."""
    options: dict[str, dict[int, FixedWindow | None]] = {}
    for user, (profile, days) in arrivals.items():
        seen = [a for a in days if a is not None]
        per_minute = prices_per_hour[profile] / 60
        cheapest: dict[int, FixedWindow | None] = {len(seen): None}  # no window: every start is cold
        least = {len(seen): 0.0}
        for opens in range(min(seen) - margin_minutes, max(seen) + 1):
            for closes in range(opens + 1, max(seen) + 2):
                cost, over = model.judge(opens, closes, days, per_minute)
                if cost < least.get(over, float("inf")):
                    least[over] = cost
                    cheapest[over] = FixedWindow(user, profile, opens, closes, round(cost, 1), over)
        options[user] = cheapest
    best: dict[int, tuple[float, list]] = {0: (0.0, [])}  # starts over the limit -> (cost, windows)
    for cheapest in options.values():
        combined: dict[int, tuple[float, list]] = {}
        for over_so_far, (cost_so_far, chosen) in best.items():
            for over, window in cheapest.items():
                cost = cost_so_far + (window.cost if window else 0.0)
                if cost < combined.get(over_so_far + over, (float("inf"),))[0]:
                    combined[over_so_far + over] = (cost, chosen + ([window] if window else []))
        best = combined
    within = [entry for over, entry in best.items() if over <= allowed_over] or [best[min(best)]]
    return min(within, key=lambda entry: entry[0])[1]


def allowed_over_limit(starts: int, q: int = 90) -> int:
    """How many of ``starts`` may wait over the limit while their nearest-rank q-th percentile stays under it."""
    return starts - -(-starts * q // 100)
