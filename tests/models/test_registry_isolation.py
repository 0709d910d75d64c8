"""The demo's model registry keeps each user's models her own (issue 19 follow-up): a real MLflow
3.17.2 server run as ``./dev demo`` runs it (basic-auth app, workspaces, nothing granted by default),
each user with the login and workspace the demo's hub makes for her (mlflow_accounts.py).

What is asserted comes from the real server's answers: alice's login lists and reads only her
models; bob's is refused (403) on her runs, model and artifacts, whichever workspace he names; nobody
creates in the default workspace; the template's jobs register a version with a login and a
workspace; no password in the server's log or the jobs' output."""

from __future__ import annotations

import base64
import json
import uuid

import psutil
import pytest
import requests

from hybridhub.hub_ext.demo.mlflow_accounts import workspace_of
from hybridhub.lab_ext.models.errors import ModelsError
from hybridhub.lab_ext.models.registry import Registry
from hybridhub.lab_ext.pipelines.service import model_job_env

from .mlflow_server import mlflow_auth_server  # noqa: F401 (fixture)
from .test_template_registry import bucket_with_data, run_pipeline, store  # noqa: F401 (fixture)

pytestmark = pytest.mark.models

MODEL = "sensor-failure"  # both users' projects name their model the same (the template's MODEL_NAME)


def login_env(name: str, password: str) -> dict:
    """What model_job_env() hands a local job of hers (the names the MLflow client reads itself)."""
    return {"MLFLOW_TRACKING_USERNAME": name, "MLFLOW_TRACKING_PASSWORD": password, "MLFLOW_WORKSPACE": workspace_of(name)}


def rest(server, method: str, path: str, who: tuple[str, str] | None, workspace: str | None = None, **kwargs):
    """One request to the real server's REST API as ``who`` (basic auth, MLflow's auth app), in
    ``workspace`` (the ``X-MLflow-Workspace`` header: mlflow/utils/workspace_utils.py)."""
    headers = {"X-MLflow-Workspace": workspace} if workspace else {}
    return requests.request(method, f"{server.url}{path}", auth=who, headers=headers, timeout=30, **kwargs)


@pytest.fixture(scope="module")
def people(mlflow_auth_server, tmp_path_factory, object_store):  # noqa: F811
    """alice and bob, each with her own login, and each with a version of "sensor-failure" made by
    the template's train, test and build jobs run with her login and workspace."""
    from minio import Minio

    accounts = mlflow_auth_server.accounts
    passwords = {name: accounts.ensure_user(name) for name in ("alice", "bob")}
    creds = object_store.credentials
    admin = Minio(object_store.endpoint.removeprefix("http://"), creds.admin_access_key, creds.admin_secret_key,
                  secure=False)  # fmt: skip
    s3 = {"S3_ENDPOINT": object_store.endpoint, "AWS_ACCESS_KEY_ID": creds.admin_access_key,
          "AWS_SECRET_ACCESS_KEY": creds.admin_secret_key}  # fmt: skip
    bucket, _ = bucket_with_data(admin, versioned=True)
    made = {}
    for name, password in passwords.items():
        tmp = tmp_path_factory.mktemp(f"pipeline-{name}")
        work, *jobs = run_pipeline(tmp, s3, bucket, MODEL, mlflow_auth_server.url, **login_env(name, password))
        made[name] = {"password": password, "info": json.loads((work / "model" / "registry.json").read_text()),
                      "output": "".join(j.stdout + j.stderr for j in jobs)}  # fmt: skip
    return made


def registry_of(server, name: str, password: str, workspace: str | None = None) -> Registry:
    return Registry(server.url, kind="mlflow", username=name, password=password,
                    workspace=workspace_of(name) if workspace is None else workspace, timeout=15)  # fmt: skip


async def test_each_user_lists_and_reads_only_her_own_versions(mlflow_auth_server, people):  # noqa: F811
    alice, bob = people["alice"], people["bob"]
    assert alice["info"]["run_id"] != bob["info"]["run_id"]
    # the same model name, the same semver (pipeline 4242) in both workspaces: each registry number 1
    assert alice["info"]["registry_version"] == bob["info"]["registry_version"] == "1"
    for name, other in (("alice", "bob"), ("bob", "alice")):
        registry = registry_of(mlflow_auth_server, name, people[name]["password"])
        versions = await registry.versions(MODEL)
        assert [v.run_id for v in versions] == [people[name]["info"]["run_id"]]
        assert [m["name"] for m in await registry.models()] == [MODEL]
        # her run's lineage.json (the build job's artifact) comes through the artifact proxy with her login
        lineage = json.loads(await registry.artifact(versions[0], "lineage.json"))
        assert lineage["model"]["run_id"] == people[name]["info"]["run_id"]
        assert people[other]["info"]["run_id"] not in json.dumps(lineage)


