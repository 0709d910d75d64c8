"""The next working day's plan from the configuration, and the placeholder pods of its windows."""

from __future__ import annotations

from datetime import date, datetime
from fractions import Fraction

import kubernetes_validate
import pytest

from hybridhub.hub_ext.warmup.budget_stop import BudgetView
from hybridhub.hub_ext.warmup.history import StartHistory
from hybridhub.hub_ext.warmup.schedule import next_plan, placeholders_for
from hybridhub.hub_ext.warmup.settings import WarmupPolicy
from hybridhub.spawner.coldstarts import ColdStartHistory
from hybridhub.spawner.profiles import ProfileCatalog

from .histories import LAST_FIVE, MONDAY, TOKYO, at, nine_on_four_of_five, start
from .test_plan_budget import K8S_VERSION, PRICES

pytestmark = pytest.mark.warmup

ROOM = BudgetView(Fraction(0), Fraction(100000))


@pytest.fixture
def files(tmp_path):
    history = StartHistory(tmp_path / "warmup-starts.jsonl")
    for record in nine_on_four_of_five("alice") + nine_on_four_of_five("gina") + [
            start("ivan", d, "09:00", "gpu-a10-large", "gpua10large") for d in LAST_FIVE[:3]]:
        history.append(record)
    return history, ColdStartHistory(tmp_path / "coldstarts.json")


def test_friday_evening_plans_monday_with_the_usual_cold_start_as_lead(files):
    history, coldstarts = files
    policy = WarmupPolicy(timezone="Asia/Tokyo", max_warm_nodes=2)
    friday_evening = datetime(2026, 12, 11, 19, 0, tzinfo=TOKYO)
    result = next_plan(policy, ProfileCatalog(), coldstarts, history, PRICES, ROOM, friday_evening)
    assert result["date"] == MONDAY.isoformat()
    by_pool = {p["pool"]: p for p in result["pools"]}
    assert [(w["start"], w["users"], w["nodes"]) for w in by_pool["gpua10"]["windows"]] == [
        (at(MONDAY, "09:00", seconds=-420).isoformat(), ["alice"], 1),
        (at(MONDAY, "09:00", seconds=-420).isoformat(), ["gina"], 1)]
    assert [(w["start"], w["users"]) for w in by_pool["gpua10large"]["windows"]] == [
        (at(MONDAY, "09:00", seconds=-480).isoformat(), ["ivan"])]


def test_a_holiday_monday_moves_the_plan_to_tuesday(files):
    history, coldstarts = files
    policy = WarmupPolicy(timezone="Asia/Tokyo", holidays=["2026-12-14"])
    result = next_plan(policy, ProfileCatalog(), coldstarts, history, PRICES, ROOM,
                       datetime(2026, 12, 11, 19, 0, tzinfo=TOKYO))
    assert result["date"] == date(2026, 12, 15).isoformat()


def test_a_calendar_without_working_days_says_so(files):
    history, coldstarts = files
    result = next_plan(WarmupPolicy(workdays=[]), ProfileCatalog(), coldstarts, history, PRICES, ROOM,
                       datetime(2026, 12, 11, 19, 0, tzinfo=TOKYO))
    assert (result["date"], result["reason"], result["pools"]) == (None, "no_working_day", [])


def test_each_node_of_each_kept_window_gets_a_valid_placeholder_with_its_own_name(files):
    history, coldstarts = files
    policy = WarmupPolicy(timezone="Asia/Tokyo", max_warm_nodes=2, priority_class="site-placeholders")
    catalog = ProfileCatalog()
    result = next_plan(policy, catalog, coldstarts, history, PRICES, ROOM, datetime(2026, 12, 11, 19, 0, tzinfo=TOKYO))
    pods = placeholders_for(result, catalog, policy, "hybridhub")
    assert sorted((p["manifest"]["metadata"]["labels"]["hybridhub/pool"], p["start"]) for p in pods) == [
        ("gpua10", at(MONDAY, "08:53").isoformat()), ("gpua10", at(MONDAY, "08:53").isoformat()),
        ("gpua10large", at(MONDAY, "08:52").isoformat())]
    assert len({p["manifest"]["metadata"]["name"] for p in pods}) == 3
    for p in pods:
        kubernetes_validate.validate(p["manifest"], K8S_VERSION, strict=True)
        assert p["manifest"]["spec"]["priorityClassName"] == "site-placeholders"
    large = next(p for p in pods if p["manifest"]["metadata"]["labels"]["hybridhub/pool"] == "gpua10large")
    assert large["manifest"]["spec"]["containers"][0]["resources"]["requests"]["cpu"] == "14"


def test_dropped_windows_get_no_placeholder(files):
    history, coldstarts = files
    policy, catalog = WarmupPolicy(timezone="Asia/Tokyo", max_warm_nodes=1), ProfileCatalog()
    over = BudgetView(Fraction(100001), Fraction(100000))
    result = next_plan(policy, catalog, coldstarts, history, PRICES, over, datetime(2026, 12, 11, 19, 0, tzinfo=TOKYO))
    assert placeholders_for(result, catalog, policy, "hybridhub") == []
    assert {d["reason"] for p in result["pools"] for d in p["dropped"]} == {"budget_over", "max_warm_nodes"}
