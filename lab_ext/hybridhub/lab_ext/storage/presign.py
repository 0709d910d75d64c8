"""Presigned GET links with a bounded expiry (computed locally; no request to the store)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from urllib.parse import quote

from minio import Minio

from .errors import StorageError, translate

MIN_EXPIRY = 1
MAX_EXPIRY = 7 * 24 * 3600  # the SigV4 limit
DEFAULT_EXPIRY = 3600
DIRECT_DOWNLOAD_EXPIRY = 120  # the browser follows the redirect at once; S3 checks expiry at the start only


def content_disposition(key: str, inline: bool = False) -> str:
    """The Content-Disposition for an object: its last key segment as the file name (RFC 6266)."""
    name = key.rsplit("/", 1)[-1]
    return f"{'inline' if inline else 'attachment'}; filename*=UTF-8''{quote(name, safe='')}"


def presign_get(
    client: Minio,
    bucket: str,
    key: str,
    expires: int = DEFAULT_EXPIRY,
    version_id: str | None = None,
    disposition: str | None = None,
) -> dict:
    try:
        seconds = int(expires)
    except (TypeError, ValueError):
        raise StorageError("invalid_request", "The expiry must be a number of seconds.") from None
    if not MIN_EXPIRY <= seconds <= MAX_EXPIRY:
        raise StorageError("invalid_request", "The expiry must be between 1 second and 7 days.")
    try:
        url = client.presigned_get_object(
            bucket,
            key,
            expires=timedelta(seconds=seconds),
            version_id=version_id or None,
            response_headers={"response-content-disposition": disposition} if disposition else None,
        )
    except Exception as exc:
        raise translate(exc) from None
    expires_at = datetime.now(timezone.utc) + timedelta(seconds=seconds)
    return {"url": url, "expires_in": seconds, "expires_at": expires_at.isoformat()}
