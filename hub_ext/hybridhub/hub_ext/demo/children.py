"""Child processes that cannot outlive the demo, even if the demo itself is killed."""

from __future__ import annotations

import ctypes
import signal
import sys

_PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """``preexec_fn``: ask Linux to send SIGTERM to this child when its parent dies.

    Ctrl-C stops children in order; this covers the case where the supervisor is killed
    outright (SIGKILL, OOM), so no store, hub or proxy is left orphaned holding ports.
    """
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
