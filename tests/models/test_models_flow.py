"""Issue 19's done-when, with the local backend, through the REST API of a real jupyter server:
the template pipeline (gitlab-ci-local, scikit-learn, MLServer) registers its version in a real
MLflow server; deploy is approved from the Models API; a prediction comes from the served model;
the Models REST shows that version in production with its lineage; a second pipeline on changed
data is promoted, then rolled back to the first — requests in a loop against the served URL never
fail and always answer one of the two versions (the first throughout the rollback once it is
back); Reproduce of the first version gives the same metrics.

One module-scoped run (it is slow: three pipelines and three model swaps) shared by the assertions.
"""

from __future__ import annotations

import io
import json
import os
import threading
import time
import urllib.error
import urllib.request
from types import SimpleNamespace

import pytest
import requests

from hybridhub.hub_ext.demo.ports import free_ports
from hybridhub.hub_ext.demo.sample_data import sensor_csv
from tests.harness.lab import running_lab
from tests.models.mlflow_server import running_mlflow_server
from hybridhub.lab_ext.pipelines.template import add_template
from tests.pipelines.conftest import commit_all, git
from tests.storage.conftest import minio_for, new_bucket

pytestmark = [pytest.mark.models, pytest.mark.pipelines, pytest.mark.timeout(900)]

MODEL = "sensor-failure"  # the template's MODEL_NAME
ROW = [48.0, 4.1, 12.0]


class Api:
    """The hybridhub REST API of the lab server, as the panel calls it."""

    def __init__(self, url: str, token: str) -> None:
        self.base, self.session = f"{url}hybridhub/", requests.Session()
        self.session.headers["Authorization"] = f"token {token}"

    def get(self, path: str, **params) -> requests.Response:
        return self.session.get(self.base + path, params=params, timeout=60)

    def post(self, path: str, body: dict) -> requests.Response:
        return self.session.post(self.base + path, json=body, timeout=60)

    def ok(self, response: requests.Response, status: int = 200) -> dict:
        assert response.status_code == status, response.text[:2000]
        return response.json()

    def pipeline(self, pipeline_id: int) -> dict:
        return self.ok(self.get(f"pipelines/runs/{pipeline_id}", project="."))

    def wait(self, pipeline_id: int, done, timeout: float = 240) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            view = self.pipeline(pipeline_id)
            if done(view):
                return view
            assert time.monotonic() < deadline, f"pipeline {pipeline_id} stuck: {jobs(view)}"
            time.sleep(0.5)

    def log(self, pipeline_id: int, name: str) -> str:
        job = [j for s in self.pipeline(pipeline_id)["stages"] for j in s["jobs"] if j["name"] == name][-1]
        return self.ok(self.get(f"pipelines/runs/{pipeline_id}/jobs/{job['id']}/trace", project=".", offset="0"))["content"]


def jobs(view: dict) -> dict[str, str]:
    return {job["name"]: job["status"] for stage in view["stages"] for job in stage["jobs"]}


def finished(view: dict) -> bool:
    return view["status"] not in ("pending", "running")


def deployed(view: dict) -> bool:
    return jobs(view)["deploy"] in ("success", "failed", "canceled")


def infer(url: str) -> dict:
    """One V2 inference request (MLServer's REST API, https://mlserver.readthedocs.io/en/stable/user-guide/content-type.html)."""
    body = {"inputs": [{"name": "sensors", "shape": [1, 3], "datatype": "FP64", "data": ROW}]}
    request = urllib.request.Request(f"{url}/v2/models/{MODEL}/infer", data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})  # fmt: skip
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


class Traffic:
    """Requests in a loop against the served URL while a swap happens: every answer's version, every failure."""

    def __init__(self, url: str) -> None:
        self.url, self.versions, self.failures = url, [], []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self.stop.is_set():
            try:
                self.versions.append(infer(self.url)["model_version"])
            except (OSError, urllib.error.HTTPError, ValueError) as exc:
                self.failures.append(repr(exc))
            time.sleep(0.02)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        time.sleep(0.5)  # a few answers after the swap
        self.stop.set()
        self.thread.join(15)


