"""Stable reason codes of the activity routes (the culler's warning in JupyterLab).

Answered as ``{"message": <English>, "reason": <code>}``; the frontend shows its translated
text for ``reason``.
"""

from __future__ import annotations

from ..reasons import ReasonError

REASONS: dict[str, tuple[int, str]] = {
    "keepalive_used": (409, "The server was already kept running once; run some work to keep it longer."),
    "max_age_reached": (409, "This server reached its maximum age; it cannot be extended."),
}


class ActivityError(ReasonError):
    REASONS = REASONS


class KeepAliveRefused(ActivityError):
    """The keep-alive was not granted; the reason says why (shown to the user)."""
