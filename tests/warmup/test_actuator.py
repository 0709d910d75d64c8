"""The warm-up on the cluster: placeholders created at a window's start, taken by the user's pod,
released at its end, removed when their node never joins, stopped by the budget, all recorded.

Against the Kubernetes stand-in on its manual clock (cluster built from the profile catalog, as the
spawner tests do), with the real plan (:func:`.schedule.next_plan`) from a known start history.
The runner is ticked every 15 s of simulated time, as its loop does (``c.WarmupPolicy.tick_seconds``).
"""

from __future__ import annotations

import asyncio
from datetime import date, datetime, timedelta, timezone
from fractions import Fraction

import aiohttp
import pytest

from hybridhub.hub_ext.cost.money import exact_str
from hybridhub.hub_ext.warmup.actuator_runner import WarmupRunner, already_here
from hybridhub.hub_ext.warmup.actuator_setup import runner_for
from hybridhub.hub_ext.warmup.budget_stop import BudgetView
from hybridhub.hub_ext.warmup.history import StartHistory, StartRecord
from hybridhub.hub_ext.warmup.manifest import PAUSE_IMAGE, priority_class
from hybridhub.hub_ext.warmup.schedule import next_plan, placeholders_for
from hybridhub.hub_ext.warmup.settings import WarmupPolicy
from hybridhub.spawner.coldstarts import ColdStartHistory
from hybridhub.spawner.pod import profile_overrides
from hybridhub.spawner.profiles import ProfileCatalog
from tests.kube.conftest import api_client_for
from tests.kube_standin import KubeStandIn, load_config
from tests.kube_standin.from_catalog import cluster_from_catalog

pytestmark = [pytest.mark.warmup, pytest.mark.kube]

UTC = timezone.utc
FRIDAY = date(2027, 1, 15)  # the manual clock starts on it at 08:00 UTC (tests/kube_standin/clock.py)
PRICES = {"gpua10": Fraction("74.7"), "gpua10large": Fraction("263.61")}
ROOM = BudgetView(Fraction(0), Fraction(100000))
CATALOG = ProfileCatalog()
GPU = CATALOG.get("gpu-a10")
LEAD = GPU.pool.usual_cold_start_seconds  # 420 s: no cold start measured yet
SCALE_DOWN = GPU.pool.scale_down_unneeded_seconds  # 300 s


def at(hhmm: str, seconds: float = 0) -> datetime:
    h, m = map(int, hhmm.split(":"))
    return datetime(FRIDAY.year, FRIDAY.month, FRIDAY.day, h, m, tzinfo=UTC) + timedelta(seconds=seconds)


class Scene:
    """The stand-in, the runner for Friday's plan (alice starts near 08:15 UTC), and a clock that ticks it."""

    def __init__(self, standin, runner, log, placeholders):
        self.standin, self.runner, self.log, self.placeholders = standin, runner, log, placeholders

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.standin.clock.now(), UTC)

    async def until(self, when: datetime, step: float = 15) -> None:
        while self.now() < when:
            await self.standin.clock.advance(min(step, (when - self.now()).total_seconds()))
            await self.runner.tick(self.now())

    def pods(self, component: str) -> list[dict]:
        return self.standin.store.list(
            "pods", "default", lambda p: p["metadata"]["labels"].get("app.kubernetes.io/component") == component
            or p["metadata"]["labels"].get("component") == component)

    def gpu_nodes(self) -> list[str]:
        return sorted(n for n, s in self.standin.cluster.nodes.items() if s.pool.name == "gpua10")

    def reasons(self, name: str) -> list[str]:
        evs = self.standin.store.list("events", "default", lambda e: e["involvedObject"]["name"] == name)
        return [e["reason"] for e in sorted(evs, key=lambda e: int(e["metadata"]["resourceVersion"]))]


def friday_history(path) -> StartHistory:
    history = StartHistory(path)
    for day, hhmm in [(8, "08:15"), (11, "08:10"), (12, "08:20"), (13, "08:15"), (14, "08:12")]:
        h, m = map(int, hhmm.split(":"))
        history.append(StartRecord("alice", "gpu-a10", "gpua10", datetime(2027, 1, day, h, m, tzinfo=UTC), True, 430.0))
    return history