def launch(api: Api, train: str, test: str, **extra) -> int:
    values = {"DATA_URI": train, "TEST_DATA_URI": test, "MAX_ITER": "200", **extra}
    body = {"project": ".", "ref": "main", "backend": "local", "variables": [{"key": k, "value": v} for k, v in values.items()]}
    return api.ok(api.post("pipelines/runs", body), 201)["id"]


def put(admin, bucket: str, key: str, data: bytes) -> str | None:
    """Write an object; its version id (None in a bucket without versioning)."""
    return admin.put_object(bucket, key, io.BytesIO(data), len(data)).version_id


@pytest.fixture(scope="module")
def own_registry(tmp_path_factory):
    """A registry of this module's own: the flow counts the versions of the template's model
    ("sensor-failure"), which other modules register too in the session's shared server."""
    with running_mlflow_server(tmp_path_factory.mktemp("mlflow-flow")) as server:
        yield server


@pytest.fixture(scope="module")
def flow(tmp_path_factory, own_registry, object_store):
    """The whole done-when, once: every step's answers kept for the tests below.

    The training data is in a versioned bucket (changed data = a new version of the same key), the
    test data in one without versioning (design §2: ETag and size only), on the real SeaweedFS."""
    base = tmp_path_factory.mktemp("models-flow")
    root = base / "userhome"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    add_template(root, "")
    commit_all(root, "Add the hybridhub pipeline template")
    creds = object_store.credentials
    admin = minio_for(object_store, creds.admin_access_key, creds.admin_secret_key)
    versioned, plain = new_bucket(admin, versioned=True), new_bucket(admin)
    train_v1 = put(admin, versioned, "sensors/train.csv", sensor_csv(2000, seed=1))
    put(admin, plain, "sensors/test.csv", sensor_csv(500, seed=2))
    train, test = f"s3://{versioned}/sensors/train.csv", f"s3://{plain}/sensors/test.csv"
    serve_port = free_ports(1)[0]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HYBRIDHUB_", "JUPYTERHUB_", "MLFLOW_", "AWS_", "S3_"))}
    env.update(HYBRIDHUB_MLFLOW_TRACKING_URI=own_registry.url, HYBRIDHUB_LOCAL_SERVE_PORT=str(serve_port),
               HYBRIDHUB_PIPELINES_BACKEND="local", HYBRIDHUB_S3_ENDPOINT=object_store.endpoint,
               HYBRIDHUB_S3_ACCESS_KEY=creds.user_access_key, HYBRIDHUB_S3_SECRET_KEY=creds.user_secret_key)  # fmt: skip
    log = base / "server.log"
    with running_lab(root, base / "home", env, timeout=90, log=log) as (url, token):
        api = Api(url, token)
        serving = f"http://127.0.0.1:{serve_port}"
        run = SimpleNamespace(api=api, root=root, serving=serving, log=log, train_v1=train_v1, test_uri=test,
                              secret=creds.user_secret_key, mlflow=own_registry)  # fmt: skip
        run.config = api.ok(api.get("models/config"))
        # 1. the first pipeline: train, test, build; deploy waits for approval
        first = launch(api, train, test)
        run.first_view = api.wait(first, finished)
        run.versions_before = api.ok(api.get("models/versions", project=".", name=MODEL))
        # 2. deploy approved from the Models API; a prediction from the served model
        run.promote_first = api.ok(api.post("models/promote", {"project": ".", "name": MODEL, "version": "1.0.1"}))
        run.first_deployed = api.wait(first, deployed)
        run.first_answer = infer(serving)
        run.versions_first = api.ok(api.get("models/versions", project=".", name=MODEL))
        run.lineage_first = api.ok(api.get("models/lineage", project=".", name=MODEL, version="1.0.1"))
        # 3. trained again on changed data, promoted while requests keep coming
        run.train_v2 = put(admin, versioned, "sensors/train.csv", sensor_csv(2400, seed=7))
        second = launch(api, train, test)  # the latest version of the training data
        run.second_view = api.wait(second, finished)
        with Traffic(serving) as run.promote_traffic:
            run.promote_second = api.ok(api.post("models/promote", {"project": ".", "name": MODEL, "version": "1.0.2"}))
            run.second_deployed = api.wait(second, deployed)
        run.versions_second = api.ok(api.get("models/versions", project=".", name=MODEL))
        # 4. rolled back to the first, requests still coming
        with Traffic(serving) as run.rollback_traffic:
            run.rollback = api.ok(api.post("models/rollback", {"project": ".", "name": MODEL}))
            run.rollback_deployed = api.wait(first, deployed)
        run.versions_rolled_back = api.ok(api.get("models/versions", project=".", name=MODEL))
        run.after_rollback = infer(serving)
        # 5. reproduce the first version: same commit, same data, same metrics
        run.reproduce = api.ok(api.post("models/reproduce", {"project": ".", "name": MODEL, "version": "1.0.1"}), 201)
        run.reproduced_view = api.wait(run.reproduce["pipeline"]["id"], finished)
        run.train_logs = [api.log(pipeline, "train") for pipeline in (first, second, run.reproduce["pipeline"]["id"])]
        run.test_logs = [api.log(pipeline, "test") for pipeline in (first, second)]
        run.lineage_after = api.ok(api.get("models/lineage", project=".", name=MODEL, version="1.0.1"))
        run.lineage_second = api.ok(api.get("models/lineage", project=".", name=MODEL, version="1.0.2"))
        run.versions_final = api.ok(api.get("models/versions", project=".", name=MODEL))
        run.first, run.second = first, second
        yield run


