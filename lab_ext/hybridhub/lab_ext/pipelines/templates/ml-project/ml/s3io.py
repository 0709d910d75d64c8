"""Read and write the pipeline's data: s3://bucket/key (a given version), https://, or a path.

``read_object`` also says what was actually read (design §2 of issue 19, for lineage.json): the
object version the store answered with (``x-amz-version-id``), its ETag and size. A bucket without
versioning (SeaweedFS, Garage, Ceph RGW or MinIO with it off) answers no version id, or "null":
then ``versioned`` is false and ETag + size are all that identify the data.

Standard library only, so the same file runs in a slim image, on a shell runner and on the
developer's machine. S3 requests are signed with AWS Signature V4 using the credentials in
the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, S3_ENDPOINT or AWS_ENDPOINT_URL,
AWS_REGION); the keys are never printed.

With ``S3IO_CACHE_DIR`` set, ``read_object`` (and ``read_bytes``) keep s3:// objects in that
folder and serve a later read of the same version from it (s3cache.py; PIPELINE.md, "Data cache").

``read_object`` counts the s3:// bytes this process read from the store (``training_read``) and
from the cache instead (``cache_saved``): each cache line says the totals so far and, with
``HYBRIDHUB_TRANSFER_REPORT_URL`` and ``HYBRIDHUB_TRANSFER_REPORT_TOKEN`` set, the process prints
them at exit and sends them to the hub's cost service (PIPELINE.md, "Data transfer report"); a
report that fails is said in one line and never fails the job.
"""

from __future__ import annotations

import atexit
import datetime
import hashlib
import hmac
import http.client
import io
import json
import os
import sys
import threading
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

try:  # beside this file in the project; not copied into a model folder, which reads no training data
    import s3cache
except ImportError:  # pragma: no cover - the serving runtime's copy of s3io
    s3cache = None

TIMEOUT = 60
READ_SIZE = 1 << 20  # open_object's buffer: what is held of an object at a time
REPORT_URL_ENV, REPORT_TOKEN_ENV, REPORT_USER_ENV = (
    "HYBRIDHUB_TRANSFER_REPORT_URL", "HYBRIDHUB_TRANSFER_REPORT_TOKEN", "HYBRIDHUB_TRANSFER_REPORT_USER")
REPORT_TIMEOUT = 10

TOTALS = {"training_read": 0, "cache_saved": 0}  # s3:// bytes this process read from the store / its cache
_totals_lock = threading.Lock()
_reporting = []  # the exit report, registered at the first count


def count(kind: str, n: int) -> str:
    """Add ``n`` bytes to a total; the totals, said for the job log."""
    with _totals_lock:
        TOTALS[kind] += n
        if not _reporting:
            _reporting.append(atexit.register(report_totals))
        return totals_text()


def totals_text() -> str:
    return f"this job: {TOTALS['training_read']} bytes read from the store, {TOTALS['cache_saved']} from the cache"


