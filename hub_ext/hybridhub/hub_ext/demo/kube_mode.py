"""``hybridhub demo --kube``: the real HybridKubeSpawner against the Kubernetes stand-in.

The stand-in is a test double that lives in a source checkout (it is not shipped in the wheel,
and this package never imports or names it): the demo starts it through the checkout's own dev
tool, ``./dev kube-standin --from-catalog``, as a separate program, which builds AKS-like node pools from
the same profile catalog, scales them from zero at a chosen speed and runs each pod's command
as a local process, so a newcomer can watch a scale-from-zero start and its progress messages.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from .children import start_child
from .errors import DemoError
from .layout import DemoPaths

SOURCE_ROOT = Path(__file__).resolve().parents[4]


@dataclass
class StandIn:
    process: subprocess.Popen
    url: str
    kubeconfig: str


DEV_TOOL = SOURCE_ROOT / "dev"


def standin_available() -> bool:
    return DEV_TOOL.is_file() and os.access(DEV_TOOL, os.X_OK)


def standin_command(paths: DemoPaths, port: int, speed: float) -> list[str]:
    """The stand-in as a program: pools from the profile catalog, pods as local jupyterhub-singleuser processes."""
    kube_dir = paths.root / "kube"
    extra_args = ["--ip={pod_ip}", "--port={port}"] + (["--allow-root"] if os.geteuid() == 0 else [])
    return [str(DEV_TOOL), "kube-standin", "--from-catalog", "--save-pools", str(kube_dir / "pools.yaml"),
            "--port", str(port), "--speed", str(speed), "--kubeconfig-dir", str(kube_dir),
            "--local-processes", "--start-seconds", "1", *(f"--local-extra-arg={arg}" for arg in extra_args)]


def start_standin(paths: DemoPaths, port: int, speed: float, timeout: float = 30) -> StandIn:
    if not standin_available():
        raise DemoError("--kube needs a source checkout: the Kubernetes stand-in is a test double run by its ./dev kube-standin.")
    (paths.root / "kube").mkdir(parents=True, exist_ok=True)
    process = start_child(
        standin_command(paths, port, speed),
        paths.logs / "kube-standin.log",
        stdout=subprocess.PIPE,
        cwd=SOURCE_ROOT,
        env={**os.environ, "PYTHON": sys.executable},  # the stand-in runs on the demo's own Python
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
