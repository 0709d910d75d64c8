"""Fixtures for the fault suite: the real object store behind a proxy the test can stall or kill."""

from __future__ import annotations

import pytest

from hybridhub.lab_ext.storage.service import StorageService
from tests.faults.proxy import FaultProxy
from tests.storage.conftest import minio_for, storage_config

#: the deadlines the fault tests configure (seconds): small, so a test waits seconds, not minutes
FIRST_BYTE = 1.0
STALL = 1.5
#: what a deadline may be overrun by on a loaded 2-core CI machine (thread wake-ups, a busy
#: store), still far below the minutes an unbounded wait takes
SLACK = 2.0


@pytest.fixture
def store_proxy(object_store):
    """A :class:`FaultProxy` in front of the session's SeaweedFS; the server under test uses
    ``store_proxy.endpoint``, the test's admin client talks to the store directly."""
    proxy = FaultProxy("127.0.0.1", object_store.ports.s3).start()
    try:
        yield proxy
    finally:
        proxy.close()


@pytest.fixture
def admin(object_store):
    c = object_store.credentials
    return minio_for(object_store, c.admin_access_key, c.admin_secret_key)


@pytest.fixture
def workspace(tmp_path):
    root = tmp_path / "workspace"
    root.mkdir()
    return root


def proxied_config(object_store, proxy, first_byte: float = FIRST_BYTE, stall: float = STALL):
    return storage_config(object_store, endpoint=proxy.endpoint, first_byte_timeout=first_byte, stall_timeout=stall)


@pytest.fixture
def service(object_store, store_proxy, workspace):
    """The storage service of a user server, reaching the store through the proxy."""
    svc = StorageService(proxied_config(object_store, store_proxy), workspace)
    yield svc
    svc.jobs.shutdown()
