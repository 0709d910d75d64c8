"""The budget stop: a warm-up happens only when the month's projection leaves room for it.

An entry (a warm window, or a warm-up on intent) is kept when the projection plus the cost of
every entry kept before it plus its own cost stays within the budget — the cost service's
level would not become "over" (:func:`hybridhub.hub_ext.cost.budget.check_budget`).  When
the level is already over, nothing is kept.  Its cost is the pool's node price per hour
(the cost model's prices) × the window's hours × its nodes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction
from typing import Mapping

from ..cost.budget import OVER, check_budget
from ..cost.money import exact_str

BUDGET_OVER = "budget_over"
BUDGET_WOULD_EXCEED = "budget_would_exceed"
NO_PRICE = "no_price"


@dataclass(frozen=True)
class BudgetView:
    """What the cost service says about the month: its projection and the budget."""

    projected: Fraction
    budget: Fraction
    warn_percent: Fraction = Fraction(80)

    @property
    def level(self) -> str:
        return check_budget(self.projected, self.budget, self.warn_percent).level

    @classmethod
    def from_report(cls, report: Mapping) -> "BudgetView":
        """From :meth:`hybridhub.hub_ext.cost.recorder.CostRecorder.report` (amounts are decimal strings)."""
        return cls(Fraction(str(report["projection"]["total"])), Fraction(str(report["budget"]["amount"])))


def window_cost(price_per_hour: Fraction, start: datetime, end: datetime, nodes: int = 1) -> Fraction:
    seconds = Fraction(round((end - start).total_seconds()))
    return Fraction(price_per_hour) * seconds / 3600 * nodes


class BudgetStop:
    """Admits entries one by one against the projection, keeping a running total."""

    def __init__(self, view: BudgetView):
        self.view = view
        self.committed = Fraction(0)

    def admit(self, cost: Fraction) -> str | None:
        """None when the entry is kept (its cost is then committed), else the reason code."""
        if self.view.level == OVER:
            return BUDGET_OVER
        if self.view.projected + self.committed + cost > self.view.budget:
            return BUDGET_WOULD_EXCEED
        self.committed += cost
        return None

    def figures(self, cost: Fraction) -> dict:
        """The numbers behind a decision, for the admin page."""
        return {"projected": exact_str(self.view.projected, 2), "committed": exact_str(self.committed, 2),
                "cost": exact_str(cost, 2), "budget": exact_str(self.view.budget, 2)}
