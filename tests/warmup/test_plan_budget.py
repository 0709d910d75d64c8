"""The day's plan within the budget, warming on intent, and the placeholder pod's manifest."""

from __future__ import annotations

import ast
import json
from datetime import datetime, timedelta, timezone
from fractions import Fraction
from pathlib import Path

import kubernetes_validate
import pytest

from hybridhub.hub_ext.cost.budget import month_window
from hybridhub.hub_ext.cost.recorder import CostRecorder
from hybridhub.hub_ext.warmup import i18n
from hybridhub.hub_ext.warmup.budget_stop import BudgetView
from hybridhub.hub_ext.warmup.intent import IntentGate
from hybridhub.hub_ext.warmup.manifest import placeholder_pod, priority_class, window_id
from hybridhub.hub_ext.warmup.plan import plan
from hybridhub.spawner.profiles import GPU_RESOURCE, ProfileCatalog

from .histories import CALENDAR, LAST_FIVE, MONDAY, RULE, TOKYO, at, nine_on_four_of_five, start

pytestmark = pytest.mark.warmup

K8S_VERSION = "1.33.0"  # as tests/deploy/test_manifests.py: an AKS-supported minor, schemas offline
PRICES = {"gpua10": Fraction("74.7"), "gpua10large": Fraction("263.61")}
LEAD = {"gpua10": 1800.0, "gpua10large": 1800.0}  # half an hour: each window is one hour
WARMUP_SRC = Path(__file__).resolve().parents[2] / "hub_ext" / "hybridhub" / "hub_ext" / "warmup"


def day_plan(history, budget: BudgetView, max_nodes=None) -> dict:
    return plan(history, MONDAY, TOKYO, CALENDAR, RULE, ["gpua10", "gpua10large"], LEAD,
                max_nodes or {"gpua10": 1, "gpua10large": 1}, PRICES, budget)


def morning_and_afternoon():
    return nine_on_four_of_five("alice") + [start("bob", d, "14:00") for d in LAST_FIVE[:4]]


def test_no_history_gives_an_empty_plan_that_says_so():
    result = day_plan([], BudgetView(Fraction(0), Fraction(100000)))
    assert result["reason"] == "no_history"
    assert [(p["pool"], p["windows"], p["dropped"]) for p in result["pools"]] == [
        ("gpua10", [], []), ("gpua10large", [], [])]
    assert result["total_cost"] == "0"
    json.dumps(result)


def test_history_without_regular_starts_and_a_day_off_say_why():
    assert day_plan([start("bob", LAST_FIVE[0], "10:00")], BudgetView(Fraction(0), Fraction(1000)))["reason"] \
        == "no_likely_starts"
    sunday = plan(nine_on_four_of_five(), MONDAY - timedelta(days=1), TOKYO, CALENDAR, RULE, ["gpua10"], LEAD,
                  {"gpua10": 1}, PRICES, BudgetView(Fraction(0), Fraction(1000)))
    assert sunday["reason"] == "not_a_working_day" and sunday["pools"][0]["windows"] == []


def test_within_budget_every_window_is_kept_with_its_cost():
    result = day_plan(morning_and_afternoon(), BudgetView(Fraction(1000), Fraction(100000)))
    assert result["reason"] is None
    gpu = result["pools"][0]
    assert [(w["start"], w["end"], w["users"], w["reason"], w["cost"]) for w in gpu["windows"]] == [
        (at(MONDAY, "08:30").isoformat(), at(MONDAY, "09:30").isoformat(), ["alice"], "likely_start", "74.7"),
        (at(MONDAY, "13:30").isoformat(), at(MONDAY, "14:30").isoformat(), ["bob"], "likely_start", "74.7")]
    assert gpu["windows"][0]["starts"][0] | {"at": None} == {
        "user": "alice", "profile": "gpu-a10", "at": None, "days": 4, "of_days": 5}
    assert gpu["dropped"] == [] and gpu["total_cost"] == "149.4" and result["total_cost"] == "149.4"
    json.dumps(result)


