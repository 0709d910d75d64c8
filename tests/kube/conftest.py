"""Fixtures for the kube stand-in tests: a fresh stand-in per test, always stopped."""

from __future__ import annotations

import copy

import httpx
import pytest
from kubernetes_asyncio import client

from tests.kube_standin import KubeStandIn, load_config

# A small cluster whose numbers make expected times easy to compute by hand.
TEST_CLUSTER = {
    "quotas": {"gpuFamily": 12},
    "images": {
        "example.com/notebook:1": "100Mi",      # 10 s at 10Mi/s
        "example.com/gpu-notebook:1": "1Gi",    # 102.4 s
        "busybox:1.36": "4Mi",
    },
    "kubelet": {"pull_bandwidth": "10Mi", "start_seconds": 1, "crash_after_seconds": 2,
                "terminate_seconds": 1, "pull_error_seconds": 2,
                "backoff_initial_seconds": 10, "backoff_max_seconds": 40},
    "pools": [
        {"name": "system", "mode": "System", "vm_size": "Standard_D2s_v5", "min": 1, "max": 1,
         "capacity": {"cpu": "2", "memory": "8Gi"}, "allocatable": {"cpu": "1900m", "memory": "6Gi"}},
        {"name": "cpu", "vm_size": "Standard_B2s", "vm_family": "bsFamily", "min": 0, "max": 2,
         "capacity": {"cpu": "2", "memory": "4Gi"}, "allocatable": {"cpu": "1900m", "memory": "3Gi"},
         "provisioning_seconds": 100, "scale_down_unneeded_seconds": 600},
        {"name": "gpu", "vm_size": "Standard_NV6ads_A10_v5", "vm_family": "gpuFamily", "min": 0, "max": 3,
         "capacity": {"cpu": "6", "memory": "55Gi", "nvidia.com/gpu": "1"},
         "taints": ["sku=gpu:NoSchedule"], "provisioning_seconds": 300, "scale_down_unneeded_seconds": 600},
        {"name": "gpularge", "vm_size": "Standard_NV18ads_A10_v5", "vm_family": "gpuFamily", "min": 0, "max": 1,
         "capacity": {"cpu": "18", "memory": "220Gi", "nvidia.com/gpu": "1"},
         "taints": ["sku=gpu:NoSchedule"], "provisioning_seconds": 300, "scale_down_unneeded_seconds": 600},
    ],
}


def cluster_config(**overrides):
    data = copy.deepcopy(TEST_CLUSTER)
    for key, value in overrides.items():
        if key == "kubelet":
            data["kubelet"].update(value)
        else:
            data[key] = value
    return load_config(data)


async def _start(tmp_path, config, **kwargs):
    standin = KubeStandIn(config, **kwargs)
    await standin.start(kubeconfig_dir=str(tmp_path))
    return standin


@pytest.fixture
async def standin(tmp_path):
    """A stand-in on a ManualClock: simulated time moves only with ``clock.advance()``."""
    s = await _start(tmp_path, cluster_config(), manual_clock=True)
    try:
        yield s
    finally:
        await s.stop()


@pytest.fixture
async def fast_standin(tmp_path):
    """A stand-in whose simulated time runs 1000x faster than real time."""
    s = await _start(tmp_path, cluster_config(), speed=1000)
    try:
        yield s
    finally:
        await s.stop()


@pytest.fixture
async def http(standin):
    async with httpx.AsyncClient(base_url=standin.url, timeout=10,
                                 headers={"Authorization": f"Bearer {standin.token}"}) as c:
        yield c


def api_client_for(standin) -> client.ApiClient:
    conf = client.Configuration(host=standin.url)
    conf.api_key = {"BearerToken": standin.token}
    conf.api_key_prefix = {"BearerToken": "Bearer"}
    return client.ApiClient(conf)


@pytest.fixture
async def core(standin):
    """The official kubernetes_asyncio client, pointed at the manual-clock stand-in."""
    api = api_client_for(standin)
    try:
        yield client.CoreV1Api(api)
    finally:
        await api.close()


def point_kubespawner_at(standin, monkeypatch) -> None:
    """Make KubeSpawner's global client configuration use this stand-in's kubeconfig."""
    import kubernetes_asyncio.config.kube_config as kube_config
    from kubespawner.clients import load_config

    monkeypatch.setenv("KUBECONFIG", standin.kubeconfig)
    # read once at import time by kubernetes_asyncio
    monkeypatch.setattr(kube_config, "KUBE_CONFIG_DEFAULT_LOCATION", standin.kubeconfig)
    # load_config is lru_cached by host: a stand-in that gets the port of an earlier one (ports are
    # reused) would keep whichever stand-in's configuration was loaded last, a stopped one's
    load_config.cache_clear()
    load_config(host=standin.url)


def pod_manifest(name, *, image="example.com/notebook:1", cpu="500m", selector=None, tolerate_gpu=False,
                 gpu=0, command=None, labels=None, restart="Always", **spec):
    container = {"name": "notebook", "image": image, "resources": {"requests": {"cpu": cpu, "memory": "256Mi"}}}
    if gpu:
        container["resources"]["limits"] = {"nvidia.com/gpu": str(gpu)}
    if command:
        container["command"] = command
    body = {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "labels": labels or {"app": "test"}},
            "spec": {"containers": [container], "restartPolicy": restart, **spec}}
    if selector:
        body["spec"]["nodeSelector"] = selector
    if tolerate_gpu:
        body["spec"]["tolerations"] = [{"key": "sku", "operator": "Equal", "value": "gpu", "effect": "NoSchedule"}]
    return body


def events_for(standin, pod_name, namespace="default"):
    """``[(reason, message), ...]`` in creation order."""
    evs = standin.store.list("events", namespace, lambda e: e["involvedObject"]["name"] == pod_name)
    evs.sort(key=lambda e: int(e["metadata"]["resourceVersion"]))
    return [(e["reason"], e["message"]) for e in evs]


def reasons_for(standin, pod_name, namespace="default"):
    return [r for r, _ in events_for(standin, pod_name, namespace)]
