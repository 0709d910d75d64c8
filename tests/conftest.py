"""Shared fixtures: the real object store, and helpers every area uses.

Area suites keep their own fixtures in ``tests/<area>/conftest.py``.
"""

from __future__ import annotations

import asyncio
import secrets
from pathlib import Path

import pytest
import pytest_asyncio

from hybridhub.hub_ext.demo.objectstore import EmbeddedObjectStore, StoreCredentials, StorePorts

REPO_ROOT = Path(__file__).resolve().parent.parent
# the session's store outlives some 150 buckets (one per test, each a SeaweedFS collection with
# a volume of its own): weed's default limit, free disk / 1 GiB, ran out on a 69 GB disk
STORE_MAX_VOLUMES = 2000

# jp_serverapp, jp_fetch, ...: a real jupyter-server per test for the server extension
pytest_plugins = ["pytest_jupyter.jupyter_server"]


@pytest_asyncio.fixture
async def jp_asyncio_loop():
    """One event loop for async tests and jupyter-server fixtures.

    pytest-asyncio (asyncio_mode=auto) runs each async test on its own loop, while
    pytest-jupyter builds the server on ``jp_asyncio_loop``; with two loops the server never
    answers. Handing pytest-jupyter the test's running loop makes them one.
    """
    yield asyncio.get_running_loop()


def _random_credentials() -> StoreCredentials:
    return StoreCredentials(
        admin_access_key="admin" + secrets.token_hex(6),
        admin_secret_key=secrets.token_urlsafe(24),
        user_access_key="user" + secrets.token_hex(6),
        user_secret_key=secrets.token_urlsafe(24),
    )


@pytest.fixture(scope="session")
def object_store(tmp_path_factory) -> EmbeddedObjectStore:
    """A real SeaweedFS S3 server on free loopback ports, enforcing SigV4 keys.

    Session-scoped because it takes a few seconds to start; tests create their own buckets
    (unique names) so they do not see each other's objects.
    """
    store = EmbeddedObjectStore(tmp_path_factory.mktemp("objectstore"), StorePorts.free(), _random_credentials(),
                                max_volumes=STORE_MAX_VOLUMES)
    store.start()
    try:
        yield store
    finally:
        store.stop()


@pytest.fixture
def artifacts_dir() -> Path:
    """Where tests save screenshots and logs kept by CI (``test-artifacts/``)."""
    path = REPO_ROOT / "test-artifacts"
    path.mkdir(exist_ok=True)
    return path
