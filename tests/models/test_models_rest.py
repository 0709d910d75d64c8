"""The Models REST routes' refusals in a real jupyter server: every error is JSON with a reason
code from the catalog's MODELS table (the panel translates it), with the status the catalog gives
it, and nothing is deployed or launched by a refused request."""

from __future__ import annotations

import os
import socket
from types import SimpleNamespace

import pytest
import requests

from hybridhub.lab_ext.models.errors import ModelsError
from hybridhub.lab_ext.pipelines.template import add_template
from tests.harness.lab import running_lab
from tests.models.registry_writer import register
from tests.pipelines.conftest import commit_all, git

pytestmark = pytest.mark.models


def start(base, tracking_uri: str):
    root = base / "userhome"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    add_template(root, "")
    commit_all(root, "template")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HYBRIDHUB_", "JUPYTERHUB_", "MLFLOW_"))}
    env.update(HYBRIDHUB_MLFLOW_TRACKING_URI=tracking_uri, HYBRIDHUB_PIPELINES_BACKEND="local")
    return root, running_lab(root, base / "home", env, timeout=90, log=base / "server.log")


@pytest.fixture(scope="module")
def lab(tmp_path_factory, mlflow_server):
    base = tmp_path_factory.mktemp("models-rest")
    name = f"rest-{os.urandom(4).hex()}"
    register(mlflow_server.url, name, 1, project="userhome")
    register(mlflow_server.url, name, 2, project="userhome", accuracy=0.4, gate=False)
    root, server = start(base, mlflow_server.url)
    with server as (url, token):
        session = requests.Session()
        session.headers["Authorization"] = f"token {token}"
        yield SimpleNamespace(url=f"{url}hybridhub/", session=session, name=name, root=root, log=base / "server.log")


def refused(response: requests.Response, reason: str) -> dict:
    """The answer is the catalog's status for ``reason``, as JSON ``{reason, message}``."""
    assert response.headers["Content-Type"].startswith("application/json"), response.text[:300]
    body = response.json()
    assert body["reason"] == reason, body
    assert response.status_code == ModelsError.REASONS[reason][0] and body["message"], (response.status_code, body)
    return body


def test_reading_routes_refuse_bad_input_with_reasons(lab):
    get = lambda path, **params: lab.session.get(lab.url + path, params=params, timeout=30)  # noqa: E731
    refused(get("models"), "invalid_request")  # no project
    refused(get("models", project="../outside"), "unknown_project")
    refused(get("models/versions", project="."), "invalid_request")  # no name
    refused(get("models/versions", project=".", name="no-such-model"), "no_such_model")
    refused(get("models/versions", project=".", name="a/b"), "invalid_request")
    refused(get("models/lineage", project=".", name=lab.name, version="latest"), "invalid_version")
    refused(get("models/lineage", project=".", name=lab.name, version="9.9.9"), "no_such_version")
    answer = get("models/versions", project=".", name=lab.name)
    assert answer.status_code == 200 and [v["version"] for v in answer.json()["versions"]] == ["1.0.2", "1.0.1"]
    assert get("models/config").json()["registry"] == "mlflow"


def test_actions_refuse_before_anything_runs(lab):
    post = lambda path, body: lab.session.post(lab.url + path, json=body, timeout=30)  # noqa: E731
    body = refused(post("models/promote", {"project": ".", "name": lab.name, "version": "1.0.2"}), "gate_failed")
    assert "accuracy 0.4 < 0.95" in body["details"]
    refused(post("models/promote", {"project": ".", "name": lab.name, "version": "3.0.0"}), "no_such_version")
    refused(post("models/promote", {"project": ".", "name": lab.name}), "invalid_request")
    refused(post("models/rollback", {"project": ".", "name": lab.name}), "no_earlier_deployment")
    refused(post("models/rollback", {"project": ".", "name": lab.name, "to_version": "x"}), "invalid_version")
    refused(post("models/reproduce", {"project": ".", "name": lab.name, "version": "8.8.8"}), "no_such_version")
    raw = lab.session.post(lab.url + "models/promote", data=b"[1, 2]", headers={"Content-Type": "application/json"}, timeout=30)
    refused(raw, "invalid_request")
    # the version's pipeline is not in this workspace: its deploy job cannot be run
    refused(post("models/promote", {"project": ".", "name": lab.name, "version": "1.0.1"}), "deploy_job_missing")
    assert not (lab.root / ".hybridhub/pipelines/environments").exists()
    assert git(lab.root, "status", "--porcelain") == ""


def test_without_a_token_the_routes_answer_forbidden(lab):
    anonymous = requests.get(lab.url + "models", params={"project": "."}, timeout=30)
    assert anonymous.status_code == 403 and anonymous.json()["reason"] == "forbidden"
    posted = requests.post(lab.url + "models/promote", json={"project": ".", "name": "x", "version": "1.0.0"}, timeout=30)
    assert posted.status_code == 403 and posted.json()["reason"] == "forbidden"


def test_an_unreachable_registry_is_a_clear_error(tmp_path):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = sock.getsockname()[1]
    _, server = start(tmp_path, f"http://127.0.0.1:{closed}")
    with server as (url, token):
        headers = {"Authorization": f"token {token}"}
        answer = requests.get(f"{url}hybridhub/models", params={"project": "."}, headers=headers, timeout=60)
        refused(answer, "registry_unreachable")
        config = requests.get(f"{url}hybridhub/models/config", headers=headers, timeout=30).json()
        assert config["enabled"] is True and config["registry_url"] == f"http://127.0.0.1:{closed}"
    assert "Traceback" not in (tmp_path / "server.log").read_text(errors="replace")


def test_the_server_logged_no_traceback(lab):
    text = lab.log.read_text(errors="replace")
    assert "Traceback" not in text and "Uncaught exception" not in text, text[-3000:]
