"""Can a version's data still be read as it was? (Reproduce, design §2.)

An input read at a recorded object version is read at that version again: nothing to check. An
input read from a store without versioning has only its ETag and size recorded: the object is
looked at now (HEAD, with the server's storage settings) — the same ETag runs anyway, with the
panel saying reproducibility is weaker; a different ETag or size, or an object gone, is
``not_reproducible`` (training on other data is no reproduction). When the store cannot be asked
(not configured, unreachable), the run goes ahead with a warning saying so.
"""

from __future__ import annotations

import asyncio

from .errors import ModelsError

TIMEOUT = 20.0


def _split(uri: str) -> tuple[str, str] | None:
    if not isinstance(uri, str) or not uri.startswith("s3://"):
        return None
    bucket, _, key = uri[len("s3://"):].partition("/")
    return (bucket, key) if bucket and key else None


def _configured(storage) -> bool:
    """A StorageConfig (or anything with its fields) with an endpoint and keys."""
    return storage is not None and all(getattr(storage, k, "") for k in ("endpoint", "access_key", "secret_key"))


def _etag(value) -> str:
    return str(value or "").strip().strip('"')


async def unchanged(storage, data: dict) -> list[str]:
    """Warnings for inputs that could not be checked; ``not_reproducible`` for changed ones."""
    warnings: list[str] = []
    for which in ("train", "test"):
        record = data.get(which)
        if not isinstance(record, dict) or (record.get("versioned") and record.get("version_id")):
            continue
        where = _split(record.get("uri", ""))
        if where is None or not _configured(storage):
            warnings.append(f"the {which} data could not be compared with what was read (no object store here)")
            continue
        try:
            now = await asyncio.wait_for(asyncio.to_thread(_head, storage, *where), TIMEOUT)
        except (asyncio.TimeoutError, OSError, ModelsError) as exc:
            warnings.append(f"the {which} data could not be compared with what was read ({type(exc).__name__})")
            continue
        except Exception as exc:  # noqa: BLE001 - the storage layer's StorageError (and minio's)
            if getattr(exc, "reason", "") in ("no_such_key", "no_such_bucket"):
                raise ModelsError("not_reproducible", details=f"{record['uri']} no longer exists") from None
            warnings.append(f"the {which} data could not be compared with what was read ({getattr(exc, 'reason', '')})")
            continue
        if _etag(now[0]) != _etag(record.get("etag")) or (record.get("size") is not None and now[1] != record["size"]):
            raise ModelsError("not_reproducible", details=f"{record['uri']} changed since it was read (ETag or size)")
    return warnings


def _head(storage, bucket: str, key: str) -> tuple[str, int]:
    from ..storage import heads
    from ..storage.client import make_client

    found = heads.stat_object(make_client(storage), bucket, key)
    return found.etag, found.size
