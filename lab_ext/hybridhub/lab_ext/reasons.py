"""The error every hybridhub REST handler answers with: a stable reason code and a safe message.

Handlers answer ``{"message": <English>, "reason": <code>[, "details": ...]}`` with the HTTP
status of the code; the frontend shows the translated text it has for ``reason``. Each area
(storage, git, pipelines) subclasses :class:`ReasonError` with its table of codes from
:mod:`.reason_catalog`; codes are part of the API and never change meaning. Messages and details never hold a secret.
"""

from __future__ import annotations

from typing import ClassVar

from .reason_catalog import COMMON


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


class RequestError(ReasonError):
    """What every route may answer before its own area's checks: a request it cannot read, a
    caller it may not serve, a method or path it does not have (tornado's and jupyter-server's
    own errors are answered with these codes, never ``"reason": null``)."""

    REASONS = COMMON

    #: tornado's and jupyter-server's own HTTP errors (authentication, XSRF, authorization,
    #: an unimplemented method) -> the code answered instead
    FOR_STATUS = {403: "forbidden", 404: "no_such_route", 405: "method_not_allowed"}


# ---- input limits every area checks before doing any work --------------------------------
#: a workspace path: at most PATH_MAX bytes, each component at most NAME_MAX bytes (Linux), so a
#: long path is a 400 ``invalid_path``/``invalid_request`` here rather than ENAMETOOLONG later
MAX_PATH_BYTES = 4096
MAX_NAME_BYTES = 255
#: characters refused in any path or name: NUL and the other C0 controls, DEL
_CONTROL = frozenset(chr(c) for c in range(0x20)) | {"\x7f"}


def has_control(text: str) -> bool:
    return any(c in _CONTROL for c in text)


def path_problem(path: str) -> str | None:
    """Why ``path`` (relative, ``/``-separated) cannot name a file here, or None when it can."""
    if has_control(path):
        return "The path contains a control character."
    if len(path.encode("utf-8", "surrogatepass")) > MAX_PATH_BYTES:
        return f"The path is longer than {MAX_PATH_BYTES} bytes."
    if any(len(part.encode("utf-8", "surrogatepass")) > MAX_NAME_BYTES for part in path.split("/")):
        return f"A file or folder name in the path is longer than {MAX_NAME_BYTES} bytes."
    return None
