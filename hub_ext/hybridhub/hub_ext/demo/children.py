"""Child processes that cannot outlive the demo, even if the demo itself is killed."""

from __future__ import annotations

import ctypes
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

_PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """``preexec_fn``: ask Linux to send SIGTERM to this child when its parent dies.

    Ctrl-C stops children in order; this covers the case where the supervisor is killed
    outright (SIGKILL, OOM), so no store, hub or proxy is left orphaned holding ports.
    """
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)


def start_child(command: list[str], log_path: Path, stdout=None, **options) -> subprocess.Popen:
    """Start ``command`` in its own session, dying with the demo, stdin closed; its output
    (stderr only when ``stdout`` is given, e.g. a pipe the caller reads) appended to ``log_path``."""
    with open(log_path, "ab") as log:
        return subprocess.Popen(
            command,
            stdout=log if stdout is None else stdout,
            stderr=subprocess.STDOUT if stdout is None else log,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=die_with_parent,
            **options,
        )


def find_binary(name: str) -> str | None:
    """A binary beside this interpreter (the .venv's bin) first, then on PATH."""
    beside = Path(sys.executable).parent / name
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    return shutil.which(name)
