"""Fixtures of the Models service tests: a real MLflow server (helper A's session fixture), a
workspace with the pipeline template, and the service over the real local pipeline backend."""

from __future__ import annotations

import uuid

import pytest
import pytest_asyncio

from hybridhub.lab_ext.models.service import ModelsConfig, ModelsService
from hybridhub.lab_ext.pipelines.service import PipelinesConfig, PipelinesService
from tests.models.mlflow_server import mlflow_server  # noqa: F401 (fixture)
from tests.pipelines.conftest import sample_data, tools_present, workspace  # noqa: F401 (fixtures)


@pytest.fixture
def model_name() -> str:
    """The registry is shared by the session: each test its own model."""
    return f"m-{uuid.uuid4().hex[:10]}"


def make_service(root, tracking_uri: str, storage=None, timeout: float = 15.0) -> ModelsService:
    pipelines = PipelinesService(str(root), PipelinesConfig(backend="local"), storage=storage)
    return ModelsService(ModelsConfig(tracking_uri=tracking_uri, timeout=timeout), pipelines, storage)


@pytest_asyncio.fixture
async def service(workspace, mlflow_server):  # noqa: F811
    made = make_service(workspace, mlflow_server.url)
    try:
        yield made
    finally:
        await made.pipelines.close()
