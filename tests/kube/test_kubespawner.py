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


async def test_kubespawner_with_pvc_and_service(make_spawner, fast_standin):
    """The PVC, volume and Service manifests KubeSpawner builds pass strict validation."""
    spawner = make_spawner(name="dave", image="example.com/notebook:1", storage_pvc_ensure=True,
                           storage_capacity="10Gi", services_enabled=True,
                           volumes=[{"name": "home", "persistentVolumeClaim": {"claimName": "claim-dave"}}],
                           volume_mounts=[{"name": "home", "mountPath": "/home/jovyan"}])
    url = await asyncio.wait_for(spawner.start(), 30)
    assert url == "http://jupyter-dave.default.svc.cluster.local:8888"
    pvc = fast_standin.store.get("persistentvolumeclaims", "default", "claim-dave")
    assert pvc["spec"]["resources"]["requests"]["storage"] == "10Gi" and pvc["status"]["phase"] == "Bound"
    svc = fast_standin.store.get("services", "default", "jupyter-dave")
    assert svc["spec"]["selector"]["hub.jupyter.org/username"] == "dave"
    await asyncio.wait_for(spawner.stop(), 30)
    assert fast_standin.store.find("pods", "default", "jupyter-dave") is None
    assert fast_standin.store.find("persistentvolumeclaims", "default", "claim-dave") is not None  # kept
    # the Service is owned by the pod (ownerReferences): the garbage collector removes it
    for _ in range(100):
        if fast_standin.store.find("services", "default", "jupyter-dave") is None:
            break
        await asyncio.sleep(0.01)
    assert fast_standin.store.find("services", "default", "jupyter-dave") is None


async def test_kubespawner_reports_unschedulable_gpu_request(make_spawner, fast_standin):
    """Without the GPU toleration no pool can take the pod: the autoscaler says why."""
    spawner = make_spawner(name="bob", image="example.com/notebook:1", extra_resource_limits={"nvidia.com/gpu": "1"},
                           start_timeout=1)
    with pytest.raises(TimeoutError):
        await spawner.start()
    messages = [e["message"] for e in spawner.events]
    assert any(m.startswith("pod didn't trigger scale-up:") and "untolerated taint {sku: gpu}" in m
               for m in messages), messages


async def test_kubespawner_pod_runs_a_real_singleuser_server(tmp_path, monkeypatch):
    """Local-process kubelet: KubeSpawner's pod command really starts jupyterhub-singleuser,
    which answers on the pod IP KubeSpawner returns.

    jupyterhub-singleuser asks the hub's API for its version before serving; a real hub is
    the business of the spawner's end-to-end tests, so here a minimal handler answers that
    one request."""
    import sys

    import httpx
    import jupyterhub
    from tornado.httpserver import HTTPServer
    from tornado.web import Application, RequestHandler

    from tests.kube_standin import KubeStandIn
    from tests.kube_standin.server import free_port

    from .conftest import cluster_config

    class HubVersion(RequestHandler):
        def get(self):
            self.set_header("X-JupyterHub-Version", jupyterhub.__version__)
            self.finish({"version": jupyterhub.__version__})

    hub_port = free_port()
    hub_api = HTTPServer(Application([(r"/hub/api/?", HubVersion)]))
    hub_api.listen(hub_port, "127.0.0.1")

    config = cluster_config(kubelet={"local_processes": True,
                                     "local_extra_args": ["--ip={pod_ip}", "--allow-root"]})
    standin = KubeStandIn(config, speed=1000)
    await standin.start(kubeconfig_dir=str(tmp_path))
    try:
        point_kubespawner_at(standin, monkeypatch)
        spawner = KubeSpawner(
            user=HubUser("carol"), hub=Hub(ip="127.0.0.1", port=hub_port, base_url="/hub/"), api_token="secret-token", oauth_client_id="jupyterhub-user-carol",
            k8s_api_host=standin.url, namespace="default", start_timeout=30, k8s_api_request_timeout=5,
            image="example.com/notebook:1", cmd=[sys.executable, "-m", "jupyterhub.singleuser"],
            environment={"JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime")})
        spawner.server = Server(base_url="/user/carol/")
        url = await asyncio.wait_for(spawner.start(), 30)
        assert url.startswith("http://127.42.") and url.endswith(":8888")

        async with httpx.AsyncClient(timeout=5) as http:
            for _ in range(300):
                try:
                    r = await http.get(f"{url}/user/carol/api")
                    break
                except httpx.TransportError:
                    await asyncio.sleep(0.1)
            else:
                raise AssertionError("jupyterhub-singleuser never answered")
        assert r.status_code == 200 and "version" in r.json()

        await asyncio.wait_for(spawner.stop(), 30)
        assert standin.store.find("pods", "default", spawner.pod_name) is None
    finally:
        await KubeSpawner._stop_all_reflectors()
        await standin.stop()
        hub_api.stop()