def test_a_projection_near_the_budget_drops_the_windows_that_would_cross_it():
    # room for one hour of an A10 node (74.7) but not two
    result = day_plan(morning_and_afternoon(), BudgetView(Fraction(100000) - 100, Fraction(100000)))
    gpu = result["pools"][0]
    assert [w["users"] for w in gpu["windows"]] == [["alice"]]
    assert [(d["users"], d["reason"], d["cost"], d["committed"], d["budget"]) for d in gpu["dropped"]] == [
        (["bob"], "budget_would_exceed", "74.7", "74.7", "100000")]
    assert result["total_cost"] == "74.7"


def test_a_projection_just_under_the_budget_drops_everything_that_costs_more_than_the_room():
    result = day_plan(morning_and_afternoon(), BudgetView(Fraction(100000) - 50, Fraction(100000)))
    assert result["pools"][0]["windows"] == []
    assert [d["reason"] for d in result["pools"][0]["dropped"]] == ["budget_would_exceed"] * 2


def test_level_over_drops_every_window():
    result = day_plan(morning_and_afternoon(), BudgetView(Fraction(100001), Fraction(100000)))
    assert [d["reason"] for d in result["pools"][0]["dropped"]] == ["budget_over", "budget_over"]
    assert result["pools"][0]["windows"] == [] and result["total_cost"] == "0"


def test_a_start_over_max_warm_nodes_is_listed_among_the_dropped_with_its_reason():
    history = nine_on_four_of_five("alice") + nine_on_four_of_five("gina")
    gpu = day_plan(history, BudgetView(Fraction(0), Fraction(100000)))["pools"][0]
    assert [(w["users"], w["nodes"], w["cost"]) for w in gpu["windows"]] == [(["alice", "gina"], 1, "74.7")]
    assert [(d["reason"], d["nodes"], d["max_warm_nodes"]) for d in gpu["dropped"]] == [("max_warm_nodes", 1, 1)]
    two = day_plan(history, BudgetView(Fraction(0), Fraction(100000)), {"gpua10": 2})["pools"][0]
    assert [(w["users"], w["nodes"], w["lane"], w["cost"]) for w in two["windows"]] == [
        (["alice"], 1, 0, "74.7"), (["gina"], 1, 1, "74.7")] and two["dropped"] == []


def test_the_budget_view_reads_the_cost_services_report():
    recorder = CostRecorder(dict(PRICES))
    start_us, end_us = month_window(datetime(2026, 12, 7, tzinfo=timezone.utc))
    recorder.node_up(start_us, "gpua10", "node-1")
    now = start_us + 24 * 3600 * 10**6  # one node up all of the first day
    view = BudgetView.from_report(recorder.report(start_us, end_us, now, Fraction(50000)))
    assert view.projected == Fraction("74.7") * 24 * 31 and view.budget == 50000
    assert view.level == "over"  # 55576.8 > 50000


# -- intent


def gate(budget: BudgetView) -> IntentGate:
    catalog = ProfileCatalog()
    return IntentGate(catalog.get, lambda: PRICES, lambda: budget, min_interval=timedelta(minutes=15),
                      hold=timedelta(minutes=15))


def test_a_gpu_profile_chosen_on_the_form_warms_its_pool_once_per_interval_per_user():
    g = gate(BudgetView(Fraction(0), Fraction(100000)))
    now = at(MONDAY, "10:00")
    first = g.on_intent("alice", "gpu-a10", now)
    assert (first.warm, first.reason, first.pool, first.until) == (
        True, "warm_on_intent", "gpua10", now + timedelta(minutes=15))
    assert first.to_json()["cost"] == "18.68"  # 74.7 / 4 = 18.675, rounded half-even to 18.68
    again = g.on_intent("alice", "gpu-a10-large", now + timedelta(minutes=5))
    assert (again.warm, again.reason, again.until) == (False, "rate_limited", now + timedelta(minutes=15))
    assert g.on_intent("bob", "gpu-a10", now + timedelta(minutes=5)).warm
    assert g.on_intent("alice", "gpu-a10", now + timedelta(minutes=15)).warm


