"""Warm on intent: a GPU profile chosen on the spawn form warms its pool's node at once.

The cost service's warm-up loop (cost/warmup_loop.py ``on_intent``) against the Kubernetes stand-in
on its manual clock, with a real HybridKubeSpawner start taking the node, as
test_spawn_warm_progress.py does for planned windows; and the cost service's route
``POST api/warmup/intent`` (cost/web.py), its tokens and its answers in English and Japanese.
The scheduler's preemption and the autoscaler's upcoming nodes are the stand-in's
(tests/kube/test_standin_priority.py names their Kubernetes sources).
"""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta
from fractions import Fraction

import pytest
from kubespawner import KubeSpawner
from tornado.httpclient import AsyncHTTPClient, HTTPClientError
from tornado.httpserver import HTTPServer
from tornado.testing import bind_unused_port

from hybridhub.hub_ext.cost import web as cost_web
from hybridhub.hub_ext.cost.i18n import MESSAGES
from hybridhub.hub_ext.cost.warmup_loop import WarmupLoop, WarmupService
from hybridhub.hub_ext.warmup import i18n
from hybridhub.hub_ext.warmup.actuator_log import USED, WASTED
from hybridhub.hub_ext.warmup.budget_stop import BudgetView
from hybridhub.hub_ext.warmup.intent import IntentDecision
from hybridhub.hub_ext.warmup.settings import WarmupPolicy
from tests.kube.conftest import point_kubespawner_at
from tests.warmup.test_cost_service_warmup import CATALOG, PRICES, ROOM, Clock, api_for, placeholders, standin  # noqa: F401
from tests.warmup.test_spawn_warm_progress import COLD, Scene, stamp

pytestmark = [pytest.mark.warmup, pytest.mark.kube]

PREFIX = "/services/hybridhub-cost/"


def intent_loop(tmp_path, now, budget=lambda: ROOM) -> WarmupLoop:
    """The loop with no start history (no planned window): only intents warm."""
    settings = WarmupService(enabled=True, plan_file=str(tmp_path / "plans.json"),
                             cold_start_history_path=str(tmp_path / "cold-starts.json"))
    policy = WarmupPolicy(timezone="UTC", history_file=str(tmp_path / "starts.jsonl"),
                          log_file=str(tmp_path / "warmup-log.jsonl"))
    return WarmupLoop(settings, policy, CATALOG, "default", lambda: PRICES, budget, now)


@pytest.fixture
async def api(standin):
    """A client of the stand-in, as the cost service's ``kube_api``."""
    client = api_for(standin, standin.token)
    yield client
    await client.close()


@pytest.fixture
async def kubespawner(standin, monkeypatch):
    """KubeSpawner's global client configuration pointed at the stand-in; its reflectors stopped after."""
    point_kubespawner_at(standin, monkeypatch)
    yield
    await KubeSpawner._stop_all_reflectors()


def pod(standin, name):
    return standin.store.find("pods", "default", name)


