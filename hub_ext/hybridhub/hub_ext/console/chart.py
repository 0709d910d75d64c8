"""This month's cost against the budget as a chart: the geometry only (the template draws it).

x is time since the start of the accounting month (hours, ticks at day starts), y the amount.
Three series: the cost so far (end of each day; the fixed terms of the model accrue evenly with
time, so each day gets its share of them), the projection (from now to the end of the month,
at the month-to-date rate: cost/budget.py's ``project``), and the budget as a horizontal line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from fractions import Fraction
from typing import Callable, Mapping

WIDTH, HEIGHT = 720, 330
LEFT, RIGHT, TOP, BOTTOM = 96, 24, 40, 56
DAY_TICKS = (1, 5, 10, 15, 20, 25)


@dataclass
class Chart:
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    right: int = WIDTH - RIGHT
    top: int = TOP
    bottom: int = HEIGHT - BOTTOM
    actual: str = ""  # SVG polyline points
    now: tuple[float, float] = (0.0, 0.0)
    projection: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)
    budget_y: float = 0.0
    x_ticks: list[tuple[float, str]] = field(default_factory=list)
    y_ticks: list[tuple[float, str]] = field(default_factory=list)
    values: dict[str, Fraction] = field(default_factory=dict)  # mtd, projection, budget (for tests)


def nice_step(top: Fraction, ticks: int = 5) -> Fraction:
    """A 1, 2 or 5 × 10ⁿ step giving about ``ticks`` gridlines up to ``top``."""
    if top <= 0:
        return Fraction(1)
    raw = top / ticks
    power = Fraction(1)
    while power * 10 <= raw:
        power *= 10
    while power > raw:
        power /= 10
    for factor in (1, 2, 5, 10):
        if power * factor >= raw:
            return power * factor
    return power * 10


def cumulative(summary: Mapping) -> list[tuple[Fraction, Fraction]]:
    """``(hours since the month's start, cost so far)`` at the end of each day, and now."""
    elapsed = Fraction(summary["month"]["elapsed_hours"])
    mtd = Fraction(summary["month_to_date"]["total"])
    days = summary["daily"]
    nodes = sum((Fraction(d["total"]) for d in days), Fraction(0))
    fixed = max(mtd - nodes, Fraction(0))  # load balancer, public IPs, other: linear in time
    points, so_far = [(Fraction(0), Fraction(0))], Fraction(0)
    for i, day in enumerate(days):
        so_far += Fraction(day["total"])
        at = min(Fraction(24 * (i + 1)), elapsed)
        points.append((at, so_far + (fixed * at / elapsed if elapsed else Fraction(0))))
    if points[-1][0] < elapsed or len(points) == 1:
        points.append((elapsed, mtd))
    return points


def month_hours(summary: Mapping) -> Fraction:
    start = datetime.fromisoformat(summary["month"]["start"])
    end = datetime.fromisoformat(summary["month"]["end"])
    return Fraction(int((end - start).total_seconds()), 3600)


def build_chart(summary: Mapping, money: Callable[[Fraction], str]) -> Chart:
    """The chart of ``summary`` (cost/summary.py's document); ``money`` labels the y ticks."""
    chart = Chart()
    hours = month_hours(summary)
    mtd = Fraction(summary["month_to_date"]["total"])
    projected = Fraction(summary["projection"]["total"])
    budget = Fraction(summary["budget"]["amount"])
    points = cumulative(summary)
    step = nice_step(max(budget, projected, mtd) * Fraction(11, 10))
    y_max = step * (int(max(budget, projected, mtd) * Fraction(11, 10) / step) + 1)
    width, height = chart.right - chart.left, chart.bottom - chart.top

    def x(h: Fraction) -> float:
        return round(float(chart.left + width * h / hours), 1)

    def y(v: Fraction) -> float:
        return round(float(chart.bottom - height * v / y_max), 1)

    chart.actual = " ".join(f"{x(h)},{y(v)}" for h, v in points)
    chart.now = (x(points[-1][0]), y(mtd))
    chart.projection = (x(points[-1][0]), y(mtd), x(hours), y(projected))
    chart.budget_y = y(budget)
    days = int(hours // 24) + (1 if hours % 24 else 0)
    chart.x_ticks = [(x(Fraction(24 * (d - 1))), str(d)) for d in dict.fromkeys((*DAY_TICKS, days)) if d <= days]
    chart.y_ticks = [(y(step * i), money(step * i)) for i in range(int(y_max / step) + 1)]
    chart.values = {"mtd": mtd, "projection": projected, "budget": budget}
    return chart
