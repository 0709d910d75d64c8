"""The culling suite's shared real hub (one per session, used by several modules)."""

from __future__ import annotations

import pytest

from tests.culling.hubproc import running_hub


@pytest.fixture(scope="package")
def culling_hub(tmp_path_factory):
    """A real JupyterHub with the culler (not in dry run); always stopped, with its servers, once
    the culling tests are done (not at the end of the whole run: it polls meanwhile)."""
    with running_hub(tmp_path_factory.mktemp("culling-hub")) as hub:
        yield hub