async def test_a_gpu_profile_chosen_warms_at_once_and_the_users_start_takes_that_node(standin, tmp_path, api, kubespawner):
    loop = intent_loop(tmp_path, Clock(standin))
    assert (await loop.on_intent("bob", "gpu-a10")).reason == "warmup_starting"  # before the first look
    assert placeholders(standin) == []
    await loop.step(api)
    asked = Clock(standin)()
    decision = await loop.on_intent("bob", "gpu-a10")
    assert (decision.warm, decision.reason, decision.pool) == (True, "warm_on_intent", "gpua10")
    assert decision.until == asked + timedelta(minutes=15)  # c.WarmupPolicy.intent_hold_seconds
    [name] = placeholders(standin)  # created by the request itself, not at the next look
    labels = pod(standin, name)["metadata"]["labels"]
    assert labels["hybridhub/warmup-origin"] == "intent" and labels["hybridhub/pool"] == "gpua10"
    assert "bob" not in json.dumps(pod(standin, name)["metadata"])  # no user name on the pod
    assert (await loop.on_intent("bob", "gpu-a10")).reason == "rate_limited"
    assert placeholders(standin) == [name]

    # bob finishes the form a minute later: his start takes the node the intent asked for
    scene = Scene(standin, loop.runner, tmp_path)
    await scene.tick(60)
    spawner = scene.spawner("bob")
    url, messages = await scene.spawn(spawner)
    assert any("already on its way" in m for m in messages), messages
    user_pod = scene.pod(spawner.pod_name)
    assert scene.gpu_nodes() == [user_pod["spec"]["nodeName"]]  # one node: the one asked for on intent
    assert pod(standin, name) is None
    scheduled = [e for e in scene.events(spawner.pod_name) if e["reason"] == "Scheduled"]
    head_start = (stamp(user_pod["metadata"]["creationTimestamp"]) - asked).total_seconds()
    node_wait = (stamp(scheduled[-1]["metadata"]["creationTimestamp"])
                 - stamp(user_pod["metadata"]["creationTimestamp"])).total_seconds()
    assert head_start >= 60 and node_wait <= COLD - 45, (head_start, node_wait)
    await scene.tick(30)
    [entry] = loop.log.entries()
    assert (entry["origin"], entry["outcome"], entry["placeholder"]) == ("intent", USED, name)
    # the head start up to bob's pod's creation (when the spawner deleted the placeholder), not to the look
    assert abs(entry["wait_saved_seconds"] - head_start) <= 1, (entry, head_start)
    assert [p["origin"] for p in loop.status()["placeholders"]] == ["intent"]
    await scene.stop(spawner)


async def test_a_warm_up_asked_for_during_a_look_is_not_taken_for_a_removed_one(standin, tmp_path, api):
    # found in the demo: a look listed the pods, the intent's placeholder was created meanwhile, and the
    # look then judged it gone ("removed by someone else") a second after its creation
    loop = intent_loop(tmp_path, Clock(standin))
    await loop.step(api)
    real_existing, go_on = loop.runner.actuator.existing, asyncio.Event()

    async def slow_existing(namespace):  # the list as it was when the look began, answered late
        pods = await real_existing(namespace)
        await go_on.wait()
        return pods

    loop.runner.actuator.existing = slow_existing
    look = asyncio.ensure_future(loop.runner.tick(Clock(standin)()))
    await asyncio.sleep(0.05)
    asked = asyncio.ensure_future(loop.on_intent("bob", "gpu-a10"))
    for _ in range(100):  # give the request its chance to create the pod during the look
        await asyncio.sleep(0.01)
        if asked.done():
            break
    go_on.set()
    await look
    assert (await asked).warm
    loop.runner.actuator.existing = real_existing
    await loop.runner.tick(Clock(standin)())
    assert len(placeholders(standin)) == 1 and loop.log.entries() == []
    assert [p["outcome"] for p in loop.status()["placeholders"]] == [None]


async def test_a_look_between_the_spawners_delete_and_its_pod_waits_for_the_pod(standin, tmp_path, api):
    # found in CI: the spawner deleted the placeholder, the hub's event loop stalled 2 s before
    # KubeSpawner created bob's pod, and a look in between logged the placeholder as wasted
    loop = intent_loop(tmp_path, Clock(standin))
    await loop.step(api)
    core = loop.runner.actuator.core
    assert (await loop.on_intent("bob", "gpu-a10")).warm
    [name] = placeholders(standin)
    await standin.clock.advance(30)
    await core.delete_namespaced_pod(name, "default", grace_period_seconds=0)  # as the spawner does
    await loop.runner.tick(Clock(standin)())  # bob's pod is not there yet
    assert loop.log.entries() == [] and [p["outcome"] for p in loop.status()["placeholders"]] == [None]
    await standin.clock.advance(2)
    await core.create_namespaced_pod("default", user_pod("bob", "gpua10"))  # KubeSpawner, a moment later
    await standin.clock.advance(13)
    await loop.runner.tick(Clock(standin)())
    [entry] = loop.log.entries()
    assert (entry["outcome"], entry["origin"]) == (USED, "intent") and abs(entry["wait_saved_seconds"] - 32) <= 1

    # removed by someone else, and no user pod follows: wasted after the grace, paid to the first look
    assert (await loop.on_intent("carol", "gpu-a10")).warm
    [other] = placeholders(standin)
    await core.delete_namespaced_pod(other, "default", grace_period_seconds=0)
    await loop.runner.tick(Clock(standin)())
    gone_at = Clock(standin)()
    for _ in range(3):
        await standin.clock.advance(15)
        await loop.runner.tick(Clock(standin)())
    assert len(loop.log.entries()) == 1  # 45 s: still waiting for a pod
    await standin.clock.advance(30)
    await loop.runner.tick(Clock(standin)())
    wasted = loop.log.entries()[-1]
    assert (wasted["outcome"], wasted["note"]) == (WASTED, "removed by someone else")
    assert datetime.fromisoformat(wasted["ended"]) == gone_at