def report_totals(environ=os.environ) -> bool:
    """At exit, when configured: the totals in the job log and to the cost service
    (``POST $HYBRIDHUB_TRANSFER_REPORT_URL``, ``Authorization: token $HYBRIDHUB_TRANSFER_REPORT_TOKEN``,
    for ``$HYBRIDHUB_TRANSFER_REPORT_USER``, else the hub or GitLab user who runs the job).
    True when the cost service took them. Never raises; never prints the token."""
    counts = {kind: n for kind, n in TOTALS.items() if n}
    if not counts:
        return False
    url, token = environ.get(REPORT_URL_ENV, "").strip(), environ.get(REPORT_TOKEN_ENV, "").strip()
    user = environ.get(REPORT_USER_ENV) or environ.get("JUPYTERHUB_USER") or environ.get("GITLAB_USER_LOGIN") or ""
    if not (url and token and user):
        return False  # not reporting: the cache lines said the totals; nothing more in the job log
    print(f"s3io totals, {totals_text()}", file=sys.stderr, flush=True)
    body = json.dumps({"id": uuid.uuid4().hex, "user": user, "bytes": counts}).encode()
    request = urllib.request.Request(url, data=body, method="POST",
                                     headers={"Authorization": f"token {token}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=REPORT_TIMEOUT) as response:
            response.read()
    except urllib.error.HTTPError as exc:
        print(f"s3io transfer report to the cost service failed: HTTP {exc.code} (the job goes on)", file=sys.stderr, flush=True)
        return False
    except Exception as exc:  # noqa: BLE001 - a report never fails the job
        print(f"s3io transfer report to the cost service failed: {type(exc).__name__} (the job goes on)", file=sys.stderr, flush=True)
        return False
    print(f"s3io transfer report sent for {user}", file=sys.stderr, flush=True)
    return True


def _sign(key: bytes, msg: str) -> bytes:
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


def _endpoint() -> str:
    endpoint = os.environ.get("S3_ENDPOINT") or os.environ.get("AWS_ENDPOINT_URL") or ""
    if not endpoint:
        raise SystemExit("S3_ENDPOINT (or AWS_ENDPOINT_URL) is not set: cannot read s3:// data")
    return endpoint.rstrip("/")


def _s3_signed(method: str, uri: str, version: str = "", body: bytes = b"") -> urllib.request.Request:
    """The request for ``uri``, signed with AWS Signature V4 (the one signer of this module)."""
    parsed = urllib.parse.urlparse(uri)
    bucket, key = parsed.netloc, parsed.path.lstrip("/")
    if not bucket or not key:
        raise SystemExit(f"not an s3://bucket/key URI: {uri}")
    access = os.environ.get("AWS_ACCESS_KEY_ID", "")
    secret = os.environ.get("AWS_SECRET_ACCESS_KEY", "")
    if not access or not secret:
        raise SystemExit("AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY are not set: cannot read s3:// data")
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    endpoint = urllib.parse.urlparse(_endpoint())
    path = "/" + urllib.parse.quote(f"{bucket}/{key}", safe="/-_.~")
    query = f"versionId={urllib.parse.quote(version, safe='-_.~')}" if version else ""
    now = datetime.datetime.now(datetime.timezone.utc)
    stamp, day = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
    payload = hashlib.sha256(body).hexdigest()
    headers = {"host": endpoint.netloc, "x-amz-content-sha256": payload, "x-amz-date": stamp}
    signed = ";".join(sorted(headers))
    canonical = "\n".join(
        [method, path, query, "".join(f"{k}:{headers[k]}\n" for k in sorted(headers)), signed, payload]
    )
    scope = f"{day}/{region}/s3/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", stamp, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    key_bytes = _sign(_sign(_sign(_sign(("AWS4" + secret).encode(), day), region), "s3"), "aws4_request")
    signature = hmac.new(key_bytes, to_sign.encode(), hashlib.sha256).hexdigest()
    headers["authorization"] = f"AWS4-HMAC-SHA256 Credential={access}/{scope}, SignedHeaders={signed}, Signature={signature}"
    url = f"{endpoint.scheme}://{endpoint.netloc}{path}" + (f"?{query}" if query else "")
    return urllib.request.Request(url, data=body if method == "PUT" else None, method=method, headers=headers)


def _urlopen(request, method: str, shown: str):
    """The open response; a refusal or an unreachable store: SystemExit naming ``shown`` (never a key)."""
    try:
        return urllib.request.urlopen(request, timeout=TIMEOUT)
    except urllib.error.HTTPError as exc:
        raise SystemExit(f"{method} {shown} failed: HTTP {exc.code}") from None
    except urllib.error.URLError as exc:
        raise SystemExit(f"{method} {shown} failed: {exc.reason}") from None
    except OSError as exc:  # a reset or timeout before the answer's headers
        raise SystemExit(f"{method} {shown} failed: {exc}") from None


def _s3_request(method: str, uri: str, version: str = "", body: bytes = b"") -> tuple[bytes, dict[str, str]]:
    with _Body(_urlopen(_s3_signed(method, uri, version, body), method, uri), method, uri) as response:
        return response.read(), response.headers


class _Body(io.RawIOBase):
    """An HTTP answer's body read as a binary file, its failures said like the request's.

    http.client's ``HTTPResponse.read(amt)`` returns b"" when the connection closes before
    Content-Length bytes came ("Ideally, we would raise IncompleteRead if the content-length wasn't
    satisfied, but it might break compatibility", CPython Lib/http/client.py, 3.11): a cut
    connection would look like the end of the object, so the bytes are counted here and a short
    body is a failure. A reset or timeout mid-body (OSError, http.client.HTTPException) likewise.
    """

    def __init__(self, response, method: str, shown: str):
        super().__init__()
        self._response, self._method, self._shown, self._got = response, method, shown, 0
        self.headers = {k.lower(): v for k, v in response.headers.items()}
        length = self.headers.get("content-length", "")
        self.length = int(length) if length.isdigit() else None

    def readable(self) -> bool:
        return True

    def _failed(self, exc: Exception) -> SystemExit:
        return SystemExit(f"{self._method} {self._shown} failed after {self._got} bytes: {type(exc).__name__} {exc}")

    def readall(self) -> bytes:
        """The whole body in one piece (``HTTPResponse.read()`` raises IncompleteRead when short)."""
        try:
            data = self._response.read()
        except (OSError, http.client.HTTPException) as exc:
            raise self._failed(exc) from None
        self._got += len(data)
        return data

    def readinto(self, buffer) -> int:
        try:
            n = self._response.readinto(buffer)
        except (OSError, http.client.HTTPException) as exc:
            raise self._failed(exc) from None
        self._got += n
        if n == 0 and len(buffer) and self.length is not None and self._got < self.length:
            raise SystemExit(f"{self._method} {self._shown} failed: the connection closed after {self._got} of {self.length} bytes")
        return n

    def close(self) -> None:
        try:
            self._response.close()
        finally:
            super().close()


def open_object(uri: str, version: str = ""):
    """``uri`` opened for reading as a binary file (a context manager), never held whole: S3 signed
    as ``read_object`` does, https:// and paths likewise. A failure to open or, later, while reading
    is a SystemExit naming the URI (a link without its query) and the status, as ``read_object``."""
    if uri.startswith("s3://"):
        return io.BufferedReader(_Body(_urlopen(_s3_signed("GET", uri, version), "GET", uri), "GET", uri), READ_SIZE)
    if uri.startswith(("http://", "https://")):
        shown = recorded_uri(uri)  # said without the URL's query (a presigned link's signature)
        return io.BufferedReader(_Body(_urlopen(uri, "GET", shown), "GET", shown), READ_SIZE)
    return open(uri.removeprefix("file://"), "rb")  # noqa: SIM115 - the caller closes it


def read_bytes(uri: str, version: str = "") -> bytes:
    """The content of ``uri``; ``version`` pins an S3 object version (reproducible runs)."""
    return read_object(uri, version)[0]


def recorded_uri(uri: str) -> str:
    """``uri`` as lineage may keep it: an https:// URL without user:password or query (a presigned
    link's query is a credential: X-Amz-Credential, X-Amz-Signature)."""
    if not uri.startswith(("http://", "https://")):
        return uri
    parts = urllib.parse.urlsplit(uri)
    host = (parts.hostname or "") + (f":{parts.port}" if parts.port else "")
    return urllib.parse.urlunsplit((parts.scheme, host, parts.path, "", ""))


def read_object(uri: str, version: str = "") -> tuple[bytes, dict]:
    """The content of ``uri`` and what was read: {"uri", "requested_version", "version_id",
    "etag", "size", "versioned", "sha256"} (sha256 of the bytes, computed here, for any source)."""
    headers: dict[str, str] = {}
    if uri.startswith("s3://"):
        cache = s3cache.Cache.from_env() if s3cache is not None else None
        if cache:
            data, headers = _cached_get(cache, uri, version)
        else:
            data, headers = _s3_request("GET", uri, version)
            count("training_read", len(data))
    elif uri.startswith(("http://", "https://")):
        shown = recorded_uri(uri)
        with _Body(_urlopen(uri, "GET", shown), "GET", shown) as response:
            data, headers = response.read(), response.headers
    else:
        data = Path(uri.removeprefix("file://")).read_bytes()
    version_id = headers.get("x-amz-version-id") or None
    if version_id == "null":  # S3's answer for an object written while versioning was off
        version_id = None
    record = {
        "uri": recorded_uri(uri), "requested_version": version, "version_id": version_id,
        "etag": headers["etag"].strip('"') if headers.get("etag") else None, "size": len(data),
        "versioned": version_id is not None, "sha256": hashlib.sha256(data).hexdigest(),
    }  # fmt: skip
    return data, record


def _answered(headers: dict) -> tuple[str, str]:
    """(version id, ETag without quotes) of an S3 answer; "" when there is none ("null": versioning off)."""
    version = headers.get("x-amz-version-id") or ""
    return ("" if version == "null" else version), (headers.get("etag") or "").strip('"')


def _cached_get(cache, uri: str, version: str) -> tuple[bytes, dict]:
    """GET ``uri`` through ``cache``. Every read first asks the store (a HEAD: no body) with this
    job's keys: the store, not the cache, decides whether this job may read the object (the
    runner's jobs share the folder), and it says the object's current version or ETag, so a
    changed object is a miss, never a stale hit. A pinned version's entry is named by its version
    id; an entry is served only when the ETag it recorded is the store's (and, for a single-part
    ETag, when its bytes are the MD5 the ETag says)."""
    parsed = urllib.parse.urlparse(uri)
    where = (_endpoint(), parsed.netloc, parsed.path.lstrip("/"))
    shown = uri + (f" version {version}" if version else "")
    _, head = _s3_request("HEAD", uri, version)
    current, etag = _answered(head)
    length = head.get("content-length", "")
    name = cache.name(*where, version=version or current, etag=etag, size=int(length) if length.isdigit() else -1)
    hit = cache.get(name, etag)
    if hit is not None and s3cache.Cache.verified(hit[0], etag, None):
        s3cache.say(f"cache entry of {shown} is not the object its ETag names: deleted, not served")
        cache.drop(name)
        hit = None
    if hit is not None:
        data, header = hit
        s3cache.say(f"cache hit {shown}: {len(data)} bytes not downloaded; {count('cache_saved', len(data))}")
        etag_header = f'"{header["etag"]}"' if header.get("etag") else ""
        return data, {"etag": etag_header, "x-amz-version-id": header.get("version_id", "")}
    data, headers = _s3_request("GET", uri, version)
    got_version, got_etag = _answered(headers)
    length = headers.get("content-length", "")
    refused = s3cache.Cache.verified(data, got_etag, int(length) if length.isdigit() else None)
    if refused:
        outcome = f"not kept: {refused}"
    else:  # named by what the GET answered (the object may have changed since the HEAD)
        name = cache.name(*where, version=version or got_version, etag=got_etag, size=len(data))
        outcome = cache.put(name, data, {"uri": uri, "version_id": got_version, "etag": got_etag})
    s3cache.say(f"cache miss {shown}: {len(data)} bytes downloaded, {outcome}; {count('training_read', len(data))}")
    return data, headers


def write_bytes(uri: str, data: bytes) -> None:
    if uri.startswith("s3://"):
        _s3_request("PUT", uri, body=data)
        return
    path = Path(uri.removeprefix("file://"))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def missing(failure: SystemExit) -> bool:
    """Whether a failed read (this module's SystemExit: the URI and the status) found no object."""
    return str(failure).endswith("HTTP 404")


def exists(uri: str) -> bool:
    if uri.startswith(("s3://", "http://", "https://")):
        try:
            read_bytes(uri)
            return True
        except SystemExit:
            return False
    return Path(uri.removeprefix("file://")).is_file()


if __name__ == "__main__":  # python ml/s3io.py put <local file> <uri>
    if len(sys.argv) == 4 and sys.argv[1] == "put":
        write_bytes(sys.argv[3], Path(sys.argv[2]).read_bytes())
        print(f"wrote {sys.argv[2]} to {sys.argv[3]}")
    else:
        raise SystemExit("usage: s3io.py put <local file> <uri>")
