"""Month-to-date cost, its projection to the month's end, and the budget check.

Month-to-date uses the reference model itself (:func:`.model.compute`) over the elapsed part of
the month: measured ``T_n`` per pool, the fixed terms (load balancer, public IPs) for the elapsed
hours, and the monthly lump ``other`` pro rata.  The projection stretches the month so far to the
whole month: ``T_n · (month hours / elapsed hours)`` — i.e. node usage continues at the average
rate seen so far — plus the fixed terms for the full month and the whole of ``other``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone, tzinfo
from fractions import Fraction
from typing import Iterable, Mapping

from .ledger import HOUR, NodeInterval, hours_at_node_count, to_micros
from .model import CostBreakdown, CostInput, PoolInput, compute
from .money import percent

MESSAGES = {
    "naive": "month_bounds needs an aware datetime, got {value!r}",
    "outside": "now ({now}) is outside the month [{start}, {end})",
    "bad_budget": "budget must be greater than zero (got {value})",
    "bad_warn": "warn_percent must be between 0 and 100 (got {value})",
}

OK, WARNING, OVER = "ok", "warning", "over"


@dataclass(frozen=True)
class FixedCosts:
    """The configured terms that do not come from nodes."""

    lb_price_per_hour: Fraction = Fraction(0)
    public_ip_price_per_hour: Fraction = Fraction(0)
    public_ips: int = 0
    other_per_month: Fraction = Fraction(0)
    currency: str = "JPY"


def month_bounds(at: datetime, tz: tzinfo = timezone.utc) -> tuple[datetime, datetime]:
    """Start (inclusive) and end (exclusive) of the calendar month containing ``at``, in ``tz``."""
    if at.tzinfo is None:
        raise ValueError(MESSAGES["naive"].format(value=at))
    local = at.astimezone(tz)
    start = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    end = start.replace(year=start.year + 1, month=1) if start.month == 12 else start.replace(month=start.month + 1)
    return start, end


def month_to_date(intervals: Iterable[NodeInterval], prices: Mapping[str, Fraction], fixed: FixedCosts,
                  month_start: int, month_end: int, now: int) -> CostBreakdown:
    """The model over ``[month_start, now)``; pools are those in ``prices`` (order kept)."""
    if not month_start < now <= month_end:
        raise ValueError(MESSAGES["outside"].format(now=now, start=month_start, end=month_end))
    t_n = hours_at_node_count(intervals, month_start, now, pools=prices)
    elapsed = Fraction(now - month_start, HOUR)
    month = Fraction(month_end - month_start, HOUR)
    pools = [PoolInput(pool, Fraction(prices[pool]), tuple(t_n.get(pool, [elapsed]))) for pool in prices]
    pools += [PoolInput(pool, Fraction(0), tuple(t)) for pool, t in t_n.items() if pool not in prices]
    return compute(CostInput(
        hours=elapsed, pools=tuple(pools), lb_price_per_hour=Fraction(fixed.lb_price_per_hour),
        public_ip_price_per_hour=Fraction(fixed.public_ip_price_per_hour), public_ips=fixed.public_ips,
        other=Fraction(fixed.other_per_month) * elapsed / month, currency=fixed.currency,
    ))


def project(mtd: CostBreakdown, month_hours: Fraction, fixed: FixedCosts) -> CostBreakdown:
    """The whole month, if node usage goes on at the month-to-date average rate."""
    inp = mtd.input
    factor = Fraction(month_hours) / inp.hours
    pools = tuple(PoolInput(p.name, p.vm_price_per_hour, tuple(t * factor for t in p.hours_at_node_count))
                  for p in inp.pools)
    return compute(CostInput(
        hours=Fraction(month_hours), pools=pools, lb_price_per_hour=inp.lb_price_per_hour,
        public_ip_price_per_hour=inp.public_ip_price_per_hour, public_ips=inp.public_ips,
        other=Fraction(fixed.other_per_month), currency=inp.currency,
    ))


@dataclass(frozen=True)
class BudgetStatus:
    level: str  # OK, WARNING or OVER
    budget: Fraction
    projected: Fraction
    spent: Fraction
    projected_percent: Fraction  # projection as a percentage of the budget
    warn_percent: Fraction

    @property
    def over(self) -> bool:
        return self.level == OVER


def check_budget(projected: Fraction, budget: Fraction, warn_percent: Fraction = Fraction(80),
                 spent: Fraction = Fraction(0)) -> BudgetStatus:
    """OVER when the projection (or what is already spent) exceeds the budget; WARNING when the
    projection reaches ``warn_percent`` % of it; OK otherwise."""
    budget, warn_percent = Fraction(budget), Fraction(warn_percent)
    if budget <= 0:
        raise ValueError(MESSAGES["bad_budget"].format(value=budget))
    if not 0 <= warn_percent <= 100:
        raise ValueError(MESSAGES["bad_warn"].format(value=warn_percent))
    projected, spent = Fraction(projected), Fraction(spent)
    share = percent(projected, budget)
    if projected > budget or spent > budget:
        level = OVER
    elif share >= warn_percent:
        level = WARNING
    else:
        level = OK
    return BudgetStatus(level, budget, projected, spent, share, warn_percent)


def month_window(at: datetime, tz: tzinfo = timezone.utc) -> tuple[int, int]:
    """:func:`month_bounds` in microseconds since the epoch."""
    start, end = month_bounds(at, tz)
    return to_micros(start), to_micros(end)
