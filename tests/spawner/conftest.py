"""A stand-in cluster built from the profile catalog itself (one source of truth), and spawners on it."""

from __future__ import annotations

import pytest
from jupyterhub.objects import Hub, Server
from kubespawner import KubeSpawner

from hybridhub.spawner.kube import HybridKubeSpawner
from hybridhub.spawner.profiles import ProfileCatalog
from tests.kube.conftest import point_kubespawner_at
from tests.kube_standin import KubeStandIn, load_config

# VM sizes of the reference pools (Azure's published capacities; allocatable a little less)
VM_SIZES = {
    "Standard_B2s": ({"cpu": "2", "memory": "4Gi"}, {"cpu": "1900m", "memory": "2.5Gi"}),
    "Standard_NV6ads_A10_v5": ({"cpu": "6", "memory": "55Gi", "nvidia.com/gpu": "1"},
                               {"cpu": "5840m", "memory": "48Gi", "nvidia.com/gpu": "1"}),
    "Standard_NV18ads_A10_v5": ({"cpu": "18", "memory": "220Gi", "nvidia.com/gpu": "1"},
                                {"cpu": "17600m", "memory": "200Gi", "nvidia.com/gpu": "1"}),
}
IMAGE_SIZES = {
    "registry.example.com/hybridhub/singleuser-cpu:latest": "1.2Gi",
    "registry.example.com/hybridhub/singleuser-gpu:latest": "7Gi",
}


def cluster_from_catalog(catalog: ProfileCatalog, **kubelet) -> dict:
    pools = [{"name": "system", "mode": "System", "vm_size": "Standard_D2s_v5", "min": 1, "max": 1,
              "capacity": {"cpu": "2", "memory": "8Gi"}, "allocatable": {"cpu": "1900m", "memory": "6Gi"}}]
    for pool in catalog.pool_map().values():
        capacity, allocatable = VM_SIZES[pool.vm_size]
        pools.append({
            "name": pool.name, "vm_size": pool.vm_size, "vm_family": pool.vm_size.split("_")[1] + "Family",
            "min": pool.min_nodes, "max": pool.max_nodes, "capacity": capacity, "allocatable": allocatable,
            "taints": [str(t) for t in pool.taints], "provisioning_seconds": pool.usual_cold_start_seconds,
            "scale_down_unneeded_seconds": 600,
        })
    return {
        "images": dict(IMAGE_SIZES),
        "kubelet": {"pull_bandwidth": "40Mi", "start_seconds": 5, "crash_after_seconds": 3,
                    "pull_error_seconds": 2, "backoff_initial_seconds": 10, "backoff_max_seconds": 40, **kubelet},
        "pools": pools,
    }


class HubUser:
    """The attributes of jupyterhub.user.User a spawner reads (no database)."""

    def __init__(self, name: str, groups=(), admin=False):
        self.name = name
        self.escaped_name = name
        self.id = abs(hash(name)) % 10_000
        self.url = f"/user/{name}/"
        self.progress_url = f"/hub/api/users/{name}/server/progress"
        self.groups = [type("Group", (), {"name": g})() for g in groups]
        self.admin = admin
        self.server = None


async def start_standin(tmp_path, data: dict, speed: float = 1000) -> KubeStandIn:
    standin = KubeStandIn(load_config(data), speed=speed)
    await standin.start(kubeconfig_dir=str(tmp_path))
    return standin


@pytest.fixture
async def cluster(tmp_path, monkeypatch):
    """Stand-in cluster for the default catalog, 1000x faster than real time."""
    standin = await start_standin(tmp_path, cluster_from_catalog(ProfileCatalog()))
    point_kubespawner_at(standin, monkeypatch)
    try:
        yield standin
    finally:
        await KubeSpawner._stop_all_reflectors()
        await standin.stop()


@pytest.fixture
def make_spawner(tmp_path):
    def make(cls=HybridKubeSpawner, name="alice", groups=(), admin=False, standin=None, **traits):
        traits = {"http_timeout": 10, "k8s_api_request_timeout": 5, "namespace": "default",
                  "cold_start_history_path": str(tmp_path / "cold-starts.json"), **traits}
        if cls is KubeSpawner:
            traits.pop("cold_start_history_path")
        spawner = cls(user=HubUser(name, groups, admin), hub=Hub(), api_token="secret-token",
                      oauth_client_id=f"jupyterhub-user-{name}", k8s_api_host=standin.url, **traits)
        spawner.server = Server(base_url=f"/user/{name}/")
        return spawner

    return make
