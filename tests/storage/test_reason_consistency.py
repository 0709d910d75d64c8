"""One reason per fault on every storage route (issue 17): wrong access key or wrong secret ->
``bad_credentials``, missing bucket -> ``no_such_bucket``, missing object -> ``no_such_key``,
denied by policy -> ``access_denied``, whether the route starts with a HEAD (stat, folder,
upload, delete, presign), a GET (list, object, preview, versions, pins) or a transfer job.

Through a real jupyter-server with the extension, against the real SeaweedFS (it enforces SigV4
keys and bucket policies). A route a fault cannot apply to (a missing object for ``list``) is
left out of that fault's row, never expected to pass silently; the control row (no fault) shows
the same calls succeed, so each reason comes from its fault and not from the test's setup.
"""

from __future__ import annotations

import asyncio
import io
import json

import pytest
from tornado.httpclient import HTTPClientError

from .conftest import new_bucket, on_server_loop, server_config

pytestmark = pytest.mark.storage

# route name -> (path under hybridhub/storage, method, params or body builder); ``b``/``k``/``v`` =
# bucket/key/version id
ROUTES = {
    "buckets": ("buckets", "GET", lambda b, k, v: {}),
    "list": ("list", "GET", lambda b, k, v: {"bucket": b}),
    "object": ("object", "GET", lambda b, k, v: {"bucket": b, "key": k}),  # a 307 to the store: looked up first
    "object-streamed": ("object", "GET", lambda b, k, v: {"bucket": b, "key": k, "proxy": "1"}),
    "object-inline": ("object", "GET", lambda b, k, v: {"bucket": b, "key": k.replace(".txt", ".png"), "inline": "1"}),
    "delete": ("object", "DELETE", lambda b, k, v: {"bucket": b, "key": k}),
    "upload": ("upload", "PUT", lambda b, k, v: {"bucket": b, "key": "new.txt"}),
    "upload-overwrite": ("upload", "PUT", lambda b, k, v: {"bucket": b, "key": "new.txt", "overwrite": "1"}),
    "stat": ("stat", "GET", lambda b, k, v: {"bucket": b, "key": k}),
    "preview": ("preview", "GET", lambda b, k, v: {"bucket": b, "key": k}),
    "versions": ("versions", "GET", lambda b, k, v: {"bucket": b, "key": k}),
    "folder": ("folder", "POST", lambda b, k, v: {"bucket": b, "prefix": "new-folder/"}),
    "presign": ("presign", "POST", lambda b, k, v: {"bucket": b, "key": k}),
    "pin": ("pins", "POST", lambda b, k, v: {"bucket": b, "key": k, "version_id": v}),
    "download-job": ("transfers", "POST", lambda b, k, v: {"direction": "download", "bucket": b, "key": k, "path": "out.txt"}),
    "upload-job": ("transfers", "POST", lambda b, k, v: {"direction": "upload", "bucket": b, "key": "from-job.txt", "path": "local.txt"}),
}
ON_A_BUCKET = set(ROUTES) - {"buckets"}
ON_AN_OBJECT = {"object", "object-streamed", "object-inline", "delete", "stat", "preview", "presign", "pin", "download-job"}

# fault -> (expected reason, routes it applies to)
FAULTS = {
    "none": (None, set(ROUTES)),  # the control: the same calls succeed when nothing is wrong
    "wrong_access_key": ("bad_credentials", set(ROUTES)),
    "wrong_secret": ("bad_credentials", set(ROUTES)),
    "missing_bucket": ("no_such_bucket", ON_A_BUCKET),
    "missing_object": ("no_such_key", ON_AN_OBJECT),
    "denied_by_policy": ("access_denied", ON_A_BUCKET),
}


def deny_everyone(bucket: str) -> str:
    """A bucket policy refusing every S3 action on the bucket (SeaweedFS enforces bucket policies)."""
    resources = [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"]
    statement = {"Sid": "DenyAll", "Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": resources}
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


@pytest.fixture(params=list(FAULTS))
def fault(request) -> str:
    return request.param


@pytest.fixture
def jp_server_config(object_store, fault):
    """Browsers may reach the store (``browser_endpoint``): downloads are redirects, and with
    ``proxy=1`` streams through the server; both paths are in the matrix."""
    creds = object_store.credentials
    keys = {}
    if fault == "wrong_access_key":
        keys = {"access_key": "nobody-" + creds.user_access_key}
    if fault == "wrong_secret":
        keys = {"secret_key": "wrong-" + creds.user_secret_key}
    return server_config(object_store, browser_endpoint=object_store.endpoint, **keys)


@pytest.fixture
def target(admin, fault) -> tuple[str, str, str]:
    """(bucket, key, version id) the routes are called on, so that ``fault`` is the only thing wrong."""
    bucket = new_bucket(admin, versioned=True)
    version = admin.put_object(bucket, "x.txt", io.BytesIO(b"hello"), 5).version_id
    admin.put_object(bucket, "x.png", io.BytesIO(b"\x89PNG"), 4)
    if fault == "missing_bucket":
        return "t-no-such-bucket-" + bucket[2:], "x.txt", version
    if fault == "missing_object":
        return bucket, "no/such/object.txt", version
    if fault == "denied_by_policy":
        admin.set_bucket_policy(bucket, deny_everyone(bucket))
    return bucket, "x.txt", version


async def reason_of(jp_fetch, route: str, bucket: str, key: str, version: str) -> str | None:
    """The reason the route answers (a job's reason for transfers); None when it succeeds."""
    path, method, build = ROUTES[route]
    args = build(bucket, key, version)
    kwargs = {"method": method, "follow_redirects": False}
    if method in ("GET", "DELETE"):
        kwargs["params"] = args
    elif method == "PUT":
        kwargs.update(params=args, body=b"x")
    else:
        kwargs["body"] = json.dumps(args)
    try:
        response = await jp_fetch("hybridhub", "storage", path, **kwargs)
    except HTTPClientError as error:
        if error.code == 307:  # the redirect of a direct download: the object was found
            assert "X-Amz-Signature=" in error.response.headers["Location"], error.response.headers
            return None
        text = error.response.body.decode()
        assert error.code < 500 or json.loads(text)["reason"] in {"storage_unreachable", "storage_error"}, text
        return json.loads(text)["reason"]
    if route.endswith("-job"):
        job = json.loads(response.body)
        for _ in range(300):
            job = json.loads((await jp_fetch("hybridhub", "storage", "transfers", job["id"])).body)
            if job["state"] != "running":
                return job["reason"]
            await asyncio.sleep(0.05)
        raise AssertionError(f"the {route} did not end")
    return None


@on_server_loop
async def test_every_route_gives_the_faults_one_reason(jp_fetch, jp_root_dir, fault, target):
    (jp_root_dir / "local.txt").write_bytes(b"local")
    expected, routes = FAULTS[fault]
    last = ["delete"]  # after every other route has used the object
    answers = {route: await reason_of(jp_fetch, route, *target) for route in sorted(routes - set(last)) + last}
    assert {route: reason for route, reason in answers.items() if reason != expected} == {}, f"{fault}: want {expected}, got {answers}"
