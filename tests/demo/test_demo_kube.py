"""`hybridhub demo --kube`: the real HybridKubeSpawner scales a stand-in AKS pool from zero."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import psutil
import pytest
import yaml

from hybridhub.hub_ext.demo.kube_mode import SOURCE_ROOT, standin_command
from hybridhub.hub_ext.demo.layout import DemoPaths, DemoPorts
from hybridhub.hub_ext.demo.ports import port_is_free
from hybridhub.spawner.profiles import ProfileCatalog
from tests.hubclient import login
from tests.kube_standin.from_catalog import cluster_from_catalog

from tests.harness.demo import HYBRIDHUB, OutputReader, stop_demo
from tests.harness.demo import free_base as _free_base

pytestmark = pytest.mark.demo


def test_kube_demo_shows_a_scale_from_zero_start(tmp_path):
    base = _free_base()
    process = subprocess.Popen(
        [HYBRIDHUB, "demo", "--kube", "--kube-speed", "60", "--port", str(base), "--data-dir", str(tmp_path / "d")],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        reader = OutputReader(process.stdout)
        password = reader.wait_for(r"alice, bob with password: (\S+)\n", 120, process).group(1)
        url = f"http://127.0.0.1:{base}/"
        hub = login(url, "alice", password)
        assert hub.api("POST", "users/alice/server", json={"profile": "gpu-a10"}).status_code in (201, 202)
        messages = []
        with hub.session.get(url + "hub/api/users/alice/server/progress", stream=True, timeout=180) as stream:
            for line in stream.iter_lines():
                if line.startswith(b"data:"):
                    event = json.loads(line[5:])
                    messages.append(event.get("message", ""))
                    if event.get("ready") or event.get("failed"):
                        break
        assert event.get("ready"), messages
        wanted = ["Requesting a GPU node from the gpua10 pool", "Node aks-gpua10-", "Downloading the image", "Starting Jupyter"]
        found = [next(i for i, m in enumerate(messages) if m.startswith(w)) for w in wanted]
        assert found == sorted(found), messages
        lab = hub.session.get(url + "user/alice/lab", timeout=60)
        assert lab.status_code == 200 and '"name": "hybridhub"' in lab.text.replace('"name":"hybridhub"', '"name": "hybridhub"')

        # the admin sees what it costs: the cost service measures the stand-in's nodes
        admin_password = reader.wait_for(r"admin \(administrator\) with password: (\S+)\n", 5, process).group(1)
        admin = login(url, "admin", admin_password)
        page = admin.session.get(url + "services/hybridhub-cost/", timeout=60)
        assert page.status_code == 200 and "gpua10" in page.text, page.text[:500]
        assert login(url, "bob", password).session.get(url + "services/hybridhub-cost/api/summary",
                                                      timeout=60).status_code == 403

        tree = psutil.Process(process.pid).children(recursive=True)
        process.send_signal(signal.SIGINT)
        assert process.wait(90) == 0
        gone, alive = psutil.wait_procs(tree, timeout=10)
        assert alive == [], [p.cmdline() for p in alive]  # the pod's local process too
        assert all(port_is_free(p) for p in DemoPorts.from_base(base).named())
    finally:
        stop_demo(process)


def test_the_demo_starts_the_standin_as_a_program_with_the_catalogs_pools(tmp_path):
    """No import of the test double: options only, and the stand-in builds its pools from the catalog."""
    paths = DemoPaths(tmp_path / "d")
    (paths.root / "kube").mkdir(parents=True)
    command = standin_command(paths, 0, 60)
    assert command[:2] == [str(SOURCE_ROOT / "dev"), "kube-standin"]  # the checkout's dev tool, no module of tests/
    process = subprocess.Popen(command, cwd=SOURCE_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               env={**os.environ, "PYTHON": sys.executable})
    try:
        info = next(json.loads(line) for line in process.stdout if line.startswith("{"))
        assert info["speed"] == 60 and os.path.exists(info["kubeconfig"])
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(30)
    extra = ["--ip={pod_ip}", "--port={port}"] + (["--allow-root"] if os.geteuid() == 0 else [])
    expected = cluster_from_catalog(ProfileCatalog(), local_processes=True, local_extra_args=extra, start_seconds=1)
    assert yaml.safe_load((paths.root / "kube" / "pools.yaml").read_text()) == yaml.safe_load(yaml.safe_dump(expected))
