"""The error every hybridhub REST handler answers with: a stable reason code and a safe message.

Handlers answer ``{"message": <English>, "reason": <code>[, "details": ...]}`` with the HTTP
status of the code; the frontend shows the translated text it has for ``reason``. Each area
(storage, git, pipelines) subclasses :class:`ReasonError` with its own table of codes, which
are part of the API and never change meaning. Messages and details never hold a secret.
"""

from __future__ import annotations

from typing import ClassVar


class ReasonError(Exception):
    """A failure with a stable ``reason``, an English ``message`` and optional ``details``."""

    #: reason code -> (HTTP status, default English message with what to do)
    REASONS: ClassVar[dict[str, tuple[int, str]]] = {}

    def __init__(self, reason: str, message: str | None = None, details: str = "", status: int | None = None):
        if reason not in self.REASONS:
            raise ValueError(f"unknown {type(self).__name__} reason code {reason!r}")
        default_status, default_message = self.REASONS[reason]
        self.reason = reason
        self.status = status or default_status
        self.message = message or default_message
        self.details = details
        super().__init__(self.message)

    def to_json(self) -> dict:
        body = {"message": self.message, "reason": self.reason}
        if self.details:
            body["details"] = self.details
        return body