async def make_scene(tmp_path, closers, **pool_changes) -> Scene:
    data = cluster_from_catalog(CATALOG)
    data["images"][PAUSE_IMAGE] = "1Mi"  # pause 3.10 is well under a megabyte
    for pool in data["pools"]:
        pool.update(pool_changes.get(pool["name"], {}))
    standin = KubeStandIn(load_config(data), manual_clock=True)
    await standin.start(kubeconfig_dir=str(tmp_path))
    closers.append(standin.stop)
    api = api_client_for(standin)
    closers.append(api.close)
    policy = WarmupPolicy(timezone="UTC", log_file=str(tmp_path / "warmup-log.jsonl"))
    coldstarts = ColdStartHistory(tmp_path / "cold-starts.json")
    day_plan = next_plan(policy, CATALOG, coldstarts, friday_history(tmp_path / "starts.jsonl"), PRICES, ROOM,
                         at("07:00"), day=FRIDAY)
    placeholders = placeholders_for(day_plan, CATALOG, policy, "default")
    budget = [ROOM]  # the cost service's current view; a test may turn it over
    runner = runner_for(policy, CATALOG, coldstarts, api, "default", PRICES, lambda: budget[0])
    runner.load(placeholders)
    scene = Scene(standin, runner, runner.log, placeholders)
    scene.budget = budget
    return scene


@pytest.fixture
async def closers():
    found = []
    yield found
    for close in reversed(found):
        await close()


@pytest.fixture
async def scene(tmp_path, closers):
    return await make_scene(tmp_path, closers)


def user_pod(name: str, user: str = "alice") -> dict:
    """A user's pod as KubeSpawner builds it from the gpu-a10 profile (hybridhub.spawner.pod.profile_overrides;
    kubespawner/spawner.py _build_common_annotations: the ``hub.jupyter.org/username`` annotation)."""
    o = profile_overrides(GPU)
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "labels": {"component": "singleuser-server", **o["extra_labels"]},
                         "annotations": {"hub.jupyter.org/username": user}},
            "spec": {"nodeSelector": o["node_selector"], "tolerations": o["tolerations"],
                     "containers": [{"name": "notebook", "image": o["image"], "resources": {
                         "requests": {"cpu": f"{o['cpu_guarantee']:g}", "memory": o["mem_guarantee"],
                                      **o["extra_resource_guarantees"]},
                         "limits": {"cpu": f"{o['cpu_limit']:g}", "memory": o["mem_limit"],
                                    **o["extra_resource_limits"]}}}]}}


async def create(scene, body) -> str:
    """Through the API server, as KubeSpawner does; the pod's uid."""
    return (await scene.runner.actuator.core.create_namespaced_pod("default", body)).metadata.uid


def test_the_plan_holds_one_gpu_node_from_the_lead_before_alice(scene):
    [p] = scene.placeholders
    assert (p["start"], p["end"]) == (at("08:15", -LEAD).isoformat(), at("08:45").isoformat())
    assert p["manifest"]["metadata"]["labels"]["hybridhub/pool"] == "gpua10"
    assert "alice" not in str(p["manifest"])  # no user name in names or labels


