"""Stable reason codes of the activity routes (the culler's warning in JupyterLab).

Answered as ``{"message": <English>, "reason": <code>}``; the frontend shows its translated
text for ``reason``.
"""

from __future__ import annotations

from ..reason_catalog import ACTIVITY
from ..reasons import ReasonError

REASONS = ACTIVITY  # the catalog's activity table


class ActivityError(ReasonError):
    REASONS = REASONS


class KeepAliveRefused(ActivityError):
    """The keep-alive was not granted; the reason says why (shown to the user)."""
