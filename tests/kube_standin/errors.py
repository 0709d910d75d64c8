"""Kubernetes ``Status`` errors, shaped like the real API server's."""

from __future__ import annotations


class ApiError(Exception):
    def __init__(self, code: int, reason: str, message: str, details: dict | None = None):
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details

    def status(self) -> dict:
        body = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        }
        if self.details:
            body["details"] = self.details
        return body


def _details(qualified: str, name: str) -> dict:
    """``priorityclasses.scheduling.k8s.io`` -> kind ``priorityclasses``, group ``scheduling.k8s.io``
    (apimachinery errors.go: the message names the qualified resource, details split it)."""
    resource, _, group = qualified.partition(".")
    return {"name": name, **({"group": group} if group else {}), "kind": resource}


def not_found(kind_plural: str, name: str) -> ApiError:
    return ApiError(404, "NotFound", f'{kind_plural} "{name}" not found', _details(kind_plural, name))


def already_exists(kind_plural: str, name: str) -> ApiError:
    return ApiError(409, "AlreadyExists", f'{kind_plural} "{name}" already exists', _details(kind_plural, name))


def bad_request(message: str) -> ApiError:
    return ApiError(400, "BadRequest", message)


def gone(message: str) -> ApiError:
    return ApiError(410, "Expired", message)