async def test_a_warm_node_is_up_before_alice_and_her_pod_preempts_the_placeholder(scene):
    await scene.until(at("08:07"))
    assert scene.pods("warmup-placeholder") == [] and scene.standin.store.find(
        "priorityclasses", None, "hybridhub-warmup-placeholder") is None  # nothing before the window
    await scene.until(at("08:08", 15))
    [ph] = scene.pods("warmup-placeholder")
    assert ph["spec"]["priority"] == -10 and ph["spec"]["priorityClassName"] == "hybridhub-warmup-placeholder"
    assert scene.standin.store.find("priorityclasses", None, "hybridhub-warmup-placeholder")["value"] == -10
    assert "TriggeredScaleUp" in scene.reasons(ph["metadata"]["name"])
    await scene.until(at("08:15"))
    [node] = scene.gpu_nodes()  # up before alice starts
    assert scene.standin.store.find("pods", "default", ph["metadata"]["name"])["spec"]["nodeName"] == node
    alice_uid = await create(scene, user_pod("jupyter-alice"))
    await scene.until(at("08:16"))
    # the scheduler preempted the placeholder for her (grace 0: gone at once), she is on the warm node
    assert scene.reasons(ph["metadata"]["name"])[-1] == "Preempted"
    [preempted] = scene.standin.store.list("events", "default", lambda e: e["reason"] == "Preempted")
    assert preempted["message"] == f"Preempted by pod {alice_uid} on node {node}"
    assert scene.pods("warmup-placeholder") == []
    pod = scene.standin.store.find("pods", "default", "jupyter-alice")
    assert pod["spec"]["nodeName"] == node
    assert "TriggeredScaleUp" not in scene.reasons("jupyter-alice")
    await scene.until(at("09:00"))  # past the window: no new placeholder, no second node
    assert scene.gpu_nodes() == [node] and scene.pods("warmup-placeholder") == []
    assert scene.standin.store.find("pods", "default", "jupyter-alice")["status"]["phase"] == "Running"
    [entry] = scene.log.entries()
    assert (entry["outcome"], entry["node"], entry["wait_saved_seconds"]) == ("used", node, float(LEAD))
    # node time paid by the warm-up: from its creation until alice's pod took the node
    assert entry["created"] == at("08:15", -LEAD).isoformat()  # the window's start, on a tick
    assert 0 < entry["node_seconds"] <= (at("08:16") - at("08:15", -LEAD)).total_seconds()
    assert entry["cost"] == exact_str(PRICES["gpua10"] * Fraction(round(entry["node_seconds"])) / 3600, 2)


async def test_no_warm_node_for_someone_who_already_has_a_server_when_the_window_opens(scene):
    await scene.until(at("08:00"))
    await create(scene, user_pod("jupyter-alice"))  # alice came early: her own start asks for her node
    await scene.until(at("08:20"))
    assert scene.pods("warmup-placeholder") == []
    assert [(r["reason"], r["pool"]) for r in scene.runner.refused] == [("already_here", "gpua10")]
    assert "alice" not in str(scene.runner.refused)  # the admin page shows no user name here
    assert len(scene.gpu_nodes()) == 1 and scene.log.entries() == []  # hers only; nothing paid, nothing logged
    assert scene.standin.store.find("pods", "default", "jupyter-alice")["status"]["phase"] == "Running"


def test_already_here_needs_everyone_of_the_window_and_ignores_a_pod_being_deleted():
    alice, bob = user_pod("jupyter-alice"), user_pod("jupyter-bob", user="bob")
    leaving = user_pod("jupyter-carol", user="carol")
    leaving["metadata"]["deletionTimestamp"] = "2027-01-15T08:00:00Z"  # stopping: no server for long
    assert already_here(["alice"], [alice, bob]) and already_here(["alice", "bob"], [alice, bob])
    assert not already_here(["alice", "dan"], [alice, bob])  # a shared window: dan may still come
    assert not already_here(["carol"], [leaving]) and not already_here([], [alice])  # intent: no users


async def test_someone_elses_server_does_not_stand_in_for_the_person_a_window_is_for(scene):
    await scene.until(at("08:00"))
    await create(scene, user_pod("jupyter-bob", user="bob"))
    await scene.until(at("08:08", 15))
    assert len(scene.pods("warmup-placeholder")) == 1 and scene.runner.refused == []


async def test_a_user_who_never_comes_releases_the_node_at_the_windows_end(scene):
    await scene.until(at("08:30"))
    [ph] = scene.pods("warmup-placeholder")
    [node] = scene.gpu_nodes()
    await scene.until(at("08:45"))
    assert scene.pods("warmup-placeholder") == []  # released at the window's end
    [entry] = scene.log.entries()
    assert (entry["outcome"], entry["ended"], entry["wait_saved_seconds"]) == ("wasted", at("08:45").isoformat(), 0.0)
    assert entry["node_seconds"] == (at("08:45") - at("08:15", -LEAD)).total_seconds() + SCALE_DOWN
    assert ph["metadata"]["name"] not in [e.get("placeholder") for e in scene.runner.refused]
    # the autoscaler removes the empty node after the pool's scale-down time
    await scene.until(at("08:45", SCALE_DOWN - 30))
    assert node in scene.gpu_nodes()
    await scene.until(at("08:45", SCALE_DOWN + 120))
    assert scene.standin.store.find("nodes", None, node) is None and scene.gpu_nodes() == []


