"""Build the minio client from :class:`~hybridhub.lab_ext.config.StorageConfig`.

TLS verification and an on-prem CA bundle go into the urllib3 pool; the first-byte and stall
deadlines (:mod:`.deadlines`) make an unreachable or hung store fail in seconds, not minutes.
"""

from __future__ import annotations

import contextlib
import copy
import os
from collections.abc import Iterator
from urllib.parse import urlsplit

import certifi
import urllib3
from minio import Minio

from .deadlines import DeadlinedPoolManager, Watch
from .errors import Cancelled, StorageError

# StorageConfig's defaults, for configs built without those settings (tests, benchmarks)
FIRST_BYTE_TIMEOUT = 10.0
STALL_TIMEOUT = 30.0


def parse_endpoint(endpoint: str) -> tuple[str, bool]:
    """``https://host:9000`` -> (``host:9000``, secure). A bare ``host:port`` means https."""
    endpoint = endpoint.strip()
    if "://" not in endpoint:
        endpoint = "https://" + endpoint
    parts = urlsplit(endpoint)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise StorageError("not_configured", "The object store endpoint is not a valid http(s) URL.")
    if parts.path not in {"", "/"} or parts.query or parts.username:
        raise StorageError("not_configured", "The object store endpoint must be scheme://host[:port] only.")
    return parts.netloc, parts.scheme == "https"


def deadlines(config) -> tuple[float, float]:
    """(first byte, stall) seconds from ``config``."""
    return (
        float(getattr(config, "first_byte_timeout", FIRST_BYTE_TIMEOUT)),
        float(getattr(config, "stall_timeout", STALL_TIMEOUT)),
    )


def make_http(
    verify_tls: bool,
    ca_bundle: str = "",
    pool_size: int = 16,
    first_byte: float = FIRST_BYTE_TIMEOUT,
    stall: float = STALL_TIMEOUT,
) -> urllib3.PoolManager:
    if ca_bundle and not os.path.isfile(ca_bundle):
        raise StorageError("not_configured", "The configured CA bundle file does not exist.")
    tls = {"cert_reqs": "CERT_REQUIRED", "ca_certs": ca_bundle or certifi.where()} if verify_tls else {"cert_reqs": "CERT_NONE"}
    return DeadlinedPoolManager(first_byte, stall, maxsize=pool_size, **tls)


def _require_configured(config) -> None:
    if not (config.endpoint and config.access_key and config.secret_key):
        raise StorageError(
            "not_configured",
            "Object storage is not configured: set HYBRIDHUB_S3_ENDPOINT, HYBRIDHUB_S3_ACCESS_KEY "
            "and HYBRIDHUB_S3_SECRET_KEY (or c.StorageConfig).",
        )


def _minio(config, endpoint: str, **options) -> Minio:
    _require_configured(config)
    netloc, secure = parse_endpoint(endpoint)
    return Minio(
        netloc,
        access_key=config.access_key,
        secret_key=config.secret_key,
        secure=secure,
        region=config.region or "us-east-1",
        **options,
    )


def make_client(config) -> Minio:
    """A client for ``config`` (a StorageConfig or anything with the same attributes)."""
    if not config.verify_tls:
        urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
    first_byte, stall = deadlines(config)
    http = make_http(config.verify_tls, config.ca_bundle, first_byte=first_byte, stall=stall)
    return _minio(config, config.endpoint, http_client=http, cert_check=config.verify_tls)


@contextlib.contextmanager
def transfer_client(client: Minio, progress) -> Iterator[Minio]:
    """A twin of ``client`` with connections of its own for one transfer, broken as soon as
    ``progress`` is cancelled (a cancel then ends the transfer at once, even while it waits on
    a stalled store) and closed when the transfer ends. A client not built here (one a test
    injects) is used as is."""
    http = getattr(client, "_http", None)
    if not isinstance(http, DeadlinedPoolManager):
        yield client
        return
    watch = Watch()
    progress.on_cancel(lambda: watch.abort(Cancelled()))
    twin = copy.copy(client)
    twin._http = http.with_watch(watch)
    try:
        yield twin
    finally:
        twin._http.clear()


def make_presign_client(config) -> Minio:
    """A client that only signs URLs, for the address browsers use (``browser_endpoint``).

    SigV4 signs the Host header, so a link for browsers must be signed for their host name,
    which may differ from the one the server uses. With the region set, signing is local:
    this client never opens a connection.
    """
    return _minio(config, config.browser_endpoint or config.endpoint)