def test_the_first_version_is_registered_with_its_gate_and_waits_for_approval(flow):
    assert flow.config["enabled"] is True and flow.config["backend"] == "local" and flow.config["registry"] == "mlflow"
    assert jobs(flow.first_view) == {"train": "success", "test": "success", "build": "success", "deploy": "manual"}
    (version,) = flow.versions_before["versions"]
    assert version["version"] == "1.0.1" and version["pipeline_id"] == flow.first
    assert version["gate"]["passed"] is True and 0.95 <= version["metrics"]["accuracy"] <= 1.0
    assert version["serving"] is False and flow.versions_before["production"] is None
    assert version["commit"] == git(flow.root, "rev-parse", "HEAD").strip()


def test_approved_deploy_serves_the_first_version_in_production(flow):
    assert flow.promote_first["pipeline_id"] == flow.first and flow.promote_first["job"] == "deploy"
    assert jobs(flow.first_deployed)["deploy"] == "success"
    assert flow.first_answer["model_name"] == MODEL and flow.first_answer["model_version"] == "1.0.1"
    assert flow.versions_first["production"]["version"] == "1.0.1"
    assert [v["serving"] for v in flow.versions_first["versions"]] == [True]


def test_lineage_of_the_served_version_is_complete(flow):
    lineage = flow.lineage_first
    assert lineage["model"]["version"] == "1.0.1" and lineage["pipeline_id"] == flow.first
    assert lineage["commit"] == flow.versions_before["versions"][0]["commit"]
    train, test = lineage["data"]["train"], lineage["data"]["test"]
    # a run on "latest" records the version it actually read
    assert train["uri"].endswith("/sensors/train.csv") and train["requested_version"] == ""
    assert train["versioned"] is True and train["version_id"] == flow.train_v1 and train["size"] > 0
    assert test["uri"] == flow.test_uri and test["versioned"] is False and test["version_id"] is None and test["etag"]
    assert flow.lineage_second["data"]["train"]["version_id"] == flow.train_v2 != flow.train_v1
    assert lineage["jobs"]["train"] and lineage["jobs"]["test"]
    assert lineage["image"]["built"] is False and lineage["image"]["context_digest"].startswith("sha256:")
    assert lineage["gate"]["passed"] is True and lineage["metrics"]["accuracy"] > 0.9
    assert lineage["links"]["local_pipeline"] == {"backend": "local", "project": ".", "id": flow.first}
    assert [d["status"] for d in lineage["deployments"]] == ["success"] and lineage["serving"] is True
    # the test data's bucket has no versioning: reproducibility is weaker, and the panel says why
    assert lineage["reproducibility"] == "weaker"
    assert lineage["warnings"] == [{"code": "store_unversioned", "which": "test", "uri": flow.test_uri}]


