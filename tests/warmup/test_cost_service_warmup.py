"""The warm-up as the cost service runs it (cost/warmup_loop.py), against the Kubernetes stand-in.

Today's plan made and kept, carried out by the runner (a placeholder at the window's start), the
next working day's plan made at ``plan_at`` and kept across restarts, a failed look logged without
stopping, and the RBAC of helm-values/cost-node-reader.yaml plus the chart's hub Role allowing
exactly what the runner does (the stand-in's RBAC: tests/kube_standin/authz.py).
"""

from __future__ import annotations

import json
import logging
from datetime import date, datetime, timedelta, timezone
from fractions import Fraction

import pytest
from kubernetes_asyncio import client

from hybridhub.hub_ext.cost.warmup_loop import PlanStore, WarmupLoop, WarmupService
from hybridhub.hub_ext.cost.warmup_report import warmup_report
from hybridhub.hub_ext.warmup.budget_stop import BudgetView
from hybridhub.hub_ext.warmup.manifest import PAUSE_IMAGE
from hybridhub.hub_ext.warmup.settings import WarmupPolicy
from hybridhub.spawner.profiles import ProfileCatalog
from tests.kube_standin import KubeStandIn, load_config
from tests.deploy.shipped_rbac import shipped_rules
from tests.kube_standin.authz import Account, Rule
from tests.kube_standin.from_catalog import cluster_from_catalog
from tests.warmup.test_actuator import at, friday_history

pytestmark = [pytest.mark.warmup, pytest.mark.cost, pytest.mark.kube]

UTC = timezone.utc
CATALOG = ProfileCatalog()
PRICES = {"gpua10": Fraction("74.7"), "gpua10large": Fraction("263.61")}
ROOM = BudgetView(Fraction(0), Fraction(100000))
MONDAY = date(2027, 1, 18)
# the zero-to-jupyterhub chart's hub Role (jupyterhub/templates/hub/rbac.yaml) in the hub's namespace
CHART_ROLE = [Rule(("get", "watch", "list", "create", "delete"),
                   ("pods", "persistentvolumeclaims", "secrets", "services"), namespaces=("default",)),
              Rule(("get", "watch", "list"), ("events",), namespaces=("default",))]


class Clock:
    def __init__(self, standin):
        self.standin = standin

    def __call__(self) -> datetime:
        return datetime.fromtimestamp(self.standin.clock.now(), UTC)


@pytest.fixture
async def standin(tmp_path):
    data = cluster_from_catalog(CATALOG)
    data["images"][PAUSE_IMAGE] = "1Mi"
    s = KubeStandIn(load_config(data), manual_clock=True)
    await s.start(kubeconfig_dir=str(tmp_path))
    yield s
    await s.stop()


def api_for(standin, token: str) -> client.ApiClient:
    conf = client.Configuration(host=standin.url)
    conf.api_key = {"BearerToken": token}
    conf.api_key_prefix = {"BearerToken": "Bearer"}
    return client.ApiClient(conf)


def make_loop(tmp_path, now, budget=lambda: ROOM) -> WarmupLoop:
    friday_history(tmp_path / "starts.jsonl")
    settings = WarmupService(enabled=True, plan_at="18:00", plan_file=str(tmp_path / "plans.json"),
                             cold_start_history_path=str(tmp_path / "cold-starts.json"))
    policy = WarmupPolicy(timezone="UTC", history_file=str(tmp_path / "starts.jsonl"),
                          log_file=str(tmp_path / "warmup-log.jsonl"))
    return WarmupLoop(settings, policy, CATALOG, "default", lambda: PRICES, budget, now)


def placeholders(standin) -> list[str]:
    return [p["metadata"]["name"] for p in standin.store.list(
        "pods", "default", lambda p: p["metadata"]["labels"].get("hybridhub/warmup") == "true")]


async def run_until(standin, loop, api, when: datetime, step: float = 15) -> None:
    now = Clock(standin)
    while now() < when:
        await standin.clock.advance(min(step, (when - now()).total_seconds()))
        await loop.step(api)


