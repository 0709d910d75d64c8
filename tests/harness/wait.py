"""Polling for a condition in tests that drive real processes (hub, servers, browser)."""

from __future__ import annotations

import time


def wait_until(predicate, timeout: float = 30, interval: float = 0.3, what: str = "condition", message: str = ""):
    """The first truthy value of ``predicate()``; AssertionError after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(message or f"timed out after {timeout} s waiting for {what}")