def test_promoting_the_second_version_drops_no_request(flow):
    assert jobs(flow.second_view)["deploy"] == "manual" and flow.promote_second["pipeline_id"] == flow.second
    assert jobs(flow.second_deployed)["deploy"] == "success"
    traffic = flow.promote_traffic
    assert traffic.failures == [] and len(traffic.versions) > 10
    assert set(traffic.versions) <= {"1.0.1", "1.0.2"} and traffic.versions[-1] == "1.0.2"
    assert flow.versions_second["production"]["version"] == "1.0.2"
    assert {v["version"]: v["serving"] for v in flow.versions_second["versions"]} == {"1.0.2": True, "1.0.1": False}


def test_rollback_returns_to_the_first_version_without_a_failed_request(flow):
    assert flow.rollback["pipeline_id"] == flow.first and flow.rollback["version"] == "1.0.1"
    assert jobs(flow.rollback_deployed)["deploy"] == "success"
    traffic = flow.rollback_traffic
    assert traffic.failures == [] and len(traffic.versions) > 10
    assert set(traffic.versions) <= {"1.0.1", "1.0.2"}
    back = traffic.versions.index("1.0.1")
    assert set(traffic.versions[back:]) == {"1.0.1"}  # once back, the first version throughout
    assert flow.after_rollback["model_version"] == "1.0.1"
    assert flow.versions_rolled_back["production"]["version"] == "1.0.1"


def test_reproduce_of_the_first_version_gives_the_same_metrics(flow):
    # the test data's ETag is unchanged: it runs, weaker but checked (no "could not compare" warning)
    assert flow.reproduce["reproducibility"] == "weaker" and flow.reproduce["warnings"] == flow.lineage_first["warnings"]
    assert flow.reproduced_view["status"] == "success", jobs(flow.reproduced_view)
    variables = {v["key"]: v["value"] for v in flow.reproduced_view["variables"]}
    assert variables["REPRODUCES_VERSION"] == "1.0.1" and variables["DATA_URI"].endswith("/sensors/train.csv")
    # the version the first run read, although the latest is another one now
    assert variables["DATA_VERSION"] == flow.train_v1 and variables["TEST_DATA_VERSION"] == ""
    assert flow.reproduced_view["sha"] == flow.versions_before["versions"][0]["commit"]
    (again,) = flow.lineage_after["reproduced_by"]
    assert again["pipeline_id"] == flow.reproduce["pipeline"]["id"] and again["same_metrics"] is True
    original = {v["version"]: v for v in flow.versions_final["versions"]}
    assert original[again["version"]]["reproduces"] == "1.0.1"
    assert original[again["version"]]["metrics"]["accuracy"] == original["1.0.1"]["metrics"]["accuracy"]


def test_the_reproduce_run_reads_the_first_runs_data_version_from_the_cache(flow):
    """Local jobs get the template's data cache in the user's home (c.PipelinesConfig.data_cache_dir,
    PIPELINE.md "Data cache"): the first run downloads the newest training data (a miss), the
    second a newer version of it (a miss), the reproduce run pins the first one's version: a hit."""
    first, second, reproduce = flow.train_logs
    train = flow.reproduced_view["variables"]
    uri = next(v["value"] for v in train if v["key"] == "DATA_URI")
    assert f"s3io cache miss {uri}" in first and f"s3io cache miss {uri}" in second, (first[-2000:], second[-2000:])
    assert f"s3io cache hit {uri} version {flow.train_v1}:" in reproduce, reproduce[-3000:]
    # the test data is in a bucket without versioning and unchanged: its ETag is what the cache holds
    assert f"s3io cache miss {flow.test_uri}:" in flow.test_logs[0], flow.test_logs[0][-2000:]
    assert f"s3io cache hit {flow.test_uri}:" in flow.test_logs[1], flow.test_logs[1][-2000:]
    assert flow.secret not in first + second + reproduce + "".join(flow.test_logs)


def test_the_server_logged_no_traceback_and_no_secret(flow):
    text = flow.log.read_text(errors="replace")
    assert "Traceback" not in text and "Uncaught exception" not in text, text[-3000:]
    assert flow.secret not in text
    # nor in what the registry keeps about the version (tags, params)
    run = flow.mlflow.client().get_run(flow.lineage_first["model"]["run_id"])
    kept = json.dumps({"tags": run.data.tags, "params": run.data.params})
    assert "hybridhub.data.train" in kept and flow.secret not in kept
