"""Live checks of the object store, with ONE user's keys from the per-user keys file (never shown):
the endpoint answers over the configured TLS, the keys are accepted, the default bucket exists with
versioning on, its CORS lets browsers download directly, and its clock agrees with the hub's.

The hub side talks to the store with the minio SDK directly (it must not import lab_ext: DESIGN.md
"Boundaries")."""

from __future__ import annotations

import json
import time
from email.utils import parsedate_to_datetime
from pathlib import Path
from urllib.parse import urlsplit

from minio import Minio
from minio.error import S3Error

from hybridhub.spawner.storage_keys import StorageKeysError, user_keys

from .check import FAIL, PASS, WARN, Context, Result, configured
from .checks_live import connection_failure, origin, pool, spawner_setting, tls_settings
from .classes import hub_class

KEY_ERRORS = {"InvalidAccessKeyId", "SignatureDoesNotMatch"}
# SigV4: the store refuses a request whose time differs from its own by more than 15 minutes
# ("RequestTimeTooSkewed", https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html;
# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-troubleshooting.html)
SKEW_REFUSED = 15 * 60
# presigned download links live 120 s (lab_ext storage): a minute of skew already eats half of that
SKEW_WARN = 60
PROBE_KEY = "hybridhub-doctor-cors-probe"  # a preflight names an object; it need not exist
ANY_ORIGIN = "https://hybridhub-doctor.invalid"  # the hub's address unknown: is any origin allowed?


def _endpoint(context: Context) -> tuple[str, dict, str]:
    url = spawner_setting(context, "storage_endpoint", "") or ""
    tls, tls_text = tls_settings(context, "storage_verify_tls", "storage_ca_bundle")
    return url, tls, tls_text


def _skipped(name: str, setting: str) -> Result:
    return Result(name, WARN, "saw_live_skipped", {"setting": setting})


def _one_user(context: Context) -> tuple[str, str, str] | None:
    """(user, access key, secret key) of the first user of the keys file, else the shared keys."""
    path = spawner_setting(context, "storage_credentials_file", "")
    if path:
        try:
            users = sorted(json.loads(Path(path).read_text()))
            return (users[0], *user_keys(path, users[0])) if users else None
        except (OSError, ValueError, TypeError, StorageKeysError):
            return None  # the storage-keys check says what is wrong with the file
    shared = spawner_setting(context, "storage_access_key", ""), spawner_setting(context, "storage_secret_key", "")
    return ("(shared key)", *shared) if all(shared) else None


def _client(context: Context, name: str) -> tuple[Minio, dict] | Result:
    """A minio client with one user's keys, and the values a report shows (no key); or why not."""
    url, tls, tls_text = _endpoint(context)
    if not url:
        return _skipped(name, "HybridSpawner.storage_endpoint")
    user = _one_user(context)
    if user is None:
        return _skipped(name, "HybridSpawner.storage_credentials_file")
    parts = urlsplit(url)
    client = Minio(parts.netloc, access_key=user[1], secret_key=user[2], secure=parts.scheme == "https",
                   region=spawner_setting(context, "storage_region", "us-east-1") or "us-east-1",
                   http_client=pool(tls), cert_check=tls.get("cert_reqs") != "CERT_NONE")
    return client, {"url": url, "user": user[0], "tls": tls_text}


def _failed(name: str, error: Exception, seen: dict) -> Result:
    """A store call that failed: the S3 error code (never its message's request details) or the connection."""
    if isinstance(error, S3Error):
        if error.code in KEY_ERRORS:
            return Result(name, FAIL, "saw_store_keys", {**seen, "code": error.code}, "fix_store_keys")
        if error.code == "RequestTimeTooSkewed":
            return Result(name, FAIL, "saw_store_error", {**seen, "code": error.code}, "fix_clock")
        return Result(name, FAIL, "saw_store_error", {**seen, "code": error.code}, "fix_store_error")
    failure = connection_failure(name, seen["url"], error, "store")
    if failure is None:
        raise error
    return failure