async def test_todays_plan_is_kept_and_carried_out(standin, tmp_path):
    loop = make_loop(tmp_path, Clock(standin))
    api = api_for(standin, standin.token)
    try:
        await loop.step(api)  # Friday 08:00 UTC: no plan kept yet, so today's is made now
        kept = PlanStore(tmp_path / "plans.json").load()
        assert list(kept) == ["2027-01-15"]
        [pool] = [p for p in kept["2027-01-15"]["pools"] if p["windows"]]
        assert pool["pool"] == "gpua10" and pool["windows"][0]["users"] == ["alice"]
        assert placeholders(standin) == []  # the window opens at 08:08 (alice at 08:15, lead 420 s)
        await run_until(standin, loop, api, at("08:08", 15))
        [name] = placeholders(standin)
        report = warmup_report(loop.status(), loop.log.entries(),
                               {"start": "2027-01-01T00:00:00+00:00", "end": "2027-02-01T00:00:00+00:00"})
        assert report["today"]["date"] == "2027-01-15" and report["next"] is None  # before 18:00
        assert [(p["placeholder"], p["outcome"]) for p in report["placeholders"]] == [(name, None)]
        await run_until(standin, loop, api, at("08:50"), step=60)  # alice never came: released at 08:45
        assert placeholders(standin) == []
        report = warmup_report(loop.status(), loop.log.entries(),
                               {"start": "2027-01-01T00:00:00+00:00", "end": "2027-02-01T00:00:00+00:00"})
        [month] = report["month"]["pools"]
        assert (month["pool"], month["warmups"], month["outcomes"]["wasted"]) == ("gpua10", 1, 1)
        assert Fraction(month["cost"]) > 0 and month["wait_saved_seconds"] == 0.0
    finally:
        await api.close()


def test_the_next_working_days_plan_is_made_at_plan_at_and_kept(tmp_path):
    moments = [datetime(2027, 1, 15, 17, 59, tzinfo=UTC)]
    loop = make_loop(tmp_path, lambda: moments[0])
    loop.keep_plans(moments[0])
    assert sorted(loop.plans) == ["2027-01-15"]  # today's only, before 18:00
    moments[0] = datetime(2027, 1, 15, 18, 0, tzinfo=UTC)
    loop.keep_plans(moments[0])
    assert sorted(loop.plans) == ["2027-01-15", "2027-01-18"]  # Monday: the next working day
    monday = loop.plans["2027-01-18"]
    assert monday["made_at"] == moments[0].isoformat() and monday["date"] == MONDAY.isoformat()
    # kept: a restarted service (new loop, same file) later in the evening does not make it again
    moments[0] = datetime(2027, 1, 15, 22, 0, tzinfo=UTC)
    again = make_loop(tmp_path, lambda: moments[0])
    again.keep_plans(moments[0])
    assert again.plans["2027-01-18"]["made_at"] == monday["made_at"]
    assert again.next_plan(moments[0])["date"] == "2027-01-18"
    # Saturday: not a working day, no plan of its own is made; Monday's is the next one
    saturday = datetime(2027, 1, 16, 9, 0, tzinfo=UTC)
    again.keep_plans(saturday)
    assert "2027-01-16" not in again.plans and again.today_plan(saturday) is None


def test_plan_at_must_be_a_time():
    with pytest.raises(Exception, match="HH:MM"):
        WarmupService(plan_at="six pm")


async def test_a_failed_look_is_logged_without_secrets_and_the_next_look_works(standin, tmp_path, caplog):
    loop = make_loop(tmp_path, Clock(standin))
    api = api_for(standin, standin.token)
    await loop.step(api)  # 08:00: today's runner built, nothing to create yet
    real_existing = loop.runner.actuator.existing
    unreachable = client.ApiClient(client.Configuration(host="http://127.0.0.1:9"))  # the discard port: refused

    async def refused_once(namespace):  # the API server unreachable for one look (e.g. restarting)
        if not looks:
            return await client.CoreV1Api(unreachable).list_namespaced_pod(namespace)
        return await real_existing(namespace)

    loop.runner.actuator.existing = refused_once
    looks = []

    async def sleep(seconds):
        looks.append((seconds, loop.last_error))
        await standin.clock.advance(seconds)
        if Clock(standin)() >= at("08:08", 15):
            raise StopAsyncIteration  # ends the test's loop (the service cancels its task instead)

    try:
        with caplog.at_level(logging.WARNING, "hybridhub.warmup"):
            with pytest.raises(StopAsyncIteration):
                await loop.run(api, sleep)
        assert looks[0][0] == 15.0 and looks[0][1]["error"] == "ClientConnectorError"
        assert "a look failed (ClientConnectorError)" in caplog.text and "127.0.0.1:9" not in caplog.text
        assert all(error is None for _, error in looks[1:]) and len(looks) > 30  # it went on looking
        assert len(placeholders(standin)) == 1  # and the window opened on time
    finally:
        await unreachable.close()
        await api.close()


async def test_the_shipped_rbac_allows_what_the_warmup_does(standin, tmp_path):
    standin.accounts["hub"] = Account("system:serviceaccount:default:hub", [*CHART_ROLE, *shipped_rules()])
    loop = make_loop(tmp_path, Clock(standin))
    api = api_for(standin, "hub")
    try:
        await run_until(standin, loop, api, at("08:20"))
        assert loop.last_error is None and len(placeholders(standin)) == 1
        assert standin.store.find("priorityclasses", None, "hybridhub-warmup-placeholder")["value"] == -10
        await run_until(standin, loop, api, at("08:50"), step=60)
        assert loop.last_error is None and placeholders(standin) == []
        assert [e["outcome"] for e in loop.log.entries()] == ["wasted"]
    finally:
        await api.close()