def user_pod(user: str, pool: str) -> dict:
    """A user pod as KubeSpawner makes it, with the labels hybridhub's spawner adds (pool)."""
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": f"jupyter-{user}", "labels": {"component": "singleuser-server", "hybridhub/pool": pool}},
            "spec": {"containers": [{"name": "notebook", "image": CATALOG.get("gpu-a10").image}],
                     "nodeSelector": {"agentpool": pool}}}


class NoLooks:
    """A runner that does not look while the user's start runs (a look that is late or failed)."""

    async def tick(self, now) -> None:
        return None


async def test_a_start_that_took_the_node_between_two_looks_is_counted_as_used(standin, tmp_path, api, kubespawner):
    # the node was nearly up when bob came: his pod is Running before the warm-up's next look
    loop = intent_loop(tmp_path, Clock(standin))
    await loop.step(api)
    asked = Clock(standin)()
    assert (await loop.on_intent("bob", "gpu-a10")).warm
    [name] = placeholders(standin)
    scene = Scene(standin, NoLooks(), tmp_path)
    await scene.tick(COLD - 30)  # the node asked for is still booting
    assert not pod(standin, name)["spec"].get("nodeName")
    spawner = scene.spawner("bob")
    await scene.spawn(spawner)
    user_pod = scene.pod(spawner.pod_name)
    assert user_pod["status"]["phase"] == "Running" and pod(standin, name) is None
    await loop.runner.tick(Clock(standin)())  # the first look since bob asked
    [entry] = loop.log.entries()
    head_start = (stamp(user_pod["metadata"]["creationTimestamp"]) - asked).total_seconds()
    assert (entry["origin"], entry["outcome"]) == ("intent", USED), entry
    assert abs(entry["wait_saved_seconds"] - head_start) <= 1 and head_start >= COLD - 30
    # paid until bob's pod took it, not until this late look
    assert abs(entry["node_seconds"] - head_start) <= 1, entry
    await scene.stop(spawner)


async def test_a_user_who_does_not_come_leaves_a_node_released_at_the_end_of_the_hold(standin, tmp_path, api):
    loop = intent_loop(tmp_path, Clock(standin))
    await loop.step(api)
    assert (await loop.on_intent("carol", "gpu-a10")).warm
    [name] = placeholders(standin)
    scene = Scene(standin, loop.runner, tmp_path)
    await scene.tick(14 * 60)
    assert placeholders(standin) == [name] and pod(standin, name)["spec"].get("nodeName")  # warm, waiting
    await scene.tick(2 * 60)
    assert placeholders(standin) == []
    [entry] = loop.log.entries()
    assert (entry["origin"], entry["outcome"]) == ("intent", WASTED)
    # paid from its creation to the hold's end plus the pool's scale-down time (actuator_log.py)
    scale_down = CATALOG.get("gpu-a10").pool.scale_down_unneeded_seconds
    assert 15 * 60 + scale_down <= entry["node_seconds"] <= 15 * 60 + 15 + scale_down


async def test_no_warm_up_for_a_cpu_or_unknown_profile_or_over_the_budget(standin, tmp_path, api):
    views = [BudgetView(Fraction(100000) - 10, Fraction(100000))]  # 10 left: 15 min of an A10 costs 18.68
    loop = intent_loop(tmp_path, Clock(standin), budget=lambda: views[0])
    await loop.step(api)
    assert (await loop.on_intent("bob", "cpu")).reason == "not_gpu"
    assert (await loop.on_intent("bob", "gpu-nope")).reason == "unknown_profile"
    refused = await loop.on_intent("bob", "gpu-a10")
    assert (refused.warm, refused.reason, refused.to_json()["cost"]) == (False, "budget_would_exceed", "18.68")
    views[0] = BudgetView(Fraction(100001), Fraction(100000))
    assert (await loop.on_intent("bob", "gpu-a10")).reason == "budget_over"
    assert placeholders(standin) == [] and loop.log.entries() == []