def _store_root(context: Context, name: str):
    """The store's answer to an unsigned ``GET /`` with ``(url, tls text)``; or the verdict why not."""
    url, tls, tls_text = _endpoint(context)
    if not url:
        return _skipped(name, "HybridSpawner.storage_endpoint")
    try:
        return pool(tls).request("GET", url.rstrip("/") + "/"), url, tls_text
    except Exception as e:  # noqa: BLE001 - classified in _failed; anything else is the check's own error
        return _failed(name, e, {"url": url})


def store_answers(context: Context) -> Result:
    """The endpoint answers HTTP over the configured TLS (an S3 error answer such as 403 counts)."""
    name = "store-answers"
    probed = _store_root(context, name)
    if isinstance(probed, Result):
        return probed
    answer, url, tls_text = probed
    return Result(name, PASS, "saw_store_answers", {"url": url, "status": answer.status, "tls": tls_text})


def store_keys_accepted(context: Context) -> Result:
    """A signed list of buckets with one user's keys: a refused signature or key is a failure."""
    name = "store-keys-accepted"
    made = _client(context, name)
    if isinstance(made, Result):
        return made
    client, seen = made
    try:
        client.list_buckets()
    except S3Error as e:
        if e.code == "AccessDenied":  # the signature was checked and accepted; listing is not allowed
            return Result(name, PASS, "saw_store_keys_ok", seen)
        return _failed(name, e, seen)
    except Exception as e:  # noqa: BLE001
        return _failed(name, e, seen)
    return Result(name, PASS, "saw_store_keys_ok", seen)


def _default_bucket(context: Context, name: str) -> str | Result:
    bucket = spawner_setting(context, "storage_default_bucket", "")
    return bucket or _skipped(name, "HybridSpawner.storage_default_bucket")


def bucket_versioning(context: Context) -> Result:
    """The default bucket exists (a failure when not) and keeps versions (pins need them: a warning)."""
    name = "store-bucket"
    made, bucket = _client(context, name), _default_bucket(context, name)
    for skipped in (made, bucket):
        if isinstance(skipped, Result):
            return skipped
    client, seen = made
    seen = {**seen, "bucket": bucket}
    try:
        status = client.get_bucket_versioning(bucket).status
    except ValueError:  # the SDK checks the name before asking (S3's bucket naming rules)
        return Result(name, FAIL, "saw_store_bucket_name", seen, "fix_store_bucket")
    except S3Error as e:
        if e.code == "NoSuchBucket":
            return Result(name, FAIL, "saw_store_no_bucket", seen, "fix_store_bucket")
        return _failed(name, e, seen)
    except Exception as e:  # noqa: BLE001
        return _failed(name, e, seen)
    if status != "Enabled":
        return Result(name, WARN, "saw_store_versioning_off", {**seen, "status": status or "Off"},
                      "fix_store_versioning")
    return Result(name, PASS, "saw_store_versioning_on", seen)


def bucket_cors(context: Context) -> Result:
    """With ``storage_browser_endpoint`` set, browsers fetch from the store directly: the store must
    allow GET from the hub's origin. Asked the way a browser asks — a CORS preflight (``OPTIONS``
    with ``Origin``, unsigned as browsers send it) for an object of the default bucket — because
    stores differ in where CORS is set: per bucket (S3, SeaweedFS), or server-wide (MinIO's
    ``api cors_allow_origin``; its community edition answers the bucket CORS API ``NotImplemented``),
    and a bucket without rules means "any origin" on SeaweedFS and MinIO. Sent to
    ``storage_endpoint`` (the address the hub reaches; the same server as the browsers' one). When
    refused, the bucket's CORS rules (S3 GetBucketCors) say why."""
    name = "store-cors"
    if not spawner_setting(context, "storage_browser_endpoint", ""):
        return Result(name, PASS, "saw_cors_not_needed", {})
    made, bucket = _client(context, name), _default_bucket(context, name)
    for skipped in (made, bucket):
        if isinstance(skipped, Result):
            return skipped
    client, seen = made
    url, tls, _ = _endpoint(context)
    hub = _hub_origin(context)
    seen = {**seen, "bucket": bucket, "origin": hub or "*"}
    sent = hub or ANY_ORIGIN
    try:
        # GET: direct downloads; PUT: direct uploads' parts (the panel falls back without it)
        get, put = (_preflight(pool(tls), f"{url.rstrip('/')}/{bucket}/{PROBE_KEY}", sent, method) for method in ("GET", "PUT"))
    except Exception as e:  # noqa: BLE001
        return _failed(name, e, seen)
    if get and put:
        return Result(name, PASS, "saw_cors_ok", seen)
    if get:
        return Result(name, WARN, "saw_cors_no_put", seen, "fix_store_cors")
    return _why_cors_refused(name, client, bucket, seen)