async def test_without_the_priorityclass_grant_the_warmup_is_forbidden(standin, tmp_path):
    standin.accounts["hub"] = Account("system:serviceaccount:default:hub",
                                      [*CHART_ROLE, *shipped_rules(skip={"hybridhub-warmup-priorityclass"})])
    loop = make_loop(tmp_path, Clock(standin))
    api = api_for(standin, "hub")
    try:
        await standin.clock.advance((at("08:08", 15) - Clock(standin)()).total_seconds())
        with pytest.raises(client.exceptions.ApiException) as info:
            await loop.step(api)
        assert info.value.status == 403 and json.loads(info.value.body)["details"]["kind"] == "priorityclasses"
        assert placeholders(standin) == []
    finally:
        await api.close()


async def test_a_placeholder_left_by_a_service_down_at_its_windows_end_is_ended_after_the_restart(standin, tmp_path):
    api = api_for(standin, standin.token)
    try:
        await run_until(standin, make_loop(tmp_path, Clock(standin)), api, at("08:20"))
        [name] = placeholders(standin)
        await standin.clock.advance((at("09:00") - Clock(standin)()).total_seconds())  # down over 08:45
        restarted = make_loop(tmp_path, Clock(standin))  # same plan file, warm-up log and cluster
        await restarted.step(api)
        assert placeholders(standin) == []
        [entry] = restarted.log.entries()
        assert (entry["placeholder"], entry["outcome"]) == (name, "wasted")
        assert entry["created"] == at("08:08").isoformat()  # from the pod, not from the restart (09:00)
    finally:
        await api.close()


async def test_a_window_open_at_midnight_is_still_ended_on_the_next_day(standin, tmp_path):
    """Thursday's plan kept with a window 23:40–00:20 (made by hand here: predictions of a late start
    need a week of history); the runner of the new day still ends it at 00:20."""
    loop = make_loop(tmp_path, Clock(standin))
    api = api_for(standin, standin.token)
    try:
        await loop.step(api)  # Friday 08:00: Friday's plan kept
        window = {"start": at("23:40").isoformat(), "end": (at("23:40") + timedelta(minutes=40)).isoformat(),
                  "users": ["alice"], "nodes": 1, "reason": "likely_start", "cost": "49.80",
                  "starts": [{"user": "alice", "profile": "gpu-a10", "at": at("23:50").isoformat(),
                              "days": 3, "of_days": 5}]}
        loop.plans["2027-01-15"]["pools"] = [{"pool": "gpua10", "windows": [window], "dropped": [],
                                              "total_cost": "49.80"}]
        loop.runner_day = None  # as after a restart with that plan kept
        await standin.clock.advance((at("23:40", 5) - Clock(standin)()).total_seconds())
        await loop.step(api)
        [name] = placeholders(standin)
        await run_until(standin, loop, api, at("23:40") + timedelta(minutes=30), step=60)  # past midnight
        assert loop.runner_day == "2027-01-16" and placeholders(standin) == [name]  # still its window
        await run_until(standin, loop, api, at("23:40") + timedelta(minutes=41), step=30)
        assert placeholders(standin) == []
        assert [(e["placeholder"], e["outcome"]) for e in loop.log.entries()] == [(name, "wasted")]
    finally:
        await api.close()


def test_a_damaged_plan_file_does_not_stop_the_service(tmp_path):
    (tmp_path / "plans.json").write_text("{not json", encoding="utf-8")
    moment = datetime(2027, 1, 15, 9, 0, tzinfo=UTC)
    loop = make_loop(tmp_path, lambda: moment)
    assert loop.plans == {}
    loop.keep_plans(moment)
    assert list(PlanStore(tmp_path / "plans.json").load()) == ["2027-01-15"]  # made again and kept


async def test_a_forbidden_look_names_its_status_for_the_admin(standin, tmp_path, caplog):
    standin.accounts["hub"] = Account("system:serviceaccount:default:hub", CHART_ROLE)  # no PriorityClass grant
    loop = make_loop(tmp_path, Clock(standin))
    api = api_for(standin, "hub")
    await standin.clock.advance((at("08:08", 15) - Clock(standin)()).total_seconds())

    async def sleep(seconds):
        raise StopAsyncIteration

    try:
        with pytest.raises(StopAsyncIteration):
            await loop.run(api, sleep)
        assert loop.last_error["error"] == "ApiException 403" and "a look failed (ApiException 403)" in caplog.text
    finally:
        await api.close()
