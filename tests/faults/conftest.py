"""Fixtures for the fault suite: the real object store behind a proxy the test can stall or kill."""

from __future__ import annotations

import pytest

from tests.faults.proxy import FaultProxy


@pytest.fixture
def store_proxy(object_store):
    """A :class:`FaultProxy` in front of the session's SeaweedFS; the server under test uses
    ``store_proxy.endpoint``, the test's admin client talks to the store directly."""
    proxy = FaultProxy("127.0.0.1", object_store.ports.s3).start()
    try:
        yield proxy
    finally:
        proxy.close()
