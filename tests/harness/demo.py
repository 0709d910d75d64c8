"""``hybridhub demo`` started as a person starts it, for the demo and browser suites.

Always stopped with Ctrl-C (then the whole process tree killed if it does not stop).
"""

from __future__ import annotations

import random
import re
import signal
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import psutil

from hybridhub.hub_ext.demo.ports import port_is_free

HYBRIDHUB = str(Path(sys.executable).parent / "hybridhub")


def ephemeral_range() -> tuple[int, int]:
    """The ports the kernel hands out to outgoing connections (Linux default 32768-60999)."""
    try:
        low, high = (int(v) for v in Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split())
        return low, high
    except (OSError, ValueError):
        return 32768, 60999


def free_base(span: int = 17) -> int:
    """A base port whose next ``span`` ports are all free (the demo uses base .. base+16).

    Chosen below the ephemeral range: the demo binds its ports over several seconds while the
    hub, the proxy and the stand-ins open outgoing connections, and an ephemeral port taken in
    between made a late bind (the cost service, base+15) fail with "address already in use".
    """
    low = ephemeral_range()[0]
    for _ in range(200):
        base = random.randrange(15000, low - span)
        if all(port_is_free(p) for p in range(base, base + span)):
            return base
    raise RuntimeError("no free port range")


class OutputReader:
    """Collects a process's stdout in a thread, so tests can wait for a pattern."""

    def __init__(self, stream):
        self.text = ""
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._pump, args=(stream,), daemon=True)
        self._thread.start()

    def _pump(self, stream):
        for line in stream:
            with self._lock:
                self.text += line

    def wait_for(self, pattern: str, timeout: float, process: subprocess.Popen) -> re.Match:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                match = re.search(pattern, self.text, re.S)
            if match:
                return match
            if process.poll() is not None:
                break
            time.sleep(0.2)
        raise AssertionError(f"demo output did not match {pattern!r}:\n{self.text}")

    def join(self, timeout: float = 10) -> str:
        self._thread.join(timeout)
        return self.text


def stop_demo(process: subprocess.Popen) -> None:
    """Ctrl-C, as a user stops it; kill the whole tree only if it does not stop."""
    if process.poll() is not None:
        return
    tree = psutil.Process(process.pid).children(recursive=True)
    process.send_signal(signal.SIGINT)
    try:
        process.wait(60)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    for child in tree:
        if child.is_running():
            child.kill()


@contextmanager
def running_demo(data_dir: Path, *args: str, timeout: float = 180):
    """Start ``hybridhub demo``, wait for its logins, yield what tests need, always stop it."""
    base = free_base()
    process = subprocess.Popen(
        [HYBRIDHUB, "demo", *args, "--port", str(base), "--data-dir", str(data_dir)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        reader = OutputReader(process.stdout)
        match = reader.wait_for(
            r"log in as alice, bob with password: (\S+)\n.*log in as admin \(administrator\) with password: (\S+)",
            timeout=timeout,
            process=process,
        )
        yield {
            "process": process,
            "base": base,
            "url": f"http://127.0.0.1:{base}/",
            "user_password": match.group(1),
            "admin_password": match.group(2),
            "data_dir": data_dir,
            "output": reader,
        }
    finally:
        stop_demo(process)