def test_intent_on_a_cpu_or_unknown_profile_or_over_budget_does_not_warm():
    g = gate(BudgetView(Fraction(0), Fraction(100000)))
    now = at(MONDAY, "10:00")
    assert g.on_intent("alice", "cpu", now).reason == "not_gpu"
    assert g.on_intent("alice", "nope", now).reason == "unknown_profile"
    tight = gate(BudgetView(Fraction(100000) - 10, Fraction(100000)))
    assert tight.on_intent("alice", "gpu-a10", now).reason == "budget_would_exceed"
    over = gate(BudgetView(Fraction(100001), Fraction(100000)))
    assert over.on_intent("alice", "gpu-a10", now).reason == "budget_over"


def test_an_intent_refused_for_the_budget_does_not_use_up_the_users_turn():
    views = [BudgetView(Fraction(100001), Fraction(100000))]
    g = IntentGate(ProfileCatalog().get, lambda: PRICES, lambda: views[0], timedelta(minutes=15), timedelta(minutes=15))
    now = at(MONDAY, "10:00")
    assert g.on_intent("alice", "gpu-a10", now).reason == "budget_over"
    views[0] = BudgetView(Fraction(0), Fraction(100000))  # e.g. an admin raised the budget
    assert g.on_intent("alice", "gpu-a10", now + timedelta(minutes=1)).warm


# -- the placeholder pod


def test_the_placeholder_pod_is_a_valid_pod_shaped_like_the_profiles_user_pod():
    profile = ProfileCatalog().get("gpu-a10")
    wid = window_id("gpua10", at(MONDAY, "08:30").isoformat(), at(MONDAY, "09:30").isoformat())
    pod = placeholder_pod(profile, wid, "hybridhub")
    kubernetes_validate.validate(pod, K8S_VERSION, strict=True)
    kubernetes_validate.validate(priority_class(), K8S_VERSION, strict=True)
    spec = pod["spec"]
    assert spec["priorityClassName"] == priority_class()["metadata"]["name"]
    assert priority_class()["value"] < 0  # below user pods (priority 0), as the chart's -10
    assert spec["nodeSelector"] == {"agentpool": "gpua10"}
    assert spec["tolerations"] == [{"key": "sku", "operator": "Equal", "value": "gpu", "effect": "NoSchedule"}]
    (container,) = spec["containers"]
    assert container["image"].startswith("registry.k8s.io/pause:")
    assert container["resources"]["requests"] == {"cpu": "4", "memory": "32G", GPU_RESOURCE: "1"}
    assert container["resources"]["limits"][GPU_RESOURCE] == "1"
    assert spec["terminationGracePeriodSeconds"] == 0 and spec["automountServiceAccountToken"] is False
    labels = pod["metadata"]["labels"]
    assert labels["hybridhub/warmup"] == "true" and labels["hybridhub/pool"] == "gpua10"
    assert labels["hybridhub/warmup-window"] == wid and len(wid) == 12
    assert "alice" not in json.dumps(pod["metadata"])


def test_a_broken_placeholder_would_be_caught_by_the_validation():
    pod = placeholder_pod(ProfileCatalog().get("gpu-a10"), "abc", "hybridhub")
    pod["spec"]["terminationGracePeriodSeconds"] = "zero"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(pod, K8S_VERSION, strict=True)


# -- reason texts


def reason_codes() -> set[str]:
    """Every reason constant (NAME = "snake_case") in the warm-up modules."""
    codes = set()
    for path in WARMUP_SRC.glob("*.py"):
        if path.name in ("i18n.py", "manifest.py", "history.py"):
            continue
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if (isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant)
                    and isinstance(node.value.value, str) and node.targets[0].id.isupper()):
                codes.add(node.value.value)
    return codes


def test_every_reason_code_has_an_english_and_a_japanese_text():
    codes = reason_codes()
    assert {"no_history", "budget_over", "budget_would_exceed", "rate_limited", "likely_start"} <= codes
    assert codes <= set(i18n.EN) and set(i18n.EN) == set(i18n.JA)
    assert i18n.text("likely_start", "ja", users="alice").startswith("開始の見込み")
