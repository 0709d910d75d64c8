"""Bad input on the storage routes: a version id the store cannot parse, a 100 KB workspace path,
a lone surrogate or a control character are 400s with a reason code, never 5xx (issue 17)."""

from __future__ import annotations

import io
import json

import pytest
from minio.error import S3Error

from hybridhub.lab_ext.storage.errors import StorageError, translate

from tests.gitlab.test_bad_input import fetch_json

from .conftest import new_bucket, on_server_loop, server_config

pytestmark = pytest.mark.storage


def s3_error(code: str, status: int) -> S3Error:
    class Response:
        pass

    response = Response()
    response.status = status
    response.headers = {}
    response.data = b""
    return S3Error(response, code, "refused", "/b/k", "req", "host")


@pytest.mark.parametrize("code", ["BadRequest", "InvalidRequest", "InvalidArgument"])
def test_the_store_refusing_input_as_malformed_is_400(code):
    error = translate(s3_error(code, 400))
    assert (error.status, error.reason) == (400, "invalid_request") and code in error.message


def test_a_lone_surrogate_is_400_not_a_crash_of_the_error_mapping():
    try:
        "\ud800".encode("utf-8")
    except UnicodeEncodeError as e:
        error = translate(e)
    assert (error.status, error.reason) == (400, "invalid_request")


def test_a_version_id_the_store_cannot_parse_is_400(service, admin):
    bucket = new_bucket(admin, versioned=True)
    admin.put_object(bucket, "k.csv", io.BytesIO(b"abc"), 3)
    for call in (service.stat, service.preview, service.open):
        with pytest.raises(StorageError) as info:
            call(bucket, "k.csv", "../x")  # SeaweedFS: 400 BadRequest / InvalidRequest
        assert (info.value.status, info.value.reason) == (400, "invalid_request"), call.__name__
    for call in (service.stat, service.open):
        with pytest.raises(StorageError) as info:
            call(bucket, "k.csv", "not-a-version")
        assert (info.value.status, info.value.reason) == (404, "no_such_version"), call.__name__


@pytest.fixture
def jp_server_config(object_store):
    return server_config(object_store, region="us-east-1")


async def answer(fetch, route: str, body=None, method: str | None = None, **params) -> tuple[int, dict]:
    kwargs = {"params": params}
    if body is not None:
        kwargs.update(method=method or "POST", body=body if isinstance(body, (str, bytes)) else json.dumps(body))
    return await fetch_json(fetch, "storage", route, **kwargs)


@on_server_loop
async def test_routes_answer_400_for_bad_input(jp_fetch, admin):
    bucket = new_bucket(admin, versioned=True)
    admin.put_object(bucket, "k.csv", io.BytesIO(b"abc"), 3)
    ref = {"bucket": bucket, "key": "k.csv"}
    cases = [
        ("stat", None, {**ref, "version": "../x"}, "invalid_request"),
        ("preview", None, {**ref, "version": "../x"}, "invalid_request"),
        ("stat", None, {**ref, "version": "v" * 1025}, "invalid_request"),
        ("stat", None, {**ref, "key": "k.csv\x01"}, "invalid_request"),
        ("presign", {**ref, "version_id": "a\x00b"}, {}, "invalid_request"),
        ("transfers", {**ref, "direction": "download", "path": "a" * 100_000}, {}, "invalid_path"),
        ("transfers", {**ref, "direction": "download", "path": "d/" + "n" * 256}, {}, "invalid_path"),
        ("transfers", {**ref, "direction": "download", "path": "a\nb"}, {}, "invalid_path"),
        ("transfers", {**ref, "direction": "download", "path": "x.csv", "version_id": "v\x01"}, {}, "invalid_request"),
        ("transfers", '{"bucket": "\\ud800", "key": "k", "direction": "upload", "path": "p"}', {}, "invalid_request"),
        ("folder", "[" * 10_000 + "]" * 10_000, {}, "invalid_request"),
        ("pins", "[]", {}, "invalid_request"),
    ]
    code, data = await answer(jp_fetch, "pins", {**ref, "version_id": "../x"})
    assert (code, data["reason"]) == (404, "no_such_version")
    for route, body, params, reason in cases:
        code, data = await answer(jp_fetch, route, body, **params)
        assert (code, data["reason"]) == (400, reason), (route, str(body)[:60], data)
        assert data["message"]


MALFORMED_PINS = ["{", "[]", '"pins"', '{"pins": 5}', '{"pins": {"a": 1}}', '{"pins": [1]}', '{"pins": [{"uri": ["x"]}]}',
                  '{"pins": [{"pinned_at": 5}]}', "[" * 5000 + "]" * 5000, "\udcff"]  # fmt: skip


@pytest.mark.parametrize("text", MALFORMED_PINS)
def test_a_malformed_pins_file_is_a_clear_409(workspace, text):
    from hybridhub.lab_ext.storage import versions

    (workspace / ".hybridhub").mkdir()
    (workspace / versions.PINS_FILE).write_bytes(text.encode("utf-8", "surrogateescape"))
    with pytest.raises(StorageError) as info:
        versions.read_pins(workspace)
    assert (info.value.status, info.value.reason) == (409, "invalid_pins_file") and "data-pins.json" in info.value.message


def test_an_empty_or_valid_pins_file_reads(workspace):
    from hybridhub.lab_ext.storage import versions

    (workspace / ".hybridhub").mkdir()
    (workspace / versions.PINS_FILE).write_text("")
    assert versions.read_pins(workspace) == []
    (workspace / versions.PINS_FILE).write_text('{"pins": [{"bucket": "b", "key": "k", "etag": 5}]}')
    assert versions.read_pins(workspace) == [{"bucket": "b", "key": "k", "etag": 5}]


@on_server_loop
async def test_pin_routes_answer_409_and_keep_a_malformed_pins_file(jp_fetch, admin, jp_root_dir):
    bucket = new_bucket(admin, versioned=True)
    version = admin.put_object(bucket, "k.csv", io.BytesIO(b"abc"), 3).version_id
    pins = jp_root_dir / ".hybridhub" / "data-pins.json"
    pins.parent.mkdir()
    pins.write_text("[]")
    for body, method, params in [(None, None, {}), ({"bucket": bucket, "key": "k.csv", "version_id": version}, "POST", {}),
                                 (None, "DELETE", {"bucket": bucket, "key": "k.csv"})]:  # fmt: skip
        kwargs = {"params": params} if body is None else {"body": json.dumps(body)}
        if method:
            kwargs["method"] = method
        code, data = await fetch_json(jp_fetch, "storage", "pins", **kwargs)
        assert (code, data["reason"]) == (409, "invalid_pins_file"), (method, data)
    assert pins.read_text() == "[]"  # not replaced by the new pin
