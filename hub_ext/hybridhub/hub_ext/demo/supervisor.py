"""Start the demo's processes, wait for Ctrl-C, stop every child.

Children run in their own sessions so that Ctrl-C reaches only this supervisor, which then
stops them in order (hub first: it stops the user servers and the proxy) and finally kills
anything the hub left behind, so no process or port survives the demo.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import psutil

from .children import start_child
from .errors import DemoError
from .layout import DemoPaths, DemoPorts

HUB_CONFIG = Path(__file__).with_name("jupyterhub_config.py")


def start_hub(paths: DemoPaths, ports: DemoPorts, extra_env: dict[str, str] | None = None) -> subprocess.Popen:
    paths.hub.mkdir(parents=True, exist_ok=True)
    paths.logs.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, HYBRIDHUB_DEMO_DIR=str(paths.root), HYBRIDHUB_DEMO_PORT=str(ports.public), **(extra_env or {}))
    # the venv's bin first, so the hub finds jupyterhub-singleuser and the proxy without activation
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    return start_child([sys.executable, "-m", "jupyterhub", "-f", str(HUB_CONFIG)], paths.logs / "jupyterhub.log",
                       cwd=paths.hub, env=env)


def wait_for_hub(hub: subprocess.Popen, ports: DemoPorts, paths: DemoPaths, timeout: float = 90) -> None:
    url = f"http://127.0.0.1:{ports.public}/hub/api/"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if hub.poll() is not None:
            raise DemoError(f"JupyterHub exited during start-up (code {hub.returncode}); see {paths.logs / 'jupyterhub.log'}.")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.3)
    raise DemoError(f"JupyterHub did not answer on {url} within {timeout:.0f} s; see {paths.logs / 'jupyterhub.log'}.")


def descendants(process: subprocess.Popen) -> list[psutil.Process]:
    try:
        return psutil.Process(process.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def stop_process_tree(process: subprocess.Popen | None, timeout: float = 30) -> None:
    """SIGTERM the process (JupyterHub cleans up on it), then kill whatever of its tree is left."""
    if process is None or process.poll() is not None:
        return
    tree = descendants(process)
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)
    survivors = [p for p in tree if p.is_running()]
    for p in survivors:
        try:
            p.terminate()
        except psutil.NoSuchProcess:
            pass
    _, alive = psutil.wait_procs(survivors, timeout=5)
    for p in alive:
        try:
            p.kill()
        except psutil.NoSuchProcess:
            pass


class StopSignal:
    """Turns SIGINT/SIGTERM into an event the main loop waits on."""

    def __init__(self) -> None:
        self.event = threading.Event()
        self.previous = {}

    def __enter__(self) -> "StopSignal":
        for signum in (signal.SIGINT, signal.SIGTERM):
            self.previous[signum] = signal.signal(signum, lambda *_: self.event.set())
        return self

    def __exit__(self, *exc) -> None:
        for signum, handler in self.previous.items():
            signal.signal(signum, handler)
