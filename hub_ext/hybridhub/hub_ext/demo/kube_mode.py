"""``hybridhub demo --kube``: the real HybridKubeSpawner against the Kubernetes stand-in.

The stand-in is a test double that lives under ``tests/`` in a source checkout (it is not
shipped in the wheel). It models AKS node pools built from the same profile catalog, scales
them from zero at a chosen speed and runs each pod's command as a local process, so a
newcomer can watch a scale-from-zero start and its progress messages.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import yaml

from hybridhub.spawner.profiles import ProfileCatalog

from .children import start_child
from .errors import DemoError
from .layout import DemoPaths

SOURCE_ROOT = Path(__file__).resolve().parents[4]


@dataclass
class StandIn:
    process: subprocess.Popen
    url: str
    kubeconfig: str


def standin_available() -> bool:
    return (SOURCE_ROOT / "tests" / "kube_standin" / "__main__.py").is_file()


def write_pools_file(paths: DemoPaths) -> Path:
    sys.path.insert(0, str(SOURCE_ROOT))
    try:
        from tests.kube_standin.from_catalog import cluster_from_catalog
    finally:
        sys.path.remove(str(SOURCE_ROOT))
    extra_args = ["--ip={pod_ip}", "--port={port}"] + (["--allow-root"] if os.geteuid() == 0 else [])
    data = cluster_from_catalog(ProfileCatalog(), local_processes=True, local_extra_args=extra_args, start_seconds=1)
    target = paths.root / "kube" / "pools.yaml"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(yaml.safe_dump(data, sort_keys=False))
    return target


def start_standin(paths: DemoPaths, port: int, speed: float, timeout: float = 30) -> StandIn:
    if not standin_available():
        raise DemoError("--kube needs a source checkout: the Kubernetes stand-in is a test double under tests/.")
    pools = write_pools_file(paths)
    process = start_child(
        [sys.executable, "-m", "tests.kube_standin", "--pools", str(pools), "--port", str(port),
         "--speed", str(speed), "--kubeconfig-dir", str(pools.parent), "--local-processes"],
        paths.logs / "kube-standin.log",
        stdout=subprocess.PIPE,
        cwd=SOURCE_ROOT,
        text=True,
    )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if line.startswith("{"):
            info = json.loads(line)
            return StandIn(process, info["url"], info["kubeconfig"])
        if not line and process.poll() is not None:
            break
    process.kill()
    raise DemoError(f"the Kubernetes stand-in did not start; see {paths.logs / 'kube-standin.log'}.")
