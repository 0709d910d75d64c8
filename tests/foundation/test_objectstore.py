"""The embedded object store is real S3: it enforces keys and user identities lack Admin."""

import uuid

import pytest
from minio import Minio
from minio.error import S3Error

pytestmark = pytest.mark.storage


def _client(store, access, secret):
    return Minio(store.endpoint.removeprefix("http://"), access_key=access, secret_key=secret, secure=False)


def test_admin_creates_bucket_and_user_reads_it(object_store):
    creds = object_store.credentials
    admin = _client(object_store, creds.admin_access_key, creds.admin_secret_key)
    bucket = f"t-{uuid.uuid4().hex[:12]}"
    admin.make_bucket(bucket)
    user = _client(object_store, creds.user_access_key, creds.user_secret_key)
    assert bucket in [b.name for b in user.list_buckets()]


def test_wrong_secret_is_refused(object_store):
    creds = object_store.credentials
    intruder = _client(object_store, creds.user_access_key, "not-the-secret")
    with pytest.raises(S3Error) as info:
        intruder.list_buckets()
    assert info.value.code == "SignatureDoesNotMatch"


def test_user_identity_cannot_create_buckets(object_store):
    creds = object_store.credentials
    user = _client(object_store, creds.user_access_key, creds.user_secret_key)
    with pytest.raises(S3Error) as info:
        user.make_bucket(f"t-{uuid.uuid4().hex[:12]}")
    assert info.value.code == "AccessDenied"


def test_store_binds_only_the_ports_it_was_given(object_store):
    import psutil

    proc = psutil.Process(object_store.process.pid)
    listening = {c.laddr.port for c in proc.net_connections(kind="tcp") if c.status == psutil.CONN_LISTEN}
    listening_hosts = {c.laddr.ip for c in proc.net_connections(kind="tcp") if c.status == psutil.CONN_LISTEN}
    assert listening <= set(object_store.ports.all())
    assert object_store.ports.s3 in listening
    assert listening_hosts == {"127.0.0.1"}
