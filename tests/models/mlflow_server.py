"""A REAL MLflow tracking server for tests (``mlflow server`` 3.17.2, SQLite + served artifacts).

It is started exactly as ``hybridhub demo`` starts its registry
(hybridhub.hub_ext.demo.mlflow_server), on a free 127.0.0.1 port in a tmp dir, once per test
session, and its whole process tree is stopped at the end. It takes about 7-10 s to start.

How to use it, from any test package::

    from tests.models.mlflow_server import mlflow_server  # noqa: F401 (fixture)

    def test_something(mlflow_server):
        env = {**os.environ, "MLFLOW_TRACKING_URI": mlflow_server.url}
        client = mlflow_server.client()               # an mlflow.MlflowClient on that URI
        experiments = mlflow_server.get("experiments/search", max_results=10)  # REST, JSON dict

The server is shared by the session: name experiments and registered models uniquely per test
(e.g. with uuid) instead of expecting an empty registry. ``mlflow_server.log_path`` is its log.

``mlflow_auth_server`` is the server exactly as ``./dev demo`` runs it now: MLflow's basic-auth app
with workspaces, an administrator credential made for it, and ``accounts`` (the demo's
mlflow_accounts.MlflowAccounts) to give users their own login and workspace.
"""

from __future__ import annotations

import json
import subprocess
import urllib.parse
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from hybridhub.hub_ext.demo.mlflow_accounts import MlflowAccounts, MlflowAdmin, load_or_create_admin
from hybridhub.hub_ext.demo.mlflow_server import start_mlflow, wait_for_mlflow
from hybridhub.hub_ext.demo.ports import free_ports
from hybridhub.hub_ext.demo.supervisor import stop_process_tree


@dataclass
class MlflowServer:
    url: str  # http://127.0.0.1:<port>, the MLFLOW_TRACKING_URI of clients
    port: int
    root: Path  # mlflow.db and mlflow-artifacts/ live here
    log_path: Path
    process: subprocess.Popen
    admin: MlflowAdmin | None = None  # with the basic-auth app (as the demo runs it)

    @property
    def accounts(self) -> MlflowAccounts:
        assert self.admin is not None, "an open server has no accounts"
        return MlflowAccounts(self.url, self.admin)

    def client(self):
        """An ``mlflow.MlflowClient`` talking to this server (the tracking and registry URI)."""
        from mlflow import MlflowClient

        return MlflowClient(tracking_uri=self.url, registry_uri=self.url)

    def get(self, path: str, **params) -> dict:
        """GET ``/api/2.0/mlflow/<path>`` (MLflow's REST API) and return the JSON answer."""
        query = f"?{urllib.parse.urlencode(params, doseq=True)}" if params else ""
        with urllib.request.urlopen(f"{self.url}/api/2.0/mlflow/{path}{query}", timeout=30) as response:
            return json.loads(response.read())


def start_mlflow_server(root: Path, auth: bool = False) -> MlflowServer:
    """Start a server keeping its data under ``root``; the caller stops it (``stop_mlflow_server``).
    ``auth``: the basic-auth app with workspaces, its admin credential in ``root/mlflow-admin.json``."""
    (port,) = free_ports(1)
    log_path = root / "mlflow-server.log"
    admin = load_or_create_admin(root / "mlflow-admin.json") if auth else None
    process = start_mlflow(root, port, log_path, admin=admin)
    server = MlflowServer(url=f"http://127.0.0.1:{port}", port=port, root=root, log_path=log_path, process=process,
                          admin=admin)  # fmt: skip
    try:
        wait_for_mlflow(process, server.url, log_path)
    except BaseException:
        stop_mlflow_server(server)
        raise
    return server


def stop_mlflow_server(server: MlflowServer) -> None:
    """SIGTERM ``mlflow server`` (it forwards it to uvicorn), then kill whatever of its tree is left."""
    stop_process_tree(server.process)


@contextmanager
def running_mlflow_server(root: Path, auth: bool = False):
    """A server for the ``with`` block, stopped after it whatever happened."""
    server = start_mlflow_server(root, auth=auth)
    try:
        yield server
    finally:
        stop_mlflow_server(server)


@pytest.fixture(scope="session")
def mlflow_server(tmp_path_factory) -> MlflowServer:
    with running_mlflow_server(tmp_path_factory.mktemp("mlflow")) as server:
        yield server


@pytest.fixture(scope="session")
def mlflow_auth_server(tmp_path_factory) -> MlflowServer:
    with running_mlflow_server(tmp_path_factory.mktemp("mlflow-auth"), auth=True) as server:
        yield server