async def test_bob_cannot_read_or_change_alices_model_or_runs(mlflow_auth_server, people):  # noqa: F811
    alice_run = people["alice"]["info"]["run_id"]
    bob = ("bob", people["bob"]["password"])
    for workspace in ("user-alice", "user-bob", None):  # whichever workspace he names
        got = rest(mlflow_auth_server, "GET", "/api/2.0/mlflow/runs/get", bob, workspace, params={"run_id": alice_run})
        assert got.status_code == 403, (workspace, got.text)
        tag = rest(mlflow_auth_server, "POST", "/api/2.0/mlflow/runs/set-tag", bob, workspace,
                   json={"run_id": alice_run, "key": "hybridhub.gate", "value": "passed"})  # fmt: skip
        assert tag.status_code == 403, (workspace, tag.text)
    # her registered model, in her workspace: not readable, not deletable, not listed
    found = rest(mlflow_auth_server, "GET", "/api/2.0/mlflow/registered-models/get", bob, "user-alice", params={"name": MODEL})
    assert found.status_code == 403
    deleted = rest(mlflow_auth_server, "DELETE", "/api/2.0/mlflow/registered-models/delete", bob, "user-alice",
                   json={"name": MODEL})  # fmt: skip
    assert deleted.status_code == 403
    listed = rest(mlflow_auth_server, "GET", "/api/2.0/mlflow/registered-models/search", bob, "user-alice")
    assert listed.status_code == 200 and listed.json().get("registered_models", []) == []
    # her artifacts through the proxy (read and overwrite)
    artifacts = f"/api/2.0/mlflow-artifacts/artifacts/workspaces/user-alice/{people['alice']['info']['experiment_id']}/{alice_run}/artifacts"
    assert rest(mlflow_auth_server, "GET", f"{artifacts}/lineage.json", bob, "user-alice").status_code == 403
    assert rest(mlflow_auth_server, "PUT", f"{artifacts}/lineage.json", bob, "user-bob", data=b"{}").status_code == 403
    # the Models panel's client with his login, pointed at her workspace, finds nothing of hers
    snooping = registry_of(mlflow_auth_server, "bob", people["bob"]["password"], workspace="user-alice")
    try:
        assert await snooping.versions(MODEL) == []
    except ModelsError as exc:
        assert exc.reason == "registry_denied"
    # and nothing of hers changed: her run still reads as the jobs left it, for her
    mine = rest(mlflow_auth_server, "GET", "/api/2.0/mlflow/runs/get", ("alice", people["alice"]["password"]), "user-alice",
                params={"run_id": alice_run})  # fmt: skip
    assert mine.status_code == 200
    tags = {t["key"]: t["value"] for t in mine.json()["run"]["data"]["tags"]}
    assert tags["hybridhub.gate"] == "passed" and tags["hybridhub.version"] == "1.0.4242"
    model = rest(mlflow_auth_server, "GET", "/api/2.0/mlflow/registered-models/get", ("alice", people["alice"]["password"]),
                 "user-alice", params={"name": MODEL})  # fmt: skip
    assert model.status_code == 200


def test_nobody_creates_in_the_default_workspace_or_another_users(mlflow_auth_server, people):  # noqa: F811
    alice = ("alice", people["alice"]["password"])
    name = f"x-{uuid.uuid4().hex[:8]}"
    for workspace in (None, "default", "user-bob"):
        made = rest(mlflow_auth_server, "POST", "/api/2.0/mlflow/experiments/create", alice, workspace, json={"name": name})
        assert made.status_code == 403, (workspace, made.text)
        model = rest(mlflow_auth_server, "POST", "/api/2.0/mlflow/registered-models/create", alice, workspace,
                     json={"name": name})  # fmt: skip
        assert model.status_code == 403, (workspace, model.text)
    # she cannot make herself a workspace or an account either (the administrator's routes)
    assert rest(mlflow_auth_server, "POST", "/api/3.0/mlflow/workspaces", alice, json={"name": "user-mallory"}).status_code == 403
    made_user = rest(mlflow_auth_server, "POST", "/api/2.0/mlflow/users/create", alice,
                     json={"username": "mallory", "password": "x" * 16})  # fmt: skip
    assert made_user.status_code == 403
    # in her own workspace she may
    assert rest(mlflow_auth_server, "POST", "/api/2.0/mlflow/experiments/create", alice, "user-alice",
                json={"name": name}).status_code == 200  # fmt: skip