def _preflight(http, url: str, origin_sent: str, method: str) -> bool:
    """Would a browser on ``origin_sent`` be let to send ``method`` to ``url``?"""
    answer = http.request("OPTIONS", url, headers={"Origin": origin_sent, "Access-Control-Request-Method": method})
    allowed = answer.headers.get("Access-Control-Allow-Origin")
    methods = answer.headers.get("Access-Control-Allow-Methods", "")
    return answer.status < 300 and allowed in ("*", origin_sent) and method in methods.replace(" ", "").split(",")


def _why_cors_refused(name: str, client: Minio, bucket: str, seen: dict) -> Result:
    try:
        # minio 7.2 has no CORS call: the SDK's own request path, as get_bucket_versioning does it
        # (S3 GetBucketCors: GET /<bucket>?cors)
        client._execute("GET", bucket, query_params={"cors": ""})
    except S3Error as e:
        if e.code == "NoSuchCORSConfiguration":
            return Result(name, WARN, "saw_cors_none", seen, "fix_store_cors")
        if e.code == "NotImplemented":
            return Result(name, WARN, "saw_cors_not_implemented", seen, "fix_store_cors_elsewhere")
    except Exception:  # noqa: BLE001 - the preflight's refusal is the verdict; this only explains it
        pass
    return Result(name, WARN, "saw_cors_not_allowed", seen, "fix_store_cors")


def _hub_origin(context: Context) -> str:
    """Where the hub's pages come from: ``JupyterHub.public_url``, else the login's
    ``oauth_callback_url`` (the site values set that one), else the address the hub listens on when
    it names one host (``bind_url``, or ``ip`` and ``port``: a hub people reach directly, like the
    demo's); empty when none says."""
    settings = context.config.JupyterHub if "JupyterHub" in context.config else {}
    hub = settings.get("public_url", "")
    if not hub:
        authenticator = hub_class(context, "authenticator_class", "jupyterhub.authenticators")
        hub = configured(context.config, authenticator, "oauth_callback_url", "") or ""
    if not hub:
        hub = _listening_url(settings)
    return origin(hub) if hub else ""


def _listening_url(settings) -> str:
    """JupyterHub's ``bind_url`` (default ``http://{ip}:{port}/``, https with ``ssl_cert``) when its
    host is one address, not all of them."""
    bind = settings.get("bind_url", "")
    if not bind:
        ip = settings.get("ip", "")
        scheme = "https" if settings.get("ssl_cert", "") else "http"
        bind = f"{scheme}://{f'[{ip}]' if ':' in ip else ip}:{settings.get('port', 8000)}/" if ip else ""
    host = urlsplit(bind).hostname if bind else None
    return bind if host and host not in ("0.0.0.0", "::") else ""


def clock_agrees(context: Context, now=time.time) -> Result:
    """The hub's clock against the store's (``Date`` of its answer): beyond 15 minutes every signed
    request is refused (RequestTimeTooSkewed); beyond a minute presigned links expire early."""
    name = "clock"
    probed = _store_root(context, name)
    if isinstance(probed, Result):
        return probed
    answer, url, _ = probed
    date = answer.headers.get("Date")
    if not date:
        return Result(name, WARN, "saw_clock_no_date", {"url": url})
    skew = round(now() - parsedate_to_datetime(date).timestamp())
    seen = {"url": url, "skew": skew}
    if abs(skew) > SKEW_REFUSED:
        return Result(name, FAIL, "saw_clock_skew", seen, "fix_clock")
    if abs(skew) > SKEW_WARN:
        return Result(name, WARN, "saw_clock_skew", seen, "fix_clock")
    return Result(name, PASS, "saw_clock_ok", seen)
