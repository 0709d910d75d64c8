"""Month-to-date cost, the projection to month end, and the budget thresholds."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from fractions import Fraction as F

import pytest

from hybridhub.hub_ext.cost.budget import (
    OK, OVER, WARNING, FixedCosts, check_budget, month_bounds, month_to_date, month_window, project,
)
from hybridhub.hub_ext.cost.ledger import HOUR, NodeInterval

pytestmark = pytest.mark.cost

JST = timezone(timedelta(hours=9))
FIXED = FixedCosts(F("3.36"), F("0.67"), 2, F(200), "JPY")
PRICES = {"B2s": F("11.52"), "NV6ads_A10_v5": F("74.7")}


def test_month_bounds():
    assert month_bounds(datetime(2026, 11, 22, 1, 2, tzinfo=timezone.utc)) == (
        datetime(2026, 11, 1, tzinfo=timezone.utc), datetime(2026, 12, 1, tzinfo=timezone.utc))
    start, end = month_bounds(datetime(2026, 12, 31, 23, tzinfo=timezone.utc), JST)  # already January in Tokyo
    assert (start, end) == (datetime(2027, 1, 1, tzinfo=JST), datetime(2027, 2, 1, tzinfo=JST))
    s, e = month_window(datetime(2028, 2, 10, tzinfo=timezone.utc))
    assert (e - s) == 29 * 24 * HOUR  # leap February
    with pytest.raises(ValueError):
        month_bounds(datetime(2026, 1, 1))


def test_month_to_date_and_projection():
    start, end = month_window(datetime(2026, 11, 5, tzinfo=timezone.utc))  # 30 days = 720 h
    now = start + 72 * HOUR  # 3 days in
    nodes = [NodeInterval("B2s", "b1", start, None),                          # 72 node-h
             NodeInterval("NV6ads_A10_v5", "g1", start + 10 * HOUR, start + 16 * HOUR)]  # 6 node-h
    mtd = month_to_date(nodes, PRICES, FIXED, start, end, now)
    pools = {p.name: list(p.hours_at_node_count) for p in mtd.input.pools}
    assert pools == {"B2s": [0, 72], "NV6ads_A10_v5": [66, 6]}
    assert mtd.total == 72 * F("11.52") + 6 * F("74.7") + 72 * F("3.36") + 2 * 72 * F("0.67") + F(200) * 72 / 720
    proj = project(mtd, F(720), FIXED)
    # node usage ×10 (720/72), fixed terms for 720 h, the whole of e
    assert proj.total == 720 * F("11.52") + 60 * F("74.7") + 720 * F("3.36") + 2 * 720 * F("0.67") + 200
    assert proj.input.hours == 720
    assert [sum(p.hours_at_node_count) for p in proj.input.pools] == [720, 720]


def test_unpriced_pool_is_shown_at_zero():
    start, end = month_window(datetime(2026, 11, 5, tzinfo=timezone.utc))
    nodes = [NodeInterval("system", "s1", start, None)]
    mtd = month_to_date(nodes, PRICES, FIXED, start, end, start + HOUR)
    system = [t for t in mtd.terms if t.label == "system"]
    assert len(system) == 1 and system[0].quantity == 1 and system[0].amount == 0


def test_now_outside_month():
    start, end = month_window(datetime(2026, 11, 5, tzinfo=timezone.utc))
    with pytest.raises(ValueError, match="outside the month"):
        month_to_date([], PRICES, FIXED, start, end, end + 1)
    with pytest.raises(ValueError, match="outside the month"):
        month_to_date([], PRICES, FIXED, start, end, start)


@pytest.mark.parametrize("projected, spent, level", [
    (F(0), F(0), OK),
    (F("79999.99"), F(0), OK),
    (F(80000), F(0), WARNING),     # exactly at the threshold warns
    (F(100000), F(0), WARNING),    # at the budget: not over yet
    (F("100000.01"), F(0), OVER),
    (F(50000), F("100000.01"), OVER),  # already spent more than the budget
])
def test_budget_levels(projected, spent, level):
    status = check_budget(projected, F(100000), F(80), spent)
    assert status.level == level
    assert status.over is (level == OVER)
    assert status.projected_percent == projected / 1000


def test_budget_table1_month():
    status = check_budget(F("18613.136"), F(100000))
    assert status.level == OK and status.projected_percent == F("18.613136")
    assert check_budget(F("18613.136"), F(20000), F(90)).level == WARNING


def test_budget_arguments():
    with pytest.raises(ValueError, match="budget must be greater than zero"):
        check_budget(F(1), F(0))
    with pytest.raises(ValueError, match="warn_percent"):
        check_budget(F(1), F(10), F(120))