async def test_no_login_or_a_wrong_password_is_refused(mlflow_auth_server, people):  # noqa: F811
    assert rest(mlflow_auth_server, "GET", "/api/2.0/mlflow/registered-models/search", None, "user-alice").status_code == 401
    wrong = registry_of(mlflow_auth_server, "alice", people["bob"]["password"])
    with pytest.raises(ModelsError) as refused:
        await wrong.models()
    assert refused.value.reason == "registry_denied"


def test_accounts_are_idempotent_and_passwords_differ(mlflow_auth_server, people):  # noqa: F811
    again = mlflow_auth_server.accounts  # a fresh hub process: nothing cached
    assert again.ensure_user("alice") == people["alice"]["password"] != people["bob"]["password"]
    roles = rest(mlflow_auth_server, "GET", "/api/3.0/mlflow/users/roles/list",
                 (mlflow_auth_server.admin.username, mlflow_auth_server.admin.password), params={"username": "alice"})  # fmt: skip
    assert roles.status_code == 200
    held = [(r["workspace"], r["name"]) for r in roles.json()["roles"]]
    # her owner role once, and MLflow's own per-user role (creator-as-owner grants), all in her workspace
    assert held.count(("user-alice", "owner")) == 1 and {w for w, _ in held} == {"user-alice"}
    # a hub user named like the administrator gets no account (her password would become his)
    from hybridhub.hub_ext.demo.errors import DemoError

    with pytest.raises(DemoError):
        again.ensure_user(mlflow_auth_server.admin.username)
    admin_login = (mlflow_auth_server.admin.username, mlflow_auth_server.admin.password)
    assert rest(mlflow_auth_server, "GET", "/api/2.0/mlflow/users/get", admin_login, params={"username": "alice"}).status_code == 200
    # still works for her after the second run
    assert rest(mlflow_auth_server, "GET", "/api/2.0/mlflow/registered-models/search", ("alice", people["alice"]["password"]),
                "user-alice").json()["registered_models"][0]["name"] == MODEL  # fmt: skip


def test_no_password_in_the_server_log_or_the_jobs_output(mlflow_auth_server, people):  # noqa: F811
    log = mlflow_auth_server.log_path.read_text(errors="replace")
    assert "/api/2.0/mlflow/runs/create" in log  # the log is the server's access log, and it was written
    secrets = [mlflow_auth_server.admin.password, mlflow_auth_server.admin.user_secret,
               *(p["password"] for p in people.values())]  # fmt: skip
    encoded = [base64.b64encode(f"{n}:{p['password']}".encode()).decode() for n, p in people.items()]
    for secret in secrets + encoded:
        assert secret not in log
        for person in people.values():
            assert secret not in person["output"]
    # the basic-auth config the server reads holds no password (the admin's comes by environment)
    assert mlflow_auth_server.admin.password not in (mlflow_auth_server.root / "basic_auth.ini").read_text()
    assert (mlflow_auth_server.root / "mlflow-admin.json").stat().st_mode & 0o077 == 0


def test_local_jobs_get_her_login_and_workspace_only_with_a_registry(monkeypatch):
    monkeypatch.setenv("HYBRIDHUB_MLFLOW_TRACKING_USERNAME", "alice")
    monkeypatch.setenv("HYBRIDHUB_MLFLOW_TRACKING_PASSWORD", "pw-of-alice")
    monkeypatch.setenv("HYBRIDHUB_MLFLOW_WORKSPACE", "user-alice")
    monkeypatch.delenv("HYBRIDHUB_PREDICTION_LOG_URI", raising=False)
    monkeypatch.delenv("HYBRIDHUB_MLFLOW_TRACKING_URI", raising=False)
    assert model_job_env() == {}  # no registry: no login handed to jobs either
    monkeypatch.setenv("HYBRIDHUB_MLFLOW_TRACKING_URI", "http://127.0.0.1:9")
    assert model_job_env() == {"MLFLOW_TRACKING_URI": "http://127.0.0.1:9", "HYBRIDHUB_MLFLOW_TRACKING_URI": "http://127.0.0.1:9",
                               "MLFLOW_TRACKING_USERNAME": "alice", "MLFLOW_TRACKING_PASSWORD": "pw-of-alice",
                               "MLFLOW_WORKSPACE": "user-alice"}  # fmt: skip


