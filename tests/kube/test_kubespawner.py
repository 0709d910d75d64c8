"""The real, unmodified KubeSpawner spawns and stops a pod through the stand-in."""

from __future__ import annotations

import asyncio

import pytest
from jupyterhub.objects import Hub, Server
from kubespawner import KubeSpawner

from .conftest import point_kubespawner_at

pytestmark = pytest.mark.kube


class HubUser:
    """The attributes of jupyterhub.user.User that a Spawner reads (no database, no mocks)."""

    def __init__(self, name: str, id: int = 1):
        self.name = name
        self.escaped_name = name
        self.id = id
        self.url = f"/user/{name}/"
        self.progress_url = f"/hub/api/users/{name}/server/progress"
        self.groups = []
        self.server = None


@pytest.fixture
async def make_spawner(fast_standin, monkeypatch):
    point_kubespawner_at(fast_standin, monkeypatch)
    made = []

    def make(name="alice", **traits):
        traits = {"start_timeout": 30, "http_timeout": 5, "k8s_api_request_timeout": 5, **traits}
        spawner = KubeSpawner(
            user=HubUser(name), hub=Hub(), api_token="secret-token", oauth_client_id=f"jupyterhub-user-{name}",
            k8s_api_host=fast_standin.url, namespace="default", **traits)
        spawner.server = Server(base_url=f"/user/{name}/")
        made.append(spawner)
        return spawner

    try:
        yield make
    finally:
        await KubeSpawner._stop_all_reflectors()


async def test_kubespawner_spawns_through_scale_up_and_stops(make_spawner, fast_standin):
    spawner = make_spawner(image="example.com/notebook:1", node_selector={"agentpool": "cpu"},
                           cpu_guarantee=0.5, mem_guarantee="512M")
    url = await asyncio.wait_for(spawner.start(), 30)
    host, port = url.split("//")[1].split(":")
    spawner.server.ip, spawner.server.port = host, int(port)  # what the hub does with the returned URL

    pod = fast_standin.store.get("pods", "default", spawner.pod_name)
    assert pod["status"]["phase"] == "Running"
    assert url == f"http://{pod['status']['podIP']}:8888"
    node = fast_standin.store.get("nodes", None, pod["spec"]["nodeName"])
    assert node["metadata"]["labels"]["agentpool"] == "cpu"
    assert pod["metadata"]["labels"]["component"] == "singleuser-server"
    assert await spawner.poll() is None

    # KubeSpawner's event reflector saw the scale-up story AKS tells
    reasons = [e["reason"] for e in spawner.events]
    for reason in ("FailedScheduling", "TriggeredScaleUp", "Scheduled", "Pulling", "Pulled", "Started"):
        assert reason in reasons, reasons
    messages = [e["message"] for e in spawner.events]
    assert any("pod triggered scale-up: [{aks-cpu-" in m and "0->1 (max: 2)" in m for m in messages)

    await asyncio.wait_for(spawner.stop(), 30)
    assert fast_standin.store.find("pods", "default", spawner.pod_name) is None
    assert await spawner.poll() == 1


async def test_kubespawner_reports_unschedulable_gpu_request(make_spawner, fast_standin):
    """Without the GPU toleration no pool can take the pod: the autoscaler says why."""
    spawner = make_spawner(name="bob", image="example.com/notebook:1", extra_resource_limits={"nvidia.com/gpu": "1"},
                           start_timeout=2)
    with pytest.raises(TimeoutError):
        await spawner.start()
    messages = [e["message"] for e in spawner.events]
    assert any(m.startswith("pod didn't trigger scale-up:") and "untolerated taint {sku: gpu}" in m
               for m in messages), messages
