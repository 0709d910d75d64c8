"""Stable reason codes for everything that can go wrong talking to the object store.

The server answers ``{"message": <English>, "reason": <code>}``; the frontend picks a
translated message by ``reason``, so codes are part of the API and never change meaning.
Messages never contain credentials.
"""

from __future__ import annotations

import ssl

import urllib3.exceptions
from minio.error import InvalidResponseError, S3Error, ServerError

from ..reason_catalog import STORAGE
from ..reasons import ReasonError

REASONS = STORAGE  # the catalog's storage table


class StorageError(ReasonError):
    REASONS = REASONS


class Cancelled(StorageError):
    def __init__(self, message: str = "The transfer was cancelled."):
        super().__init__("cancelled", message)


_S3_CODES = {
    "NoSuchBucket": ("no_such_bucket", "The bucket does not exist."),
    "NoSuchKey": ("no_such_key", "The object does not exist."),
    "NoSuchVersion": ("no_such_version", "That version of the object does not exist."),
    "AccessDenied": ("access_denied", "The object store denied access with these credentials."),
    "AllAccessDisabled": ("access_denied", "The object store denied access with these credentials."),
    "InvalidAccessKeyId": ("bad_credentials", "The object store did not accept the configured access key."),
    "SignatureDoesNotMatch": ("bad_credentials", "The object store did not accept the configured secret key."),
    "InvalidBucketName": ("invalid_bucket", "The bucket name is not valid."),
    "KeyTooLongError": ("invalid_key", "The object key is too long."),
}
# the store's answers to a request it finds malformed (e.g. a version id it cannot parse): the
# caller's input, so a 400 here, never a 502
_S3_INVALID = {"InvalidArgument", "BadRequest", "InvalidRequest", "InvalidURI", "InvalidObjectName", "InvalidVersionId"}


def _is_tls(exc: BaseException) -> bool:
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, (ssl.SSLError, urllib3.exceptions.SSLError)):
            return True
        reason = getattr(exc, "reason", None)  # a UnicodeError's reason is a str
        exc = (reason if isinstance(reason, BaseException) else None) or exc.__cause__ or exc.__context__
    return False


def translate(exc: BaseException) -> StorageError:
    """Map an SDK or network exception to a :class:`StorageError` (never echoing secrets)."""
    if isinstance(exc, StorageError):
        return exc
    if isinstance(exc, S3Error):
        if exc.code in _S3_CODES:
            reason, message = _S3_CODES[exc.code]
            return StorageError(reason, message)
        if exc.code in _S3_INVALID:
            return StorageError(
                "invalid_request", f"The object store refused the request as not valid ({exc.code}): check the key and version id."
            )
        if exc.code == "ResourceNotFound" or (exc.response is not None and exc.response.status == 404):
            return StorageError("no_such_key", "The object does not exist.")
        return StorageError("storage_error", f"The object store refused the request ({exc.code}).")
    if isinstance(exc, (ServerError, InvalidResponseError)):
        return StorageError("storage_error", "The object store answered with a server error.")
    if _is_tls(exc):
        return StorageError("tls_error", "The object store's TLS certificate could not be verified.")
    if isinstance(exc, (urllib3.exceptions.HTTPError, ConnectionError, TimeoutError)):
        return StorageError("storage_unreachable", "The object store could not be reached.")
    if isinstance(exc, UnicodeError):  # a lone surrogate in a key or version id
        return StorageError("invalid_request", "A key or version id is not valid text.")
    if isinstance(exc, OSError):
        return StorageError("storage_error", f"A file system error occurred ({exc.strerror or type(exc).__name__}).")
    return StorageError("storage_error", f"Unexpected storage failure ({type(exc).__name__}).")