def test_the_mlflow_login_goes_to_the_mlflow_registry_only(monkeypatch):
    monkeypatch.setenv("HYBRIDHUB_MLFLOW_TRACKING_USERNAME", "alice")
    monkeypatch.setenv("HYBRIDHUB_MLFLOW_TRACKING_PASSWORD", "pw-of-alice")
    monkeypatch.setenv("HYBRIDHUB_MLFLOW_WORKSPACE", "user-alice")
    mlflow = Registry("http://127.0.0.1:9", kind="mlflow")
    creds = mlflow.creds()
    assert (creds.username, creds.password, creds.token, mlflow.workspace) == ("alice", "pw-of-alice", None, "user-alice")
    # GitLab's registry takes the user's GitLab token, never the MLflow login, and has no workspaces
    gitlab = Registry("https://gitlab.example/api/v4/projects/7/ml/mlflow", kind="gitlab", token="glpat-x")
    creds = gitlab.creds()
    assert (creds.username, creds.password, creds.token, gitlab.workspace) == (None, None, "glpat-x", "")
    assert "pw-of-alice" not in repr(mlflow) + repr(vars(creds))


def test_a_restarted_registry_keeps_her_login_and_her_models(tmp_path):
    """A demo stopped and started again on its data folder: the saved administrator credential still
    rules the server (MLflow makes the admin only on an empty user store: mlflow/server/auth/config.py)."""
    from .mlflow_server import start_mlflow_server, stop_mlflow_server

    first = start_mlflow_server(tmp_path, auth=True)
    try:
        assert psutil.Process(first.process.pid).environ()["MLFLOW_AUTH_ADMIN_PASSWORD"] == first.admin.password
        password = first.accounts.ensure_user("carol")
        made = rest(first, "POST", "/api/2.0/mlflow/registered-models/create", ("carol", password), "user-carol",
                    json={"name": MODEL})  # fmt: skip
        assert made.status_code == 200, made.text
    finally:
        stop_mlflow_server(first)
    again = start_mlflow_server(tmp_path, auth=True)
    try:
        # the administrator's password was needed once, to make him: the restarted server holds none
        assert "MLFLOW_AUTH_ADMIN_PASSWORD" not in psutil.Process(again.process.pid).environ()
        assert again.admin == first.admin and again.accounts.ensure_user("carol") == password
        found = rest(again, "GET", "/api/2.0/mlflow/registered-models/search", ("carol", password), "user-carol")
        assert [m["name"] for m in found.json()["registered_models"]] == [MODEL]
    finally:
        stop_mlflow_server(again)


def test_a_server_without_the_auth_app_says_what_to_install(tmp_path):
    """MLflow's basic-auth app without Flask-WTF (an install without mlflow[auth]) exits at start-up
    with this ImportError (mlflow/server/auth/__init__.py of 3.17.2); the demo says what to install."""
    import subprocess
    import sys

    from hybridhub.hub_ext.demo.errors import DemoError
    from hybridhub.hub_ext.demo.mlflow_server import wait_for_mlflow

    log = tmp_path / "mlflow.log"
    message = "ImportError: The MLflow basic auth app requires the Flask-WTF package to perform CSRF validation."
    with log.open("w") as out:
        process = subprocess.Popen([sys.executable, "-c", f"import sys; print({message!r}); sys.exit(1)"], stdout=out)
        process.wait(30)
    with pytest.raises(DemoError) as failed:
        wait_for_mlflow(process, "http://127.0.0.1:9", log, timeout=10)
    assert "mlflow[auth]" in str(failed.value) and str(log) in str(failed.value)


def test_every_hub_name_gets_a_workspace_name_mlflow_accepts_and_its_own():
    from mlflow.store.workspace.abstract_store import WorkspaceNameValidator

    names = ["alice", "bob", "Alice", "alice.smith", "alice_smith", "a", "日本語", "x" * 80, "user@example.org", "-"]
    workspaces = [workspace_of(n) for n in names]
    for workspace in workspaces:
        WorkspaceNameValidator.validate(workspace)  # raises on a name the server would refuse
    assert workspaces[:2] == ["user-alice", "user-bob"] and len(set(workspaces)) == len(names)
