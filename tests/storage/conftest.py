"""Fixtures for the storage suite: buckets made with the admin key, a service with the user key."""

from __future__ import annotations

import inspect
import uuid
from types import SimpleNamespace

import pytest
from minio import Minio
from minio.commonconfig import ENABLED
from minio.versioningconfig import VersioningConfig

from hybridhub.lab_ext.storage.service import StorageService


def minio_for(store, access: str, secret: str) -> Minio:
    return Minio(store.endpoint.removeprefix("http://"), access_key=access, secret_key=secret, secure=False)


def storage_config(store, access: str | None = None, secret: str | None = None, **extra) -> SimpleNamespace:
    creds = store.credentials
    values = dict(
        endpoint=store.endpoint,
        browser_endpoint="",
        region="us-east-1",
        access_key=access or creds.user_access_key,
        secret_key=secret or creds.user_secret_key,
        verify_tls=True,
        ca_bundle="",
        default_bucket="",
        prefix="",
    )
    values.update(extra)
    return SimpleNamespace(**values)


@pytest.fixture
def admin(object_store) -> Minio:
    c = object_store.credentials
    return minio_for(object_store, c.admin_access_key, c.admin_secret_key)


@pytest.fixture
def user(object_store) -> Minio:
    c = object_store.credentials
    return minio_for(object_store, c.user_access_key, c.user_secret_key)


def new_bucket(admin: Minio, versioned: bool = False) -> str:
    name = f"t-{uuid.uuid4().hex[:16]}"
    admin.make_bucket(name)
    if versioned:
        admin.set_bucket_versioning(name, VersioningConfig(ENABLED))
    return name


@pytest.fixture
def bucket(admin) -> str:
    return new_bucket(admin)


@pytest.fixture
def workspace(tmp_path):
    root = tmp_path / "workspace"
    root.mkdir()
    return root


@pytest.fixture
def service(object_store, workspace):
    svc = StorageService(storage_config(object_store), workspace)
    yield svc
    svc.jobs.shutdown()


def on_server_loop(fn):
    """Run an async test on pytest-jupyter's event loop, where the jupyter-server under test runs.

    pytest-asyncio (auto mode) would otherwise run the test on a loop of its own, where the
    server never gets to answer.
    """
    signature = inspect.signature(fn)
    params = list(signature.parameters.values())
    wanted = "jp_asyncio_loop" in signature.parameters
    if not wanted:
        params.append(inspect.Parameter("jp_asyncio_loop", inspect.Parameter.KEYWORD_ONLY))

    def wrapper(**kwargs):
        loop = kwargs["jp_asyncio_loop"] if wanted else kwargs.pop("jp_asyncio_loop")
        loop.run_until_complete(fn(**kwargs))

    wrapper.__signature__ = signature.replace(parameters=params)
    wrapper.__name__ = fn.__name__
    wrapper.__qualname__ = fn.__qualname__
    wrapper.__doc__ = fn.__doc__
    wrapper.__module__ = fn.__module__
    wrapper.pytestmark = list(getattr(fn, "pytestmark", []))
    return wrapper


def server_config(store, **storage) -> dict:
    """jp_server_config for a jupyter-server with the extension, on ``store`` as the user."""
    creds = store.credentials
    settings = {"endpoint": store.endpoint, "access_key": creds.user_access_key, "secret_key": creds.user_secret_key}
    settings.update(storage)
    return {"ServerApp": {"jpserver_extensions": {"hybridhub.lab_ext": True}}, "StorageConfig": settings}
