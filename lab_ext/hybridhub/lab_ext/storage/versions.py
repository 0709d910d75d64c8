"""Object versions: list one key's versions, and pins for reproducible runs.

A pin records bucket, key, version id, ETag and size; the pipeline panel reads pins from
``.hybridhub/data-pins.json`` in the server root (written atomically, no secrets).
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from minio import Minio
from minio.datatypes import parse_list_objects

from .. import workspace
from .errors import StorageError, translate
from .keys import validate_bucket, validate_key
from .listing import _iso

PINS_FILE = ".hybridhub/data-pins.json"
MAX_VERSIONS = 1000


def list_versions(client: Minio, bucket: str, key: str) -> list[dict]:
    """Newest first; delete markers included (flagged) so the history is honest."""
    validate_bucket(bucket)
    validate_key(key)
    found: list[dict] = []
    key_marker = version_marker = None
    while len(found) < MAX_VERSIONS:
        query = {"versions": "", "prefix": key, "max-keys": "1000", "delimiter": "", "encoding-type": "url"}
        if key_marker:
            query["key-marker"] = key_marker
        if version_marker:
            query["version-id-marker"] = version_marker
        try:
            response = client._execute("GET", bucket, query_params=query)
            objects, truncated, key_marker, version_marker = parse_list_objects(response)
        except Exception as exc:
            raise translate(exc) from None
        for obj in objects:
            if obj.object_name != key:
                continue
            found.append(
                {
                    "version_id": obj.version_id or "null",
                    "is_latest": bool(obj.is_latest and str(obj.is_latest).lower() == "true"),
                    "is_delete_marker": bool(obj.is_delete_marker),
                    "size": obj.size,
                    "last_modified": _iso(obj.last_modified),
                    "etag": (obj.etag or "").strip('"'),
                }
            )
        if not truncated or (key_marker and key_marker > key):
            break
    if not found:
        raise StorageError("no_such_key", "The object does not exist.")
    found.sort(key=lambda v: v["last_modified"] or "", reverse=True)
    return found


def _pins_path(root: str | os.PathLike) -> Path:
    return Path(os.path.realpath(root)) / PINS_FILE


_PIN_TEXTS = ("bucket", "key", "uri", "version_id", "pinned_at")


def read_pins(root: str | os.PathLike) -> list[dict]:
    """The pins; a file that is not ``{"pins": [{bucket, key, uri, version_id, ...}]}`` (those
    fields text where present) is ``invalid_pins_file`` (409), never silently replaced by the next pin."""
    path = _pins_path(root)
    if not path.is_file() or path.is_symlink():
        return []
    try:
        text = path.read_text(encoding="utf-8")
        data = json.loads(text) if text.strip() else {}
    except OSError:
        return []
    except (ValueError, RecursionError):
        raise StorageError("invalid_pins_file", details="not valid JSON") from None
    pins = data.get("pins", []) if isinstance(data, dict) else None
    if not isinstance(pins, list):
        raise StorageError("invalid_pins_file", details='not an object {"pins": [...]}')
    for n, pin in enumerate(pins):
        if not isinstance(pin, dict) or not all(isinstance(pin.get(name, ""), str) for name in _PIN_TEXTS):
            raise StorageError("invalid_pins_file", details=f"pin {n} is not an object whose {', '.join(_PIN_TEXTS)} are text")
    return pins


def _write_pins(root: str | os.PathLike, pins: list[dict]) -> None:
    data = json.dumps({"version": 1, "pins": pins}, indent=2).encode("utf-8")
    options = {"overwrite": True, "create_parents": True, "prefix": ".data-pins.", "suffix": ".tmp"}
    workspace.write_bytes(root, PINS_FILE, data, error=StorageError, **options)


def pin_version(client: Minio, root, bucket: str, key: str, version_id: str) -> dict:
    """Pin ``version_id`` of ``key`` (checked against the store); replaces an older pin of the key."""
    versions = list_versions(client, bucket, key)
    match = next((v for v in versions if v["version_id"] == version_id and not v["is_delete_marker"]), None)
    if match is None:
        raise StorageError("no_such_version", "That version of the object does not exist.")
    pin = {
        "bucket": bucket,
        "key": key,
        "uri": f"s3://{bucket}/{key}",
        "version_id": version_id,
        "etag": match["etag"],
        "size": match["size"],
        "last_modified": match["last_modified"],
        "pinned_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    pins = [p for p in read_pins(root) if not (p.get("bucket") == bucket and p.get("key") == key)]
    pins.append(pin)
    _write_pins(root, pins)
    return pin


def unpin(root, bucket: str, key: str) -> bool:
    pins = read_pins(root)
    kept = [p for p in pins if not (p.get("bucket") == bucket and p.get("key") == key)]
    if len(kept) == len(pins):
        return False
    _write_pins(root, kept)
    return True
