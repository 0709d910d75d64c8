"""A hub restart finds a running HybridKubeSpawner server again (state round-trips through the hub's database)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from hybridhub.hub_ext.demo.children import die_with_parent
from hybridhub.hub_ext.demo.supervisor import stop_process_tree
from hybridhub.spawner.profiles import ProfileCatalog
from tests.conftest import REPO_ROOT
from tests.harness.hub import running_hub
from tests.kube_standin.from_catalog import cluster_from_catalog

pytestmark = pytest.mark.spawner

FAKE_SERVER = REPO_ROOT / "benchmarks" / "fake_singleuser.py"


@pytest.fixture
def standin(tmp_path):
    data = cluster_from_catalog(ProfileCatalog(), local_processes=True, local_extra_args=["--ip={pod_ip}", "--port={port}"],
                                start_seconds=0)
    pools = tmp_path / "pools.yaml"
    pools.write_text(yaml.safe_dump(data))
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.kube_standin", "--pools", str(pools), "--speed", "1000",
         "--kubeconfig-dir", str(tmp_path), "--local-processes"],
        cwd=REPO_ROOT, stdout=subprocess.PIPE, text=True, start_new_session=True, preexec_fn=die_with_parent,
    )
    try:
        while True:
            line = process.stdout.readline()
            assert line, "the stand-in did not start"
            if line.startswith("{"):
                yield json.loads(line)
                break
    finally:
        stop_process_tree(process)


def _config(standin: dict) -> str:
    return f"""
import os
os.environ["KUBECONFIG"] = {standin["kubeconfig"]!r}
c.JupyterHub.spawner_class = "hybridhub.spawner.kube.HybridKubeSpawner"
c.JupyterHub.cleanup_servers = False  # as on Kubernetes: user servers outlive a hub restart
c.HybridKubeSpawner.k8s_api_host = {standin["url"]!r}
c.HybridKubeSpawner.namespace = "default"
c.HybridKubeSpawner.cmd = [{sys.executable!r}, {str(FAKE_SERVER)!r}]
"""


def _pods(standin: dict) -> list[dict]:
    import requests

    response = requests.get(standin["url"] + "/api/v1/namespaces/default/pods",
                            headers={"Authorization": "Bearer kube-standin-token"}, timeout=10)
    return response.json()["items"]


def test_restarted_hub_keeps_the_running_server(tmp_path: Path, standin):
    import time

    workdir = tmp_path / "hub"
    with running_hub(workdir, _config(standin)) as hub:
        assert hub.api("POST", "users/alice/server", json={"profile": "cpu"}).status_code in (201, 202)
        for _ in range(120):
            server = hub.api("GET", "users/alice").json()["servers"].get("")
            if server and server["ready"]:
                break
            time.sleep(0.5)
        assert server and server["ready"]
        (pod,) = _pods(standin)
    # the hub is gone; the pod is not
    assert [p["metadata"]["uid"] for p in _pods(standin)] == [pod["metadata"]["uid"]]
    with running_hub(workdir, _config(standin)) as hub:
        server = hub.api("GET", "users/alice").json()["servers"][""]
        assert server["ready"] is True and server["user_options"]["profile"] == "cpu"
        assert [p["metadata"]["uid"] for p in _pods(standin)] == [pod["metadata"]["uid"]]  # found, not recreated
        assert hub.api("DELETE", "users/alice/server").status_code in (202, 204)
        for _ in range(60):
            if not _pods(standin):
                break
            time.sleep(0.5)
        assert _pods(standin) == []