async def test_a_node_that_never_joins_loses_its_placeholder(tmp_path, closers):
    # the stand-in's asynchronous allocation failure: TriggeredScaleUp, then no VM (autoscaler.py)
    scene = await make_scene(tmp_path, closers, gpua10={"fail_scale_up": "allocation"})
    await scene.until(at("08:08", 15))
    [ph] = scene.pods("warmup-placeholder")
    timeout = LEAD * scene.runner.node_join_factor  # 1260 s
    await scene.until(at("08:15", -LEAD + timeout - 15))
    assert [p["metadata"]["name"] for p in scene.pods("warmup-placeholder")] == [ph["metadata"]["name"]]
    await scene.until(at("08:15", -LEAD + timeout + 15))
    assert scene.pods("warmup-placeholder") == [] and scene.gpu_nodes() == []
    [entry] = scene.log.entries()
    assert (entry["outcome"], entry["node"], entry["node_seconds"], entry["cost"]) == ("never_joined", None, 0.0, "0")


async def test_budget_over_mid_day_releases_the_warm_node_and_says_why(scene):
    await scene.until(at("08:20"))
    assert len(scene.pods("warmup-placeholder")) == 1
    scene.budget[0] = BudgetView(Fraction(101000), Fraction(100000))  # the projection turned over
    await scene.until(at("08:20", 15))
    assert scene.pods("warmup-placeholder") == []
    [entry] = scene.log.entries()
    assert (entry["outcome"], entry["reason"]) == ("budget_stop", "budget_over")
    stopped = scene.runner.status()["stopped"]
    assert stopped["reason"] == "budget_over" and stopped["projected"] == "101000" and stopped["budget"] == "100000"


async def test_budget_over_before_the_window_creates_nothing(scene):
    scene.budget[0] = BudgetView(Fraction(101000), Fraction(100000))
    await scene.until(at("08:30"))
    assert scene.pods("warmup-placeholder") == [] and scene.gpu_nodes() == []
    assert [r["reason"] for r in scene.runner.status()["refused"]] == ["budget_over"]
    assert scene.log.entries() == []  # nothing was spent


async def test_a_user_who_comes_before_the_node_joined_gets_the_node_on_its_way(scene):
    await scene.until(at("08:11"))  # the placeholder's node has been coming for 3 min (since 08:08)
    [ph] = scene.pods("warmup-placeholder")
    assert not ph["spec"].get("nodeName") and scene.gpu_nodes() == []
    await create(scene, user_pod("jupyter-alice"))
    await scene.until(at("08:11", 15))
    assert scene.pods("warmup-placeholder") == []  # deleted while unscheduled: the node coming is hers
    [entry] = scene.log.entries()
    assert (entry["outcome"], entry["node"], entry["wait_saved_seconds"]) == ("used", None, 195.0)
    await scene.until(at("08:16"))
    alice = scene.standin.store.find("pods", "default", "jupyter-alice")
    first = min(scene.gpu_nodes(), key=lambda n: scene.standin.store.get("nodes", None, n)["metadata"]["creationTimestamp"])
    assert alice["spec"]["nodeName"] == first  # the node the placeholder asked for at 08:08
    # what the runner cannot prevent: the autoscaler's loop saw her pending before the runner's next
    # tick and asked a node for her too (the placeholder's was not free for her then); it joins empty
    # and goes after the pool's scale-down time
    assert scene.standin.cluster.autoscaler.upcoming_count("gpua10") == 1
    await scene.until(at("08:30"))
    assert scene.gpu_nodes() == [first] and scene.standin.cluster.autoscaler.upcoming_count("gpua10") == 0
    assert datetime.fromisoformat(
        scene.standin.store.get("nodes", None, first)["metadata"]["creationTimestamp"].replace("Z", "+00:00")) < at("08:16")


