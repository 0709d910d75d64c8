"""benchmarks/warmup_hindsight.py: the model of a fixed warm window, and the cheapest choice of windows."""

from __future__ import annotations

import sys
from datetime import date, datetime
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

from warmup_hindsight import Model, allowed_over_limit, arrivals_by_user, best_windows  # noqa: E402
from warmup_trace import TOKYO, Session  # noqa: E402

pytestmark = pytest.mark.warmup

# a node ready 600 s after its placeholder, the runner's look at most 15 s late, 300 s allowed, 5 min release
MODEL = Model(ready_s=600, limit_s=300, tick_s=15, release_s=300)
NINE = 9 * 60


def test_a_start_well_inside_the_window_waits_nothing_and_pays_from_the_opening():
    cost, over = MODEL.judge(NINE - 20, NINE + 30, [NINE], price_per_minute=2.0)
    assert over == 0 and cost == pytest.approx((20 * 60 - 15) / 60 * 2.0)


def test_a_start_while_the_node_boots_waits_for_the_rest():
    # 4 minutes after the opening: 615 - 240 = 375 s left, over the 300 s limit; 6 minutes: 255 s, under it
    assert MODEL.judge(NINE, NINE + 30, [NINE + 4], 1.0)[1] == 1
    assert MODEL.judge(NINE, NINE + 30, [NINE + 6], 1.0)[1] == 0


def test_a_start_before_the_opening_finds_no_node_and_costs_nothing():
    assert MODEL.judge(NINE, NINE + 30, [NINE - 1], 1.0) == (0.0, 1)


def test_a_start_at_or_after_the_end_is_cold_and_the_whole_window_was_paid():
    held = (30 * 60 + 300) / 60 * 1.0
    assert MODEL.judge(NINE, NINE + 30, [NINE + 30], 1.0) == (pytest.approx(held), 1)
    assert MODEL.judge(NINE, NINE + 30, [None], 1.0) == (pytest.approx(held), 0)  # away: paid, nobody waits


def test_allowed_over_limit_keeps_the_nearest_rank_p90_under_the_limit():
    assert [allowed_over_limit(n) for n in (1, 6, 9, 10, 20, 74)] == [0, 0, 0, 1, 2, 7]


def test_arrivals_are_each_days_first_start_and_none_when_away():
    d1, d2 = date(2026, 11, 4), date(2026, 11, 5)
    at = lambda d, h, m: datetime(d.year, d.month, d.day, h, m, tzinfo=TOKYO)  # noqa: E731
    sessions = [Session("ana", "gpu-a10", at(d1, 13, 0), at(d1, 15, 0)),
                Session("ana", "gpu-a10", at(d1, 9, 5), at(d1, 12, 0))]
    assert arrivals_by_user(sessions, [d1, d2], TOKYO) == {"ana": ("gpu-a10", [9 * 60 + 5, None])}


def test_the_expensive_persons_starts_are_the_ones_left_over_the_limit():
    # both come at 9:00 on three days and vary the same way; the large node costs ten times as much
    days = [NINE - 10, NINE, NINE + 10]
    arrivals = {"ana": ("small", days), "ben": ("large", days)}
    prices = {"small": 60.0, "large": 600.0}
    covered = best_windows(arrivals, prices, MODEL, allowed_over=0)
    assert {w.user for w in covered} == {"ana", "ben"} and all(w.over_limit == 0 for w in covered)
    assert all(w.opens <= NINE - 10 - 5 for w in covered)  # ready (under the limit) for the earliest start
    one_left = best_windows(arrivals, prices, MODEL, allowed_over=1)
    ben = next(w for w in one_left if w.user == "ben")
    assert ben.over_limit == 1 and ben.opens > NINE - 10  # ben's earliest start is the one given up
    assert sum(w.cost for w in one_left) < sum(w.cost for w in covered)
    # allowing all six over the limit: warming nobody is cheapest
    assert best_windows(arrivals, prices, MODEL, allowed_over=6) == []


def test_when_no_choice_meets_the_allowance_the_fewest_over_the_limit_is_chosen():
    # a node that takes over an hour: no window opening within the searched 45 minutes before the first
    # start has it ready in time, so every start is over the limit; the fallback is the cheapest of the
    # fewest over: warming nobody (nothing is paid for starts that wait anyway)
    slow = Model(ready_s=4000, limit_s=300)
    assert best_windows({"ana": ("small", [NINE, NINE + 5])}, {"small": 60.0}, slow, allowed_over=0) == []
    # with a 45-minute search the same node is in time for no one, but a 90-minute one covers both
    covered = best_windows({"ana": ("small", [NINE, NINE + 5])}, {"small": 60.0}, slow, allowed_over=0,
                           margin_minutes=90)
    assert len(covered) == 1 and covered[0].over_limit == 0
