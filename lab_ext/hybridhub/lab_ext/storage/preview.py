"""Size-capped previews: text and CSV heads, JSON, images.

Only a ranged GET of the first ``TEXT_CAP`` bytes is read for text-like objects; JSON is
parsed only when the whole object fits ``JSON_CAP``; images are served whole only up to
``IMAGE_CAP``, and never SVG (script in an image is not worth the risk).
"""

from __future__ import annotations

import csv
import io
import json
import posixpath

from minio import Minio

from . import heads
from .errors import StorageError, translate
from .transfers import close_response, open_object

TEXT_CAP = 64 * 1024
JSON_CAP = 1024 * 1024
IMAGE_CAP = 10 * 1024 * 1024
CSV_ROWS = 50

IMAGE_TYPES = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".bmp": "image/bmp",
}
TEXT_EXTENSIONS = {
    ".txt", ".md", ".py", ".yaml", ".yml", ".log", ".jsonl", ".ndjson", ".ini", ".cfg", ".toml",
    ".sh", ".xml", ".html", ".ipynb", ".r", ".sql", ".conf", ".env.example",
}
CSV_EXTENSIONS = {".csv": ",", ".tsv": "\t"}


def kind_of(key: str) -> str:
    ext = posixpath.splitext(key.lower())[1]
    if ext in IMAGE_TYPES:
        return "image"
    if ext in CSV_EXTENSIONS:
        return "csv"
    if ext == ".json":
        return "json"
    if ext in TEXT_EXTENSIONS:
        return "text"
    return "unknown"


def _stat(client: Minio, bucket: str, key: str, version_id: str | None):
    return heads.stat_object(client, bucket, key, version_id)


def _head(client: Minio, bucket: str, key: str, version_id: str | None, size: int, cap: int) -> bytes:
    if size == 0:
        return b""
    response = open_object(client, bucket, key, version_id, offset=0, length=min(size, cap))
    try:
        return response.read()
    except Exception as exc:
        raise translate(exc) from None
    finally:
        close_response(response)


def _decode(data: bytes, truncated: bool) -> str | None:
    if b"\x00" in data:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        # a cut multi-byte character at the very end of a truncated head is fine
        if truncated and exc.start >= len(data) - 3:
            return data[: exc.start].decode("utf-8", errors="strict")
        return None


def _csv_rows(text: str, truncated: bool, delimiter: str) -> list[list[str]]:
    if truncated and "\n" in text:
        text = text[: text.rindex("\n")]
    rows = []
    for row in csv.reader(io.StringIO(text), delimiter=delimiter):
        rows.append(row)
        if len(rows) >= CSV_ROWS:
            break
    return rows


def preview(client: Minio, bucket: str, key: str, version_id: str | None = None) -> dict:
    """A JSON-able preview; images return only metadata (the bytes come from ``image_bytes``)."""
    stat = _stat(client, bucket, key, version_id)
    size = stat.size or 0
    kind = kind_of(key)
    base = {"bucket": bucket, "key": key, "size": size, "content_type": stat.content_type, "kind": kind}
    if kind == "image":
        if size > IMAGE_CAP:
            raise StorageError("preview_too_large", f"Images larger than {IMAGE_CAP // (1024 * 1024)} MiB are not previewed.")
        return base
    cap = JSON_CAP if kind == "json" else TEXT_CAP
    data = _head(client, bucket, key, version_id, size, cap)
    truncated = size > len(data)
    text = _decode(data, truncated)
    if text is None:
        return {**base, "kind": "binary", "truncated": truncated}
    if kind == "json" and not truncated:
        try:
            return {**base, "truncated": False, "text": json.dumps(json.loads(text), indent=2, ensure_ascii=False)[:JSON_CAP]}
        except ValueError:
            kind = "text"
    if kind == "json":
        text = text[:TEXT_CAP]
        truncated = True
    if kind == "csv":
        delimiter = CSV_EXTENSIONS[posixpath.splitext(key.lower())[1]]
        return {**base, "truncated": truncated, "rows": _csv_rows(text, truncated, delimiter)}
    return {**base, "kind": "text", "truncated": truncated, "text": text}


def image_type(key: str) -> str:
    ext = posixpath.splitext(key.lower())[1]
    if ext not in IMAGE_TYPES:
        raise StorageError("preview_unsupported", "Only PNG, JPEG, GIF, WebP and BMP images are previewed.")
    return IMAGE_TYPES[ext]
