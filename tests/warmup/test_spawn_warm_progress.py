"""A real HybridKubeSpawner start against the Kubernetes stand-in, with the hub's real warm-up runner:
the spawn progress says a GPU node was warmed up for the user, or that the warm-up's node is on its
way with its ETA counted from the warm-up's request, or gives the usual cold ETA.

Stand-in on its manual clock (cluster from the profile catalog, as tests/spawner and
tests/warmup/test_actuator.py build it); simulated time is moved one second at a time while the
spawner runs, and the runner (hub_ext warmup/actuator_runner.py) ticks every 15 simulated seconds, as
its loop does. Preemption is the stand-in's scheduler (kubernetes
pkg/scheduler/framework/preemption/preemption.go, covered by tests/kube/test_standin_priority.py):
the user pod (priority 0) displaces the placeholder (PriorityClass value -10, as zero-to-jupyterhub's
user placeholders) and the victim gets ``Preempted by pod <uid> on node <node>``.

Wait times are read from the cluster's own timestamps (creationTimestamp, the Ready condition's
lastTransitionTime), not from the test's polling.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime, timedelta, timezone
from fractions import Fraction

import pytest
from jupyterhub.objects import Hub, Server
from kubespawner import KubeSpawner

from hybridhub.hub_ext.warmup.actuator_log import USED
from hybridhub.hub_ext.warmup.actuator_setup import runner_for
from hybridhub.hub_ext.warmup.budget_stop import BudgetView
from hybridhub.hub_ext.warmup.manifest import PAUSE_IMAGE, placeholder_pod, window_id
from hybridhub.hub_ext.warmup.settings import WarmupPolicy
from hybridhub.spawner.coldstarts import ColdStartHistory
from hybridhub.spawner.kube import HybridKubeSpawner
from hybridhub.spawner.profiles import ProfileCatalog
from tests.kube.conftest import api_client_for, point_kubespawner_at
from tests.kube_standin import KubeStandIn, load_config
from tests.kube_standin.from_catalog import cluster_from_catalog
from tests.spawner.conftest import HubUser

pytestmark = [pytest.mark.spawner, pytest.mark.warmup, pytest.mark.kube]

UTC = timezone.utc
CATALOG = ProfileCatalog()
GPU = CATALOG.get("gpu-a10")
COLD = GPU.pool.usual_cold_start_seconds  # 420 s: the ETA while no cold start has been measured
PRICES = {"gpua10": Fraction("74.7"), "gpua10large": Fraction("263.61")}
ROOM = BudgetView(Fraction(0), Fraction(100000))


def stamp(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


class Scene:
    """The stand-in, the warm-up runner with one window opening now, and a spawner for alice."""

    def __init__(self, standin, runner, tmp_path):
        self.standin, self.runner, self.tmp_path = standin, runner, tmp_path
        self.placeholder = None

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.standin.clock.now(), UTC)

    def pod(self, name):
        return self.standin.store.find("pods", "default", name)

    def gpu_nodes(self) -> list[str]:
        return sorted(n for n, s in self.standin.cluster.nodes.items() if s.pool.name == "gpua10")

    def load_window(self) -> str:
        """One placeholder for gpu-a10 from now for two hours, as schedule.placeholders_for makes them."""
        start, end = self.now(), self.now() + timedelta(hours=2)
        manifest = placeholder_pod(GPU, window_id("gpua10", start.isoformat(), end.isoformat()), "default")
        self.runner.load([{"start": start.isoformat(), "end": end.isoformat(), "manifest": manifest}])
        self.placeholder = manifest["metadata"]["name"]
        return self.placeholder

    async def tick(self, seconds: float, until=lambda: False) -> None:
        """Move simulated time ``seconds`` (1 s steps), the runner looking every 15 s, or until ``until()``."""
        for second in range(int(seconds)):
            if until():
                return
            await self.standin.clock.advance(1)
            if second % 15 == 0:
                await self.runner.tick(self.now())
            await asyncio.sleep(0.005)

    def spawner(self, name="alice") -> HybridKubeSpawner:
        spawner = HybridKubeSpawner(
            user=HubUser(name), hub=Hub(), api_token="secret-token", oauth_client_id=f"jupyterhub-user-{name}",
            k8s_api_host=self.standin.url, http_timeout=10, k8s_api_request_timeout=5, namespace="default",
            cold_start_history_path=str(self.tmp_path / "cold-starts.json"),
            progress_interval=0.05, warm_look_interval=0.1)
        spawner.server = Server(base_url=f"/user/{name}/")
        spawner.user_options = {"profile": "gpu-a10"}
        return spawner

    async def spawn(self, spawner, before_pod=lambda: None, limit=1500):
        """start() and progress() side by side, as the hub runs them, while simulated time moves.

        Time stands still until the user pod exists, so its creation is at a known simulated time."""
        messages = []

        async def follow():
            async for event in spawner.progress():
                messages.append(event["message"])

        started = spawner.start()
        follower = asyncio.ensure_future(follow())
        while self.pod(spawner.pod_name) is None:
            assert not started.done(), started.exception()
            await asyncio.sleep(0.01)
        await self.tick(limit, until=started.done)
        url = await asyncio.wait_for(started, 30)
        await asyncio.wait_for(follower, 10)
        return url, messages

    async def stop(self, spawner) -> None:
        """KubeSpawner's stop waits for the pod to go: simulated time moves meanwhile."""
        stopping = asyncio.ensure_future(spawner.stop())
        await self.tick(120, until=stopping.done)
        await asyncio.wait_for(stopping, 30)

    def ready_at(self, name) -> datetime:
        [ready] = [c for c in self.pod(name)["status"]["conditions"] if c["type"] == "Ready"]
        assert ready["status"] == "True"
        return stamp(ready["lastTransitionTime"])

    def events(self, name) -> list[dict]:
        return sorted(self.standin.store.list("events", "default", lambda e: e["involvedObject"]["name"] == name),
                      key=lambda e: int(e["metadata"]["resourceVersion"]))


