"""Previews (capped), presigned links, versions and pins against the real S3 server."""

from __future__ import annotations

import io
import json
import time
import urllib.error
import urllib.request

import pytest

from hybridhub.lab_ext.storage import preview as preview_mod
from hybridhub.lab_ext.storage.errors import StorageError
from hybridhub.lab_ext.storage.versions import PINS_FILE

from .conftest import new_bucket

pytestmark = pytest.mark.storage


def put(client, bucket, key, data: bytes):
    return client.put_object(bucket, key, io.BytesIO(data), len(data))


def test_text_preview_is_capped(service, bucket, admin):
    put(admin, bucket, "p/log.txt", b"line\n" * 100_000)
    p = service.preview(bucket, "p/log.txt")
    assert p["kind"] == "text" and p["truncated"] is True
    assert len(p["text"].encode()) <= preview_mod.TEXT_CAP and p["size"] == 500_000


def test_csv_preview_returns_rows(service, bucket, admin):
    body = "a,b\n" + "".join(f'{i},"x, {i}"\n' for i in range(10_000))
    put(admin, bucket, "p/t.csv", body.encode())
    p = service.preview(bucket, "p/t.csv")
    assert p["kind"] == "csv" and p["truncated"] is True
    assert p["rows"][0] == ["a", "b"] and p["rows"][1] == ["0", "x, 0"]
    assert len(p["rows"]) == preview_mod.CSV_ROWS


def test_json_preview_pretty_prints_small_documents(service, bucket, admin):
    put(admin, bucket, "p/c.json", json.dumps({"lr": 0.1, "name": "日本"}).encode())
    p = service.preview(bucket, "p/c.json")
    assert p["kind"] == "json" and json.loads(p["text"]) == {"lr": 0.1, "name": "日本"}
    assert "\n" in p["text"]


def test_binary_and_large_images(service, bucket, admin, monkeypatch):
    put(admin, bucket, "p/blob.bin", bytes(range(256)) * 10)
    assert service.preview(bucket, "p/blob.bin")["kind"] == "binary"
    put(admin, bucket, "p/pic.png", b"\x89PNG" + b"\0" * 2000)
    assert service.preview(bucket, "p/pic.png")["kind"] == "image"
    monkeypatch.setattr(preview_mod, "IMAGE_CAP", 1000)
    with pytest.raises(StorageError) as info:
        service.preview(bucket, "p/pic.png")
    assert info.value.reason == "preview_too_large" and info.value.status == 413
    with pytest.raises(StorageError) as info:
        preview_mod.image_type("p/evil.svg")
    assert info.value.reason == "preview_unsupported"


def test_presigned_link_works_over_plain_http_and_expires(service, bucket, admin):
    put(admin, bucket, "share/data.txt", b"shared bytes")
    link = service.presign(bucket, "share/data.txt", 2)
    assert link["expires_in"] == 2
    with urllib.request.urlopen(link["url"], timeout=10) as r:
        assert r.read() == b"shared bytes"
    time.sleep(3.5)
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(link["url"], timeout=10)
    assert info.value.code == 403
    for bad in (0, 8 * 24 * 3600, "soon"):
        with pytest.raises(StorageError) as e:
            service.presign(bucket, "share/data.txt", bad)
        assert e.value.reason == "invalid_request"


def test_versions_list_download_and_pin(service, admin, workspace):
    bucket = new_bucket(admin, versioned=True)
    first = put(admin, bucket, "v/model.bin", b"version one")
    second = put(admin, bucket, "v/model.bin", b"version two")
    versions = service.versions(bucket, "v/model.bin")
    ids = [v["version_id"] for v in versions]
    assert set(ids) == {first.version_id, second.version_id}
    assert versions[0]["version_id"] == second.version_id and versions[0]["is_latest"]
    # download an older version into the workspace
    job = service.jobs.wait(service.start_download(bucket, "v/model.bin", "old.bin", version_id=first.version_id).id)
    assert job.state == "done" and (workspace / "old.bin").read_bytes() == b"version one"
    # pin it: the pipeline panel reads the pins file
    pin = service.pin(bucket, "v/model.bin", first.version_id)
    assert pin["version_id"] == first.version_id and pin["uri"] == f"s3://{bucket}/v/model.bin"
    stored = json.loads((workspace / PINS_FILE).read_text())
    assert stored["pins"] == [pin] and service.pins() == [pin]
    # re-pinning replaces; unknown versions are refused; unpin removes
    service.pin(bucket, "v/model.bin", second.version_id)
    assert [p["version_id"] for p in service.pins()] == [second.version_id]
    with pytest.raises(StorageError) as info:
        service.pin(bucket, "v/model.bin", "not-a-version")
    assert info.value.reason == "no_such_version"
    assert service.unpin(bucket, "v/model.bin") is True
    assert service.pins() == [] and service.unpin(bucket, "v/model.bin") is False
    with pytest.raises(StorageError) as info:
        service.versions(bucket, "v/absent.bin")
    assert info.value.reason == "no_such_key"
    # a presigned link to the old version returns the old bytes
    with urllib.request.urlopen(service.presign(bucket, "v/model.bin", 60, first.version_id)["url"], timeout=10) as r:
        assert r.read() == b"version one"
