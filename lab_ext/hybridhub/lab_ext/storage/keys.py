"""Bucket names, object keys and prefixes: validation and per-user prefix confinement.

Keys are treated like paths so that tools which map keys to files (``mc``, s3fs, our own
download into the workspace) cannot be tricked: no empty, ``.`` or ``..`` segments, no
leading slash, no control characters, at most 1024 UTF-8 bytes (the S3 limit).
"""

from __future__ import annotations

import re
import unicodedata

from .errors import StorageError

MAX_KEY_BYTES = 1024
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_IPV4 = re.compile(r"^\d+\.\d+\.\d+\.\d+$")


def validate_bucket(name: str) -> str:
    if not isinstance(name, str) or not _BUCKET.fullmatch(name) or ".." in name or _IPV4.fullmatch(name):
        raise StorageError("invalid_bucket", "The bucket name is not valid (3-63 lowercase letters, digits, '.', '-').")
    return name


def _check_segments(text: str, what: str) -> None:
    if len(text.encode("utf-8")) > MAX_KEY_BYTES:
        raise StorageError("invalid_key", f"The {what} is longer than {MAX_KEY_BYTES} bytes.")
    if any(unicodedata.category(ch) == "Cc" for ch in text):
        raise StorageError("invalid_key", f"The {what} contains control characters.")
    if text.startswith("/"):
        raise StorageError("invalid_key", f"The {what} must not start with '/'.")
    if "\\" in text:
        raise StorageError("invalid_key", f"The {what} must not contain a backslash.")
    body = text[:-1] if text.endswith("/") else text
    for segment in body.split("/"):
        if segment in {"", ".", ".."}:
            raise StorageError("invalid_key", f"The {what} has an empty, '.' or '..' segment.")


def validate_key(key: str) -> str:
    """An object key naming a file-like object (not ending in '/')."""
    if not isinstance(key, str) or not key:
        raise StorageError("invalid_key", "The object key is empty.")
    if key.endswith("/"):
        raise StorageError("invalid_key", "The object key must not end with '/'.")
    _check_segments(key, "object key")
    return key


def validate_prefix(prefix: str) -> str:
    """A listing prefix: empty (bucket root) or segments ending in '/'."""
    if prefix == "":
        return prefix
    if not isinstance(prefix, str) or not prefix.endswith("/"):
        raise StorageError("invalid_key", "A prefix must end with '/'.")
    _check_segments(prefix, "prefix")
    return prefix


def normalize_restriction(prefix: str) -> str:
    """The configured per-user prefix, e.g. ``users/alice`` -> ``users/alice/``."""
    prefix = (prefix or "").strip().lstrip("/")
    if prefix and not prefix.endswith("/"):
        prefix += "/"
    return validate_prefix(prefix)


class Confinement:
    """Keeps every key and listing prefix under the configured per-user prefix."""

    def __init__(self, restriction: str = ""):
        self.root = normalize_restriction(restriction)

    def key(self, key: str) -> str:
        validate_key(key)
        if not key.startswith(self.root):
            raise StorageError("outside_prefix", f"Only keys under '{self.root}' are reachable.")
        return key

    def prefix(self, prefix: str) -> str:
        """A listing prefix; the empty prefix means the top of what is reachable."""
        if prefix == "":
            return self.root
        validate_prefix(prefix)
        if not prefix.startswith(self.root):
            raise StorageError("outside_prefix", f"Only keys under '{self.root}' are reachable.")
        return prefix

    def folder(self, prefix: str) -> str:
        """A new folder to create: a non-empty prefix below the restriction."""
        if prefix == "" or prefix == self.root:
            raise StorageError("invalid_key", "The folder name is empty.")
        return self.prefix(prefix)