@contextlib.asynccontextmanager
async def scene_for(tmp_path, monkeypatch):
    data = cluster_from_catalog(CATALOG)
    data["images"][PAUSE_IMAGE] = "1Mi"
    standin = KubeStandIn(load_config(data), manual_clock=True)
    await standin.start(kubeconfig_dir=str(tmp_path))
    point_kubespawner_at(standin, monkeypatch)
    api = api_client_for(standin)
    policy = WarmupPolicy(timezone="UTC", log_file=str(tmp_path / "warmup-log.jsonl"))
    runner = runner_for(policy, CATALOG, ColdStartHistory(tmp_path / "cold-starts.json"), api, "default", PRICES,
                        lambda: ROOM)
    try:
        yield Scene(standin, runner, tmp_path)
    finally:
        await KubeSpawner._stop_all_reflectors()
        await api.close()
        await standin.stop()


@pytest.fixture
async def scene(tmp_path, monkeypatch):
    async with scene_for(tmp_path, monkeypatch) as s:
        yield s


def pre_pull(node: str) -> dict:
    """What zero-to-jupyterhub's continuous image puller runs on each user node (4.4.0,
    templates/image-puller/_helpers-daemonset.tpl): an init container per image that only echoes,
    so the kubelet pulls the image (IfNotPresent), then pause. Pinned to the warm node as the
    DaemonSet controller pins its pods (here by hostname)."""
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": f"continuous-image-puller-{node}", "labels": {"component": "continuous-image-puller"}},
            "spec": {"nodeSelector": {"kubernetes.io/hostname": node}, "terminationGracePeriodSeconds": 0,
                     "tolerations": [{"operator": "Exists"}], "automountServiceAccountToken": False,
                     "initContainers": [{"name": "image-pull-singleuser", "image": GPU.image,
                                         "command": ["/bin/sh", "-c", "echo Pulling complete"]}],
                     "containers": [{"name": "pause", "image": PAUSE_IMAGE,
                                     "resources": {"requests": {"cpu": "0", "memory": "0"}}}]}}


async def test_a_placeholder_on_a_ready_node_is_preempted_and_the_progress_says_warmed(scene):
    name = scene.load_window()
    await scene.tick(COLD + 60, until=lambda: (scene.pod(name) or {}).get("status", {}).get("phase") == "Running")
    held = scene.pod(name)
    assert held["status"]["phase"] == "Running", held["status"]
    [node] = scene.gpu_nodes()
    assert held["spec"]["nodeName"] == node
    puller = pre_pull(node)
    await scene.runner.actuator.core.create_namespaced_pod("default", puller)
    await scene.tick(600, until=lambda: scene.pod(puller["metadata"]["name"])["status"]["phase"] == "Running")
    assert scene.pod(puller["metadata"]["name"])["status"]["phase"] == "Running"

    spawner = scene.spawner()
    url, messages = await scene.spawn(spawner)
    pod = scene.pod(spawner.pod_name)
    assert url == f"http://{pod['status']['podIP']}:8888"
    # the scheduler preempted the placeholder for this pod, on the warm node
    assert scene.pod(name) is None and pod["spec"]["nodeName"] == node
    assert [e["message"] for e in scene.events(name) if e["reason"] == "Preempted"] == [
        f"Preempted by pod {pod['metadata']['uid']} on node {node}"]
    warmed = f"A GPU node was warmed up for you ({node}), so there is no wait for a new node: starting your server now."
    assert warmed in messages, messages
    assert not any(m.startswith(("Requesting a GPU node", "Downloading")) or "on its way" in m for m in messages)
    assert "Image ready; starting the container." in messages, messages
    assert messages.index(warmed) < next(i for i, m in enumerate(messages) if m.startswith("Starting Jupyter"))
    # ready within seconds of simulated time: the image was on the node, no node to wait for
    waited = (scene.ready_at(spawner.pod_name) - stamp(pod["metadata"]["creationTimestamp"])).total_seconds()
    assert waited <= 15, waited
    assert [e["message"] for e in scene.events(spawner.pod_name) if e["reason"] == "Pulled"] == [
        f'Container image "{GPU.image}" already present on machine']
    assert scene.gpu_nodes() == [node]  # no second node
    # a warm start is neither a measured cold start nor counted as one
    assert not (scene.tmp_path / "cold-starts.json").exists()
    await scene.tick(30)
    assert [r["outcome"] for r in scene.runner.log.entries()] == [USED]
    await scene.stop(spawner)


