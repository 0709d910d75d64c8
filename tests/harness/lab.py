"""A real ``jupyter lab`` subprocess with the hybridhub extension, for browser tests of a panel.

Loopback only, a random token, its own HOME and runtime dir; always stopped (its whole
process group) when the block ends.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

from hybridhub.hub_ext.demo.ports import free_ports


@contextmanager
def running_lab(root: Path, home: Path, env: dict[str, str], timeout: float = 60, log: Path | None = None):
    """Yield ``(url, token)`` of JupyterLab serving ``root`` with the environment ``env``
    (its output: to ``log`` if given, else discarded)."""
    port, token = free_ports(1)[0], secrets.token_hex(16)
    home.mkdir(parents=True, exist_ok=True)
    env = dict(env, HOME=str(home), JUPYTER_RUNTIME_DIR=str(home / "runtime"))
    jupyter = Path(sys.executable).parent / "jupyter"
    output = open(log, "ab") if log else subprocess.DEVNULL  # noqa: SIM115 - closed below
    process = subprocess.Popen(
        [str(jupyter), "lab", "--no-browser", f"--port={port}", "--ServerApp.ip=127.0.0.1",
         f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
         "--LabApp.expose_app_in_browser=True", "--allow-root"],
        env=env, stdout=output, stderr=output, start_new_session=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                urllib.request.urlopen(f"{url}api/status?token={token}", timeout=2)
                break
            except OSError:
                assert process.poll() is None and time.monotonic() < deadline, "jupyter lab did not start"
                time.sleep(0.3)
        yield url, token
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        if log:
            output.close()