# -- the route ---------------------------------------------------------------------------------------------
MODELS = {"alice": {"kind": "user", "name": "alice", "admin": False, "scopes": []},
          "svc": {"kind": "service", "name": "hybridhub-culler", "scopes": []}}


@pytest.fixture
async def served(monkeypatch):
    monkeypatch.setattr(cost_web.CostHandler, "get_current_user",
                        lambda self: MODELS.get(self.request.headers.get("Authorization", "").removeprefix("token ")))
    asked = []

    async def intent(user, profile):
        asked.append((user, profile))
        if profile == "broken":
            raise ConnectionError("the API server is unreachable")
        return IntentDecision(True, "warm_on_intent", "gpua10", datetime(2027, 1, 15, 8, 15), Fraction("18.675"))

    sock, port = bind_unused_port()
    http = HTTPServer(cost_web.make_app(PREFIX, dict, b"x" * 32, warmup=dict, intent=intent))
    http.add_sockets([sock])
    yield f"http://127.0.0.1:{port}{PREFIX}api/warmup/intent", asked
    http.stop()


async def post(url, token, body, lang="en"):
    headers = {"Accept-Language": lang, **({"Authorization": f"token {token}"} if token else {})}
    try:
        r = await AsyncHTTPClient().fetch(url, method="POST", body=body if isinstance(body, str) else json.dumps(body),
                                          headers=headers)
        return r.code, json.loads(r.body)
    except HTTPClientError as error:
        return error.code, json.loads(error.response.body)


async def test_the_route_warms_for_the_tokens_user_and_answers_in_her_language(served):
    url, asked = served
    code, body = await post(url, "alice", {"profile": "gpu-a10"}, lang="ja")
    assert code == 200 and asked == [("alice", "gpu-a10")]
    assert body == {"warm": True, "reason": "warm_on_intent", "pool": "gpua10", "until": "2027-01-15T08:15:00",
                    "cost": "18.68", "message": i18n.JA["warm_on_intent"]}
    assert (await post(url, "alice", {"profile": "gpu-a10"}))[1]["message"] == i18n.EN["warm_on_intent"]


@pytest.mark.parametrize("token, body, status, reason", [
    (None, {"profile": "gpu-a10"}, 403, "intent_no_token"),
    ("nobody", {"profile": "gpu-a10"}, 403, "intent_not_a_user"),
    ("svc", {"profile": "gpu-a10"}, 403, "intent_not_a_user"),
    ("alice", "{", 400, "intent_bad_request"),
    ("alice", ["gpu-a10"], 400, "intent_bad_request"),
    ("alice", {"profile": "gpu-a10", "user": "bob"}, 400, "intent_bad_request"),
    ("alice", {"profile": ""}, 400, "intent_bad_request"),
    ("alice", {"profile": 7}, 400, "intent_bad_request"),
    ("alice", {"profile": "x" * 256}, 400, "intent_bad_request"),
    ("alice", {"profile": "broken"}, 503, "intent_failed"),
])
async def test_the_route_refuses_with_a_reason(served, token, body, status, reason):
    url, asked = served
    code, answer = await post(url, token, body, lang="ja")
    assert (code, answer["reason"]) == (status, reason)
    assert answer["message"].startswith(MESSAGES["ja"][reason].split("{")[0])
    assert asked == ([("alice", "broken")] if reason == "intent_failed" else [])


def test_every_intent_reason_reads_in_both_languages():
    for code in ("warm_on_intent", "not_gpu", "unknown_profile", "rate_limited", "warmup_starting", "budget_over",
                 "budget_would_exceed", "no_price", "budget_stop"):
        assert i18n.EN[code] and i18n.JA[code] and i18n.text(code, "ja") != i18n.text(code, "en")
    for code in ("intent_no_token", "intent_not_a_user", "intent_bad_request", "intent_failed"):
        assert MESSAGES["en"][code] and MESSAGES["ja"][code]
