"""Paginated listing: one S3 ListObjectsV2 request per page, never the whole prefix.

The S3 continuation token is handed to the browser as an opaque string and comes back for
the next page. It is the SDK's ``_execute`` that signs the request (the public generator
hides the token); this module is the one place that relies on it.
"""

from __future__ import annotations

from datetime import datetime
from urllib.parse import unquote_plus
from xml.etree import ElementTree

from minio import Minio

from .errors import translate
from .keys import Confinement, validate_bucket

DEFAULT_PAGE = 500
MAX_PAGE = 1000


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


_NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"


def parse_page(xml: bytes, prefix: str) -> tuple[list[dict], bool, str | None]:
    """Entries, truncated, next token from a ListObjectsV2 answer (``encoding-type=url``).

    A lean parser: dates stay the ISO 8601 strings S3 sends; nothing else is computed.
    """
    root = ElementTree.fromstring(xml)
    ns = _NS if root.tag.startswith(_NS) else ""
    url = (root.findtext(f"{ns}EncodingType") or "") == "url"

    def key(text: str | None) -> str:
        return unquote_plus(text or "") if url else (text or "")

    entries = []
    for el in root.iterfind(f"{ns}CommonPrefixes"):
        full = key(el.findtext(f"{ns}Prefix"))
        entries.append({"type": "prefix", "key": full, "name": full[len(prefix):]})
    for el in root.iterfind(f"{ns}Contents"):
        full = key(el.findtext(f"{ns}Key"))
        if full == prefix:
            continue  # the folder's own marker object
        entries.append(
            {
                "type": "object",
                "key": full,
                "name": full[len(prefix):],
                "size": int(el.findtext(f"{ns}Size") or 0),
                "last_modified": el.findtext(f"{ns}LastModified"),
                "etag": (el.findtext(f"{ns}ETag") or "").strip('"'),
            }
        )
    truncated = (root.findtext(f"{ns}IsTruncated") or "").lower() == "true"
    return entries, truncated, root.findtext(f"{ns}NextContinuationToken")


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
        "prefix": prefix + (search or ""),  # the search text only narrows what is already allowed
        "encoding-type": "url",
    }
    if token:
        query["continuation-token"] = token
    try:
        response = client._execute("GET", bucket, query_params=query)
        entries, truncated, next_token = parse_page(response.data, prefix)
    except Exception as exc:
        raise translate(exc) from None
    entries.sort(key=lambda e: (e["type"] != "prefix", e["name"]))
    return {
        "bucket": bucket,
        "prefix": prefix,
        "entries": entries,
        "next_token": next_token if truncated else None,
    }
