"""The monitoring tests' store: tests/models/test_prediction_log.py's own SeaweedFS store (module
scoped, so the outage test can stop and start it), its admin client and the jobs' S3 environment;
buckets here are versioned (the reference is read at its recorded version)."""

from __future__ import annotations

import uuid

import pytest
from minio.commonconfig import ENABLED
from minio.versioningconfig import VersioningConfig

from ..models.test_prediction_log import admin, s3_env, store  # noqa: F401 (fixture and helpers reused)


@pytest.fixture
def bucket(store) -> str:  # noqa: F811
    """A versioned bucket: the training data is read at the version lineage.json recorded."""
    name = f"mon-{uuid.uuid4().hex[:12]}"
    admin(store).make_bucket(name)
    admin(store).set_bucket_versioning(name, VersioningConfig(ENABLED))
    return name