async def test_a_user_pod_beside_the_placeholder_ends_it_at_once(scene):
    """A node with room for both (here a pod of the pool without a GPU): no preemption, so the runner
    deletes the placeholder as soon as the user pod runs there, and it is never created again."""
    await scene.until(at("08:20"))
    [ph] = scene.pods("warmup-placeholder")
    node = scene.standin.store.find("pods", "default", ph["metadata"]["name"])["spec"]["nodeName"]
    small = user_pod("jupyter-bob")
    resources = small["spec"]["containers"][0]["resources"]
    resources["requests"], resources["limits"] = {"cpu": "500m", "memory": "1Gi"}, {"cpu": "1", "memory": "2Gi"}
    await create(scene, small)
    await scene.until(at("08:20", 15))
    assert scene.standin.store.find("pods", "default", "jupyter-bob")["spec"]["nodeName"] == node
    assert len(scene.pods("warmup-placeholder")) == 1  # not Running yet: pulling 7 GiB at 40 MiB/s
    await scene.until(at("08:25"))
    assert scene.standin.store.find("pods", "default", "jupyter-bob")["status"]["phase"] == "Running"
    assert "Preempted" not in scene.reasons(ph["metadata"]["name"])
    assert scene.pods("warmup-placeholder") == []
    await scene.until(at("08:50"))
    assert scene.pods("warmup-placeholder") == []
    [entry] = scene.log.entries()
    assert (entry["outcome"], entry["node"], entry["wait_saved_seconds"]) == ("used", node, float(LEAD))


async def test_a_window_the_budget_cannot_pay_for_is_not_started(scene):
    # the rest of the 37-minute window costs 74.7 x 37/60 = 46.07; only 40 left
    scene.budget[0] = BudgetView(Fraction(99960), Fraction(100000))
    await scene.until(at("08:30"))
    assert scene.pods("warmup-placeholder") == [] and scene.runner.status()["stopped"] is None
    assert [r["reason"] for r in scene.runner.status()["refused"]] == ["budget_would_exceed"]


async def test_the_run_loop_ticks_until_stopped_and_survives_a_failed_look(scene, caplog):
    stop = asyncio.Event()
    real_existing = scene.runner.actuator.existing
    failures = []

    async def flaky(namespace):  # the API server refuses one look (e.g. restarting)
        if scene.now() == at("08:30", 5):
            failures.append(scene.now())
            raise aiohttp.ClientConnectionError("connection refused")
        return await real_existing(namespace)

    scene.runner.actuator.existing = flaky

    async def sleep(seconds):
        await scene.standin.clock.advance(seconds)
        if scene.now() >= at("08:50"):
            stop.set()

    await scene.standin.clock.advance((at("08:00", 5) - scene.now()).total_seconds())
    await scene.runner.run(scene.now, sleep, 15, stop)
    assert failures == [at("08:30", 5)] and "a look at the placeholders failed" in caplog.text
    [entry] = scene.log.entries()
    assert (entry["outcome"], entry["ended"]) == ("wasted", at("08:45", 5).isoformat())
    assert scene.pods("warmup-placeholder") == []


async def test_after_a_hub_restart_a_taken_placeholder_is_not_created_again(scene):
    await scene.until(at("08:15"))
    await create(scene, user_pod("jupyter-alice"))
    await scene.until(at("08:16"))
    assert [e["outcome"] for e in scene.log.entries()] == ["used"]
    restarted = WarmupRunner(scene.runner.actuator, scene.log, "default", priority_class(), PRICES, {"gpua10": LEAD},
                             {"gpua10": SCALE_DOWN}, lambda: ROOM)
    restarted.load(scene.placeholders)
    scene.runner = restarted
    await scene.until(at("08:30"))
    assert scene.pods("warmup-placeholder") == [] and len(scene.gpu_nodes()) == 1
    assert [p["outcome"] for p in restarted.status()["placeholders"]] == ["used"]
    assert [e["outcome"] for e in scene.log.entries()] == ["used"]  # logged once, before the restart
