"""A stand-in cluster built from the profile catalog itself (one source of truth), and spawners on it."""


from __future__ import annotations

import contextlib

import pytest
from jupyterhub.objects import Hub, Server
from kubespawner import KubeSpawner

from hybridhub.spawner.kube import HybridKubeSpawner
from hybridhub.spawner.profiles import ProfileCatalog
from tests.kube.conftest import point_kubespawner_at
from tests.kube_standin import KubeStandIn, load_config
from tests.kube_standin.from_catalog import cluster_from_catalog  # noqa: F401 (used by this folder's tests)

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


@contextlib.asynccontextmanager
async def running_standin(tmp_path, monkeypatch, data: dict):
    """A stand-in for ``data`` that KubeSpawner talks to; stopped with KubeSpawner's reflectors."""
    standin = await start_standin(tmp_path, data)
    point_kubespawner_at(standin, monkeypatch)
    try:
        yield standin
    finally:
        await KubeSpawner._stop_all_reflectors()
        await standin.stop()


@pytest.fixture
async def cluster(tmp_path, monkeypatch):
    """Stand-in cluster for the default catalog, 1000x faster than real time."""
    async with running_standin(tmp_path, monkeypatch, cluster_from_catalog(ProfileCatalog())) as standin:
        yield standin


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
