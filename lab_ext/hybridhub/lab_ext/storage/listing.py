"""Paginated listing: one S3 ListObjectsV2 request per page, never the whole prefix.

The S3 continuation token is handed to the browser as an opaque string and comes back for
the next page. It is the SDK's ``_execute`` that signs the request (the public generator
hides the token); this module is the one place that relies on it.
"""

from __future__ import annotations

from datetime import datetime

from minio import Minio
from minio.datatypes import parse_list_objects

from .errors import translate
from .keys import Confinement, validate_bucket

DEFAULT_PAGE = 500
MAX_PAGE = 1000


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def entry(obj, prefix: str) -> dict:
    name = obj.object_name[len(prefix):]
    if obj.is_dir:
        return {"type": "prefix", "key": obj.object_name, "name": name}
    return {
        "type": "object",
        "key": obj.object_name,
        "name": name,
        "size": obj.size,
        "last_modified": _iso(obj.last_modified),
        "etag": (obj.etag or "").strip('"'),
    }


def list_buckets(client: Minio) -> list[dict]:
    try:
        return [{"name": b.name, "created": _iso(b.creation_date)} for b in client.list_buckets()]
    except Exception as exc:
        raise translate(exc) from None


def list_page(
    client: Minio,
    confinement: Confinement,
    bucket: str,
    prefix: str = "",
    token: str | None = None,
    limit: int = DEFAULT_PAGE,
    search: str = "",
) -> dict:
    """One page under ``prefix`` with '/' as delimiter; ``search`` narrows by name start."""
    validate_bucket(bucket)
    prefix = confinement.prefix(prefix)
    limit = max(1, min(int(limit), MAX_PAGE))
    query = {
        "list-type": "2",
        "delimiter": "/",
        "max-keys": str(limit),
        "prefix": prefix + (search or ""),
        "encoding-type": "url",
    }
    if search:
        confinement.prefix(prefix)  # the search text only narrows what is already allowed
    if token:
        query["continuation-token"] = token
    try:
        response = client._execute("GET", bucket, query_params=query)
        objects, truncated, next_token, _ = parse_list_objects(response)
    except Exception as exc:
        raise translate(exc) from None
    entries = [entry(o, prefix) for o in objects if o.object_name != prefix]
    entries.sort(key=lambda e: (e["type"] != "prefix", e["name"]))
    return {
        "bucket": bucket,
        "prefix": prefix,
        "entries": entries,
        "next_token": next_token if truncated else None,
    }
