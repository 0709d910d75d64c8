"""Stable reason codes for the commit & push panel.

The server answers ``{"message": <English>, "reason": <code>}``; the frontend shows a
translated text chosen by ``reason`` (with what to do). Codes are part of the API: they never
change meaning. Messages never contain a token.
"""

from __future__ import annotations

from ..reason_catalog import GIT
from ..reasons import ReasonError

REASONS = GIT  # the catalog's git table


class GitError(ReasonError):
    REASONS = REASONS