async def test_a_placeholder_still_booting_gives_the_eta_from_its_creation(scene):
    name = scene.load_window()
    await scene.tick(121)  # the runner created it at its first look; the node asked for boots
    created = stamp(scene.pod(name)["metadata"]["creationTimestamp"])
    assert not scene.pod(name)["spec"].get("nodeName")
    spawner = scene.spawner()
    spawner.user_options = {"profile": "gpu-a10", "lang": "ja"}
    url, messages = await scene.spawn(spawner)
    pod = scene.pod(spawner.pod_name)
    head_start = (stamp(pod["metadata"]["creationTimestamp"]) - created).total_seconds()
    assert head_start == 120
    # ETA = the placeholder's creation + the pool's cold start (420 s): 5 min left, not 7
    coming = ("GPU ノードはすでに起動中です（ウォームアップが 2 分前に要求しました）。あと約 5 分で準備できます"
              "（gpua10 プールのノードは通常 7 分かかります）。")
    assert coming in messages, messages
    assert not any("ノードを要求しています" in m or "事前に起動しておいた" in m for m in messages), messages
    # her start took the booting node: the spawner deleted the still unscheduled placeholder just before
    # it created her pod, so no autoscaler scan saw both pending (cluster-autoscaler packs pending pods
    # onto upcoming nodes by priority and would scale up a second node for the placeholder:
    # kubernetes/autoscaler FAQ "upcoming nodes", core/scaleup/orchestrator). The first GPU node, the one
    # the placeholder's scale-up asked for, is hers, and no second one comes.
    node = pod["spec"]["nodeName"]
    assert node == scene.gpu_nodes()[0] and scene.pod(name) is None
    seen = set(scene.gpu_nodes())
    await scene.tick(COLD + 60, until=lambda: seen.update(scene.gpu_nodes()))  # every node that joins meanwhile
    assert seen == {node}, seen
    [used] = scene.runner.log.entries()
    # the head start up to her pod's creation (when the spawner deleted the placeholder), not to the
    # runner's next look (it looks every 15 s)
    assert used["outcome"] == USED and abs(used["wait_saved_seconds"] - head_start) <= 1, (used, head_start)
    # and it came when the warm-up's request said, not a full cold start after she asked
    scheduled = [e for e in scene.events(spawner.pod_name) if e["reason"] == "Scheduled"]
    node_wait = (stamp(scheduled[-1]["metadata"]["creationTimestamp"]) - created).total_seconds()
    assert COLD - 15 <= node_wait <= COLD + 60, node_wait
    assert (stamp(scheduled[-1]["metadata"]["creationTimestamp"])
            - stamp(pod["metadata"]["creationTimestamp"])).total_seconds() < COLD - 60
    assert not (scene.tmp_path / "cold-starts.json").exists()  # a head-started wait is not a cold start
    await scene.stop(spawner)


async def test_no_placeholder_keeps_the_cold_eta(scene):
    spawner = scene.spawner()
    url, messages = await scene.spawn(spawner)
    assert "Requesting a GPU node from the gpua10 pool — usually about 7 min." in messages, messages
    assert not any("warmed up" in m or "on its way" in m for m in messages), messages
    assert spawner.warm_news is None
    # the measured cold start becomes the next ETA, as before
    assert len(ColdStartHistory(scene.tmp_path / "cold-starts.json").measurements("gpua10")) == 1
    await scene.stop(spawner)


async def test_a_refused_look_leaves_the_cold_eta_and_is_not_repeated(scene, caplog):
    from kubernetes_asyncio.client.rest import ApiException

    scene.load_window()
    await scene.tick(121)  # a placeholder is booting, but this hub may not list it
    spawner = scene.spawner()
    calls = []

    async def refused(*args, **kwargs):
        calls.append(kwargs.get("label_selector"))
        raise ApiException(status=403, reason="Forbidden")

    # the same API object KubeSpawner's own calls go through: only the warm-up look is refused
    real_list = spawner.api.list_namespaced_pod
    spawner.api.list_namespaced_pod = lambda *a, **kw: (
        refused(*a, **kw) if "hybridhub/warmup=true" in (kw.get("label_selector") or "") else real_list(*a, **kw))
    try:
        url, messages = await scene.spawn(spawner)
    finally:
        spawner.api.list_namespaced_pod = real_list
    assert calls == ["hybridhub/warmup=true,hybridhub/pool=gpua10"]  # asked once, then never again
    assert spawner.warm_news is None and spawner.warm_look_interval == 0
    assert not any("on its way" in m or "warmed up" in m for m in messages), messages
    assert "Not looking for warm-up placeholders of pool gpua10: the API answered 403 Forbidden" in caplog.text
    await scene.stop(spawner)
