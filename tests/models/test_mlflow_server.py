"""The MLflow tracking server the demo and the tests start: it speaks the REST API, refuses
foreign Host headers (DNS rebinding), and stops with its whole process tree."""

from __future__ import annotations

import urllib.error
import urllib.request

import psutil
import pytest

from hybridhub.hub_ext.demo.ports import port_accepts

from .mlflow_server import mlflow_server, start_mlflow_server, stop_mlflow_server  # noqa: F401 (fixture)

pytestmark = pytest.mark.models


def test_answers_the_rest_api_and_refuses_other_hosts(mlflow_server):  # noqa: F811
    created = mlflow_server.client().create_experiment("fixture-smoke-" + str(mlflow_server.port))
    found = mlflow_server.get("experiments/get", experiment_id=created)
    assert found["experiment"]["name"] == "fixture-smoke-" + str(mlflow_server.port)
    # --allowed-hosts: a page on another name resolving to 127.0.0.1 gets nothing
    # (mlflow/server/fastapi_security.py of 3.17.2, HostValidationMiddleware: 403; /health is exempt)
    request = urllib.request.Request(f"{mlflow_server.url}/api/2.0/mlflow/experiments/search?max_results=1",
                                     headers={"Host": "attacker.example"})  # fmt: skip
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)
    assert refused.value.code == 403


def test_stops_with_nothing_left(tmp_path):
    server = start_mlflow_server(tmp_path)
    tree = [psutil.Process(server.process.pid), *psutil.Process(server.process.pid).children(recursive=True)]
    assert any("uvicorn" in " ".join(p.cmdline()) for p in tree)  # the worker that answers
    # no huey job runner (MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false)
    assert not any("_job_runner" in " ".join(p.cmdline()) for p in tree)
    stop_mlflow_server(server)
    gone, alive = psutil.wait_procs(tree, timeout=15)
    assert alive == [] and not port_accepts(server.port)
