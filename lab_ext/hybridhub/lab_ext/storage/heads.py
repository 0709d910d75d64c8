"""Looking an object up with HEAD, and learning which fault a failed HEAD really was.

S3 answers HEAD without a body, so an error carries no S3 error code (AWS S3 API reference,
HeadObject: "A HEAD request has the same options as a GET operation on an object. The response
is identical to the GET response except that there is no response body. [...] If the object you
request doesn't exist, the error that Amazon S3 returns depends on whether you also have the
s3:ListBucket permission. If you have the s3:ListBucket permission on the bucket, Amazon S3
returns an HTTP status code 404 Not Found error. If you don't have the s3:ListBucket permission,
Amazon S3 returns an HTTP status code 403 Forbidden error."). The minio SDK then guesses a code
from the status alone (``minio/api.py`` ``_url_open``: 403 -> ``AccessDenied``, 404 ->
``NoSuchKey``), so a wrong access key or secret looked like ``access_denied`` and a missing
bucket like ``no_such_key``, on exactly the routes that start with a HEAD.

So the fault of a bodiless answer is asked again, only when a HEAD failed:

- 404: the request was authenticated and allowed, only something is missing. A HEAD of the
  bucket tells which: 404 there can only mean the bucket. (A GET of the object would not do:
  SeaweedFS answers a GET of ``folder/`` in a missing bucket with ``NoSuchKey``.)
- 403: a GET of the same object, whose error has a body with the real code
  (``InvalidAccessKeyId``, ``SignatureDoesNotMatch``, ``AccessDenied``).
"""

from __future__ import annotations

from minio import Minio
from minio.error import S3Error

from .errors import StorageError, translate


def _guessed(exc: BaseException) -> bool:
    """An S3Error the SDK made up from a bodiless 403/404 answer."""
    response = getattr(exc, "response", None)
    return isinstance(exc, S3Error) and response is not None and response.status in (403, 404) and not response.data


def no_such_bucket() -> StorageError:
    return StorageError("no_such_bucket", "The bucket does not exist.")


def _bucket_missing(client: Minio, bucket: str) -> bool:
    """Whether a HEAD of the bucket says 404 (which can only mean it is missing); unsure: False."""
    try:
        return not client.bucket_exists(bucket)
    except Exception:  # noqa: BLE001 - only a second opinion; the first answer stands
        return False


def explain(client: Minio, bucket: str, key: str, version_id: str | None, exc: BaseException) -> StorageError:
    """The StorageError for a failed HEAD of ``key``: the store's own code when it has one."""
    if not _guessed(exc):
        return translate(exc)
    if exc.response.status == 404:
        return no_such_bucket() if _bucket_missing(client, bucket) else translate(exc)
    try:
        response = client.get_object(bucket, key, version_id=version_id or None)
    except S3Error as again:
        if again.response is not None and again.response.data:
            return translate(again)
    except Exception:  # noqa: BLE001 - only a second opinion; the first answer stands
        pass
    else:  # it exists after all (e.g. HEAD denied, GET allowed): keep the HEAD's answer
        response.close()
        response.release_conn()
    return translate(exc)


def stat_object(client: Minio, bucket: str, key: str, version_id: str | None = None):
    """``client.stat_object`` whose failure names the real fault (raises StorageError)."""
    try:
        return client.stat_object(bucket, key, version_id=version_id or None)
    except Exception as exc:
        raise explain(client, bucket, key, version_id, exc) from None


def missing_bucket(client: Minio, bucket: str, error: StorageError) -> StorageError:
    """``no_such_bucket`` for a write refused because the bucket is missing: SeaweedFS answers a
    PUT into a missing bucket with AccessDenied (AWS: NoSuchBucket)."""
    return no_such_bucket() if error.reason == "access_denied" and _bucket_missing(client, bucket) else error
