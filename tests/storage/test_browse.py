"""Listing, folders, deletion, errors and the per-user prefix against the real S3 server."""

from __future__ import annotations

import io

import pytest

from hybridhub.lab_ext.storage.errors import StorageError
from hybridhub.lab_ext.storage.service import StorageService

from .conftest import storage_config

pytestmark = pytest.mark.storage


def put(client, bucket, key, data=b"x"):
    client.put_object(bucket, key, io.BytesIO(data), len(data))


def test_listing_paginates_with_continuation_tokens(service, bucket, admin):
    for i in range(25):
        put(admin, bucket, f"many/f{i:03d}.txt")
    put(admin, bucket, "many/sub/inner.txt")
    seen, token, pages = [], None, 0
    while True:
        page = service.list(bucket, "many/", token, limit=10)
        assert len(page["entries"]) <= 10
        seen += page["entries"]
        pages += 1
        token = page["next_token"]
        if not token:
            break
    assert pages == 3
    names = [e["name"] for e in seen]
    assert sorted(names) == sorted([f"f{i:03d}.txt" for i in range(25)] + ["sub/"])
    folder = next(e for e in seen if e["type"] == "prefix")
    assert folder["key"] == "many/sub/"
    obj = next(e for e in seen if e["name"] == "f000.txt")
    assert obj["size"] == 1 and obj["last_modified"] and obj["etag"]


def test_search_narrows_by_name_start(service, bucket, admin):
    for key in ["s/train-1.csv", "s/train-2.csv", "s/test.csv"]:
        put(admin, bucket, key)
    page = service.list(bucket, "s/", search="train")
    assert [e["name"] for e in page["entries"]] == ["train-1.csv", "train-2.csv"]
    with pytest.raises(StorageError):
        service.list(bucket, "s/", search="../x/y")


def test_buckets_and_folders(service, bucket, admin):
    assert bucket in [b["name"] for b in service.buckets()]
    service.make_folder(bucket, "new-folder/")
    page = service.list(bucket, "")
    assert {"type": "prefix", "key": "new-folder/", "name": "new-folder/"} in page["entries"]
    with pytest.raises(StorageError) as info:
        service.make_folder(bucket, "new-folder/")
    assert info.value.reason == "object_exists"
    assert service.list(bucket, "new-folder/")["entries"] == []


def test_delete(service, bucket, admin):
    put(admin, bucket, "del/me.txt")
    service.delete(bucket, "del/me.txt")
    with pytest.raises(StorageError) as info:
        service.delete(bucket, "del/me.txt")
    assert info.value.reason == "no_such_key" and info.value.status == 404


def test_missing_bucket(service):
    with pytest.raises(StorageError) as info:
        service.list("no-such-bucket-hybridhub", "")
    assert info.value.reason == "no_such_bucket" and info.value.status == 404


def test_wrong_credentials_have_a_clear_reason(object_store, workspace, bucket):
    svc = StorageService(storage_config(object_store, secret="wrong-secret"), workspace)
    with pytest.raises(StorageError) as info:
        svc.list(bucket, "")
    assert info.value.reason == "bad_credentials" and info.value.status == 403
    assert "wrong-secret" not in info.value.message
    svc = StorageService(storage_config(object_store, access="unknownkey"), workspace)
    with pytest.raises(StorageError) as info:
        svc.buckets()
    assert info.value.reason == "bad_credentials"


def test_unreachable_and_unconfigured(workspace):
    from hybridhub.hub_ext.demo.ports import free_ports

    (port,) = free_ports(1)
    cfg = storage_config(type("S", (), {"endpoint": f"http://127.0.0.1:{port}", "credentials": None})(), access="a", secret="b")
    with pytest.raises(StorageError) as info:
        StorageService(cfg, workspace).buckets()
    assert info.value.reason == "storage_unreachable" and info.value.status == 503
    cfg.access_key = ""
    with pytest.raises(StorageError) as info:
        StorageService(cfg, workspace).buckets()
    assert info.value.reason == "not_configured"
    cfg.access_key, cfg.endpoint = "a", "ftp://x"
    with pytest.raises(StorageError) as info:
        StorageService(cfg, workspace).buckets()
    assert info.value.reason == "not_configured"


def test_missing_ca_bundle_is_a_configuration_error(object_store, workspace):
    cfg = storage_config(object_store, endpoint="https://127.0.0.1:1", ca_bundle="/nonexistent/ca.pem")
    with pytest.raises(StorageError) as info:
        StorageService(cfg, workspace).buckets()
    assert info.value.reason == "not_configured"


def test_tls_to_a_plain_http_port_fails_clearly(object_store, workspace):
    cfg = storage_config(object_store, endpoint=object_store.endpoint.replace("http://", "https://"))
    with pytest.raises(StorageError) as info:
        StorageService(cfg, workspace).buckets()
    assert info.value.reason in {"tls_error", "storage_unreachable"}


def test_per_user_prefix_confines_every_operation(object_store, workspace, bucket, admin):
    put(admin, bucket, "users/alice/mine.txt")
    put(admin, bucket, "users/bob/theirs.txt")
    svc = StorageService(storage_config(object_store, prefix="users/alice"), workspace)
    page = svc.list(bucket, "")
    assert page["prefix"] == "users/alice/"
    assert [e["key"] for e in page["entries"]] == ["users/alice/mine.txt"]
    for call in (
        lambda: svc.list(bucket, "users/"),
        lambda: svc.list(bucket, "users/bob/"),
        lambda: svc.stat(bucket, "users/bob/theirs.txt"),
        lambda: svc.delete(bucket, "users/bob/theirs.txt"),
        lambda: svc.presign(bucket, "users/bob/theirs.txt", 60),
        lambda: svc.start_download(bucket, "users/bob/theirs.txt", "x.txt"),
        lambda: svc.preview(bucket, "users/bob/theirs.txt"),
    ):
        with pytest.raises(StorageError) as info:
            call()
        assert info.value.reason == "outside_prefix" and info.value.status == 403
    assert admin.stat_object(bucket, "users/bob/theirs.txt").size == 1
    assert svc.summary()["prefix"] == "users/alice/"


def test_summary_holds_no_secret(service, object_store):
    text = repr(service.summary())
    assert object_store.credentials.user_secret_key not in text
    assert object_store.credentials.user_access_key not in text


def test_listing_keeps_unusual_key_characters(service, bucket, admin):
    keys = ["odd/a+b c.txt", "odd/日本語 データ.csv", "odd/100%&=?.bin", "odd/sub dir/x.txt"]
    for key in keys:
        put(admin, bucket, key)
    page = service.list(bucket, "odd/")
    assert sorted(e["key"] for e in page["entries"]) == sorted(keys[:3] + ["odd/sub dir/"])
    obj = next(e for e in page["entries"] if e["name"] == "a+b c.txt")
    assert obj["size"] == 1 and obj["last_modified"].startswith("20")
