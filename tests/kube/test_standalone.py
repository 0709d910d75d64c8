"""The pools file format and the standalone command."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import pytest
from kubernetes_asyncio import client, config

from tests.kube_standin.pools import PoolsFileError, load_config, load_file, normalise_image

pytestmark = pytest.mark.kube

ROOT = Path(__file__).resolve().parents[2]
AKS = ROOT / "tests" / "kube_standin" / "pools-aks.yaml"


def test_example_pools_file_is_the_guides_cluster():
    """pools-aks.yaml: the pools of the profile catalog and of docs/deploy-aks.md, with its labels."""
    from hybridhub.spawner.profiles import DEFAULT_POOLS

    cfg = load_file(AKS)
    assert [p.name for p in cfg.pools] == ["system"] + [p["name"] for p in DEFAULT_POOLS]
    system = cfg.pool("system")
    assert (system.min, system.max, system.mode, system.autoscale) == (1, 1, "System", False)
    assert system.node_labels()["hub.jupyter.org/node-purpose"] == "core"
    for entry in DEFAULT_POOLS:
        pool = cfg.pool(entry["name"])
        assert (pool.vm_size, pool.min, pool.max, pool.autoscale) == (entry["vm_size"], 0, 3, True)
        labels = pool.node_labels()
        assert labels["agentpool"] == labels["kubernetes.azure.com/agentpool"] == entry["name"]
        assert labels["hub.jupyter.org/node-purpose"] == "user"
        assert pool.provisioning_seconds == entry["usual_cold_start_seconds"]
        assert pool.vm_family in cfg.quotas
        assert [f"{t['key']}={t['value']}:{t['effect']}" for t in pool.taints] == entry.get("taints", [])
    assert cfg.pool("gpua10").allocatable["nvidia.com/gpu"] == 1


def test_catalog_cluster_has_the_guides_labels():
    from hybridhub.spawner.profiles import ProfileCatalog
    from tests.kube_standin.from_catalog import cluster_from_catalog

    cfg = load_config(cluster_from_catalog(ProfileCatalog()))
    purposes = {p.name: p.node_labels()["hub.jupyter.org/node-purpose"] for p in cfg.pools}
    assert purposes == {"system": "core", "cpu": "user", "gpua10": "user", "gpua10large": "user"}


@pytest.mark.parametrize("data, message", [
    ({"pools": [{"name": "a", "vm_size": "x", "capacity": {"cpu": "1"}, "maxx": 3}]}, "unknown key"),
    ({"pools": [{"name": "a", "vm_size": "x", "capacity": {"cpu": "1"}, "min": 2, "max": 1}]}, "min <= max"),
    ({"pools": []}, "at least one pool"),
    ({"pool": []}, "unknown key"),
    ({"pools": [{"name": "a", "vm_size": "x", "capacity": {"cpu": "1"}, "taints": ["k=v:Sometimes"]}]}, "taint"),
    ({"pools": [{"name": "gpu-a10", "vm_size": "x", "capacity": {"cpu": "1"}}]}, "lowercase"),
    ({"pools": [{"name": "a", "vm_size": "x", "capacity": {"cpu": "1"}, "fail_scale_up": "yes"}]}, "fail_scale_up"),
    ({"autoscaler": {"scan_interval": 10}, "pools": [{"name": "a", "vm_size": "x", "capacity": {"cpu": "1"}}]},
     "unknown key"),
])
def test_pools_file_is_loaded_strictly(data, message):
    with pytest.raises(PoolsFileError, match=message):
        load_config(data)


def test_image_references_are_normalised():
    assert normalise_image("python") == "docker.io/library/python:latest"
    assert normalise_image("jupyter/base-notebook:x") == "docker.io/jupyter/base-notebook:x"
    assert normalise_image("localhost:5000/a/b") == "localhost:5000/a/b:latest"
    assert normalise_image("quay.io/a/b@sha256:00") == "quay.io/a/b@sha256:00"


async def test_standalone_command_prints_url_and_kubeconfig(tmp_path):
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.kube_standin", "--pools", str(AKS), "--speed", "1000",
        "--kubeconfig-dir", str(tmp_path), cwd=str(ROOT), stdout=asyncio.subprocess.PIPE)
    try:
        lines = [(await asyncio.wait_for(proc.stdout.readline(), 20)).decode() for _ in range(3)]
        assert lines[0].startswith("kube stand-in (test double) listening on http://127.0.0.1:")
        info = json.loads(lines[2])
        assert lines[1].strip() == f"kubeconfig: {info['kubeconfig']}"
        assert info["speed"] == 1000
        api = await config.new_client_from_config(config_file=info["kubeconfig"])
        async with api:
            nodes = (await client.CoreV1Api(api).list_node()).items
        assert [n.metadata.labels["agentpool"] for n in nodes] == ["system"]
    finally:
        proc.terminate()
        assert await asyncio.wait_for(proc.wait(), 10) == 0
