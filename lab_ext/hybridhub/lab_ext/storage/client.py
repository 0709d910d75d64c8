"""Build the minio client from :class:`~hybridhub.lab_ext.config.StorageConfig`.

TLS verification and an on-prem CA bundle go into the urllib3 pool; connection and read
timeouts are short enough that an unreachable store fails in seconds, not minutes.
"""

from __future__ import annotations

import os
from urllib.parse import urlsplit

import certifi
import urllib3
from minio import Minio

from .errors import StorageError

CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 120.0


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


def make_http(verify_tls: bool, ca_bundle: str = "", pool_size: int = 16) -> urllib3.PoolManager:
    if ca_bundle and not os.path.isfile(ca_bundle):
        raise StorageError("not_configured", "The configured CA bundle file does not exist.")
    retries = urllib3.Retry(total=3, connect=1, read=1, backoff_factor=0.2, status_forcelist=[500, 502, 503, 504])
    timeout = urllib3.Timeout(connect=CONNECT_TIMEOUT, read=READ_TIMEOUT)
    if not verify_tls:
        return urllib3.PoolManager(
            timeout=timeout, maxsize=pool_size, cert_reqs="CERT_NONE", retries=retries
        )
    return urllib3.PoolManager(
        timeout=timeout,
        maxsize=pool_size,
        cert_reqs="CERT_REQUIRED",
        ca_certs=ca_bundle or certifi.where(),
        retries=retries,
    )


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
    return _minio(
        config, config.endpoint, http_client=make_http(config.verify_tls, config.ca_bundle), cert_check=config.verify_tls
    )


def make_presign_client(config) -> Minio:
    """A client that only signs URLs, for the address browsers use (``browser_endpoint``).

    SigV4 signs the Host header, so a link for browsers must be signed for their host name,
    which may differ from the one the server uses. With the region set, signing is local:
    this client never opens a connection.
    """
    return _minio(config, config.browser_endpoint or config.endpoint)
