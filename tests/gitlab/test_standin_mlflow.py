"""The GitLab stand-in's model registry, driven by the REAL MLflow client (mlflow-skinny) as the
train job and the Models panel use it: ``MlflowClient(tracking_uri=<gitlab>/api/v4/projects/<id>/ml/mlflow)``
with ``MLFLOW_TRACKING_TOKEN``.

Each behaviour names its gitlabhq source: lib/api/ml/mlflow/{entrypoint,api_helpers,experiments,
runs,registered_models,model_versions}.rb, lib/api/entities/ml/mlflow/*.rb, lib/api/ml_model_packages.rb,
lib/api/ml/mlflow_artifacts/artifacts.rb, app/services/ml/{create_model_service,
create_model_version_service,increment_version_service}.rb, app/policies/project_policy.rb,
spec/requests/api/ml/mlflow/{runs,model_versions}_spec.rb and
doc/user/project/ml/experiment_tracking/mlflow_client.md.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from mlflow import MlflowClient
from mlflow.entities import Metric, Param, RunTag
from mlflow.exceptions import MlflowException
from mlflow.store.artifact.mlflow_artifacts_repo import MlflowArtifactsRepository

from tests.gitlab_standin import GitLabStandIn
from tests.gitlab_standin import mlflow as gitlab_mlflow
from tests.gitlab_standin.pipelines import install as install_ci
from tests.gitlab_standin.state import DEVELOPER, GUEST, MAINTAINER, REPORTER

from .conftest import seed

pytestmark = [pytest.mark.gitlab, pytest.mark.models]
CI = "stages: [train]\ntrain:\n  stage: train\n  script: [python ml/train.py]\n"


@dataclass
class Registry:
    gitlab: GitLabStandIn
    project: object
    tokens: dict
    state: object
    ci: object

    @property
    def uri(self) -> str:
        return f"{self.gitlab.url}/api/v4/projects/{self.project.id}/ml/mlflow"

    def client(self, who: str = "dev") -> MlflowClient:
        os.environ["MLFLOW_TRACKING_TOKEN"] = self.tokens[who]
        return MlflowClient(tracking_uri=self.uri)

    def call(self, method: str, path: str, who: str = "dev", **kwargs) -> requests.Response:
        """``path`` under ``…/api/2.0/`` (``mlflow/…`` or ``mlflow-artifacts/…``)."""
        return requests.request(method, f"{self.uri}/api/2.0/{path}",
                                headers={"Authorization": f"Bearer {self.tokens[who]}"}, **kwargs)  # fmt: skip


@pytest.fixture
def registry(tmp_path, monkeypatch):
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")  # a refusal is an answer, not a fault
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", "")
    gitlab = GitLabStandIn(tmp_path / "gitlab").start()
    try:
        state = gitlab_mlflow.install(gitlab)
        ci = install_ci(gitlab)
        w = gitlab.world
        users = {n: w.add_user(n) for n in ("dev", "maint", "reporter", "guest", "outsider")}
        project = w.add_project("ml-team", "sensors", {users["dev"]: DEVELOPER, users["maint"]: MAINTAINER,
                                                       users["reporter"]: REPORTER, users["guest"]: GUEST})  # fmt: skip
        seed(project.repo, tmp_path, {".gitlab-ci.yml": CI})
        tokens = {n: w.issue(u, ["api"]).value for n, u in users.items()}
        tokens["dev_read"] = w.issue(users["dev"], ["read_api"]).value
        reg = Registry(gitlab, project, tokens, state, ci)
        # the client's default registry (for models:/ URIs) is the tracking URI; never a local file store
        monkeypatch.setenv("MLFLOW_TRACKING_URI", reg.uri)
        monkeypatch.chdir(tmp_path)
        yield reg
    finally:
        gitlab.stop()
    assert gitlab.violations == [], gitlab.violations


def train_job(reg: Registry) -> int:
    """A real train job of a pipeline (its id is what ``gitlab.CI_JOB_ID`` names)."""
    answer = requests.post(f"{reg.gitlab.url}/api/v4/projects/{reg.project.id}/pipeline", json={"ref": "main"},
                           headers={"Authorization": f"Bearer {reg.tokens['maint']}"})  # fmt: skip
    assert answer.status_code == 201, answer.text
    return reg.ci.job(reg.ci.pipelines[answer.json()["id"]], "train").id


def model_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "model"
    (folder / "sub").mkdir(parents=True)
    (folder / "MLmodel").write_text("flavors: {}\n")
    (folder / "sub" / "model.pkl").write_bytes(b"\x80\x04pickle")
    return folder


def register(reg: Registry, client: MlflowClient, tmp_path: Path, semver: str, job_id: int):
    """The design's convention (models-design.md §1) as GitLab accepts it: the run lives in the
    model's experiment ``[model]<name>`` so that create_model_version(run_id=…) may promote it."""
    try:
        client.create_registered_model("sensor-model", description="Predicts failures")
    except MlflowException as e:
        assert e.error_code == "RESOURCE_ALREADY_EXISTS"
    experiment = client.get_experiment_by_name("[model]sensor-model")
    run = client.create_run(experiment.experiment_id, run_name=f"sensor-model {semver}",
                            tags={"gitlab.CI_JOB_ID": str(job_id), "hybridhub.version": semver})  # fmt: skip
    client.log_batch(run.info.run_id, metrics=[Metric("train_accuracy", 0.93, 1, 0)],
                     params=[Param("C", "1.0"), Param("estimator", "LogisticRegression")])  # fmt: skip
    client.log_artifacts(run.info.run_id, str(model_folder(tmp_path)), artifact_path="model")
    source = client.get_run(run.info.run_id).info.artifact_uri + "model"
    version = client.create_model_version("sensor-model", source=source, run_id=run.info.run_id,
                                          tags={"gitlab.version": semver}, description="v")  # fmt: skip
    return run, version


def test_the_train_job_convention_works_with_the_real_client(registry, tmp_path):
    client = registry.client()
    job_id = train_job(registry)
    run, version = register(registry, client, tmp_path, "1.0.7", job_id)
    # model_versions.rb + entities/ml/mlflow/model_version.rb: ``version`` is the model version's
    # database id, the semantic version comes back as its only alias and as the gitlab.version tag
    assert version.version.isdigit() and version.version != "1.0.7"
    assert version.aliases == ["1.0.7"] and version.tags == {"gitlab.version": "1.0.7"}
    assert version.run_id == run.info.run_id and version.status == "READY" and version.current_stage == "development"
    # api_helpers.rb find_model_version: get, update and alias take the SEMANTIC version
    assert client.get_model_version("sensor-model", "1.0.7").version == version.version
    with pytest.raises(MlflowException) as missing:
        client.get_model_version("sensor-model", version.version)
    assert missing.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    assert client.get_model_version_by_alias("sensor-model", "1.0.7").run_id == run.info.run_id
    client.update_model_version("sensor-model", "1.0.7", description="checked")
    assert client.get_model_version("sensor-model", "1.0.7").description == "checked"
    # the run keeps its data (entities/ml/mlflow/run.rb: data.metrics/params/tags); promoted, its
    # artifact_uri is the model version's package (run_info.rb model_version_uri)
    got = client.get_run(run.info.run_id)
    assert got.data.metrics == {"train_accuracy": 0.93} and got.data.params["C"] == "1.0"
    assert got.data.tags["gitlab.CI_JOB_ID"] == str(job_id) and got.info.run_name == "sensor-model 1.0.7"
    assert got.info.artifact_uri.endswith(f"/packages/ml_models/{version.version}/files/")
    # handle_candidate_gitlab_metadata_service.rb: the tag links the run to its job
    assert registry.state.run(registry.project.id, run.info.run_id).ci_job_id == job_id
    # get-download-uri: ``mlflow-artifacts:/<id>``; the documented load path ``models:/<name>/<id>``
    assert client.get_model_version_download_uri("sensor-model", version.version) == f"mlflow-artifacts:/{version.version}"
    import mlflow.artifacts

    local = Path(mlflow.artifacts.download_artifacts(f"models:/sensor-model/{version.version}",
                                                     dst_path=str(tmp_path / "dl"), tracking_uri=registry.uri))  # fmt: skip
    assert (local / "model" / "sub" / "model.pkl").read_bytes() == b"\x80\x04pickle"
    assert "GET /api/v4/projects/%d/ml/mlflow/api/3.0/mlflow/server-info" % registry.project.id in registry.state.refused


def test_model_versions_are_semantic_and_the_run_must_belong_to_the_model(registry, tmp_path):
    client = registry.client()
    job_id = train_job(registry)
    run, first = register(registry, client, tmp_path, "1.0.1", job_id)
    # create_model_version_service.rb: "Version must be semantic version" (Packages::SemVer)
    experiment = client.get_experiment_by_name("[model]sensor-model")
    loose = client.create_run(experiment.experiment_id)
    with pytest.raises(MlflowException) as bad:
        client.create_model_version("sensor-model", source="", run_id=loose.info.run_id, tags={"gitlab.version": "2"})
    assert bad.value.error_code == "INVALID_PARAMETER_VALUE" and "Version must be semantic version" in str(bad.value)
    # the run already backs 1.0.1
    with pytest.raises(MlflowException, match="Run has already a model version"):
        client.create_model_version("sensor-model", source="", run_id=run.info.run_id, tags={"gitlab.version": "1.0.2"})
    # a run in an experiment named like the model (not ``[model]<name>``) cannot be promoted
    plain = client.create_experiment("sensor-model")
    outsider = client.create_run(plain)
    with pytest.raises(MlflowException, match="Run's experiment does not belong to this model"):
        client.create_model_version("sensor-model", source="", run_id=outsider.info.run_id,
                                    tags={"gitlab.version": "1.0.2"})  # fmt: skip
    with pytest.raises(MlflowException, match="Run not found"):
        client.create_model_version("sensor-model", source="", run_id="no-such-run", tags={"gitlab.version": "1.0.2"})
    # nothing was left behind by the refusals (one transaction)
    assert [v.version for v in client.get_registered_model("sensor-model").latest_versions] == [first.version]
    # increment_version_service.rb: no version given -> the next MAJOR of the latest; a new run backs it
    auto = client.create_model_version("sensor-model", source="")
    assert auto.aliases == ["2.0.0"] and auto.run_id not in (run.info.run_id, loose.info.run_id)
    # get-latest-versions answers ONE version, the highest semantic version (stages ignored)
    client.create_model_version("sensor-model", source="", run_id=loose.info.run_id, tags={"gitlab.version": "1.5.0"})
    assert [v.aliases for v in client.get_latest_versions("sensor-model", stages=["Production"])] == [["2.0.0"]]
    # registered_model.rb: ``latest_versions`` lists every version
    assert len(client.get_registered_model("sensor-model").latest_versions) == 3


def test_what_gitlab_does_not_implement_is_an_error_for_the_client(registry, tmp_path):
    client = registry.client()
    _, version = register(registry, client, tmp_path, "1.0.0", train_job(registry))
    experiment_id = client.get_experiment_by_name("[model]sensor-model").experiment_id
    note = tmp_path / "note.txt"
    note.write_text("x")
    refusals = {
        "set alias": lambda: client.set_registered_model_alias("sensor-model", "production", version.version),
        "delete alias": lambda: client.delete_registered_model_alias("sensor-model", "production"),
        "transition stage": lambda: client.transition_model_version_stage("sensor-model", version.version, "Production"),
        "search versions": lambda: client.search_model_versions("name='sensor-model'"),
        "version tag": lambda: client.set_model_version_tag("sensor-model", version.version, "k", "v"),
        "logged model": lambda: client.create_logged_model(experiment_id),
        "upload through mlflow-artifacts": lambda: MlflowArtifactsRepository(
            f"mlflow-artifacts:/{version.version}", tracking_uri=registry.uri).log_artifact(str(note)),
    }
    for what, call in refusals.items():
        before = len(registry.state.refused)
        with pytest.raises((MlflowException, requests.HTTPError)):  # artifact repositories raise HTTPError
            call()
        assert len(registry.state.refused) > before, what  # the server's 404, not a client-side error
    # an alias is only ever the semantic version: "production" is no alias
    with pytest.raises(MlflowException) as missing:
        client.get_model_version_by_alias("sensor-model", "production")
    assert missing.value.error_code == "RESOURCE_DOES_NOT_EXIST"


def test_runs_search_one_experiment_ignoring_filters(registry):
    client = registry.client()
    experiment = client.create_experiment("sensors")
    runs = [client.create_run(experiment, run_name=n) for n in ("c", "a", "b")]
    for run, value in zip(runs, (0.3, 0.2, 0.6)):
        client.log_metric(run.info.run_id, "metric1", value)
    # runs.rb search: ``filter`` is not a declared param, every run comes back
    found = client.search_runs([experiment], filter_string="tags.hybridhub.pipeline_id = '999'")
    assert {r.info.run_name for r in found} == {"a", "b", "c"}
    # runs_spec.rb: ``order_by`` is a String param (the client's list is refused by Grape) ...
    with pytest.raises(MlflowException, match="order_by is invalid"):
        client.search_runs([experiment], order_by=["metrics.metric1 DESC"])
    # ... and as a string: by metric (desc by default), by name
    answer = registry.call("POST", "mlflow/runs/search",
                           json={"experiment_ids": [experiment], "order_by": "metrics.metric1"})  # fmt: skip
    assert [r["info"]["run_name"] for r in answer.json()["runs"]] == ["b", "c", "a"]
    answer = registry.call("POST", "mlflow/runs/search", json={"experiment_ids": [experiment], "order_by": "name ASC",
                                                       "max_results": 2})  # fmt: skip
    assert [r["info"]["run_name"] for r in answer.json()["runs"]] == ["a", "b"] and answer.json()["next_page_token"]
    assert registry.call("POST", "mlflow/runs/search", json={"experiment_ids": []}).status_code == 404


def test_params_and_tags_are_written_once(registry):
    client = registry.client()
    run = client.create_run(client.create_experiment("sensors"))
    client.log_param(run.info.run_id, "C", "1.0")
    client.set_tag(run.info.run_id, "hybridhub.gate", "passed")
    # runs_spec.rb: a second log-parameter / set-tag with the same key is a Bad Request ...
    with pytest.raises(MlflowException):
        client.log_param(run.info.run_id, "C", "2.0")
    with pytest.raises(MlflowException):
        client.set_tag(run.info.run_id, "hybridhub.gate", "failed")
    # ... and log-batch silently skips duplicates (insert_all)
    client.log_batch(run.info.run_id, params=[Param("C", "3.0")], tags=[RunTag("hybridhub.gate", "failed")])
    data = client.get_run(run.info.run_id).data
    assert data.params == {"C": "1.0"} and data.tags["hybridhub.gate"] == "passed"


def test_a_ci_job_id_must_name_a_job(registry):
    """handle_candidate_gitlab_metadata_service.rb raises ArgumentError for an unknown build: a 500."""
    client = registry.client()
    experiment = client.create_experiment("sensors")
    with pytest.raises(MlflowException):
        client.create_run(experiment, tags={"gitlab.CI_JOB_ID": "424242"})
    assert registry.gitlab.violations and "424242" in registry.gitlab.violations[0]
    registry.gitlab.violations.clear()
    assert client.search_runs([experiment]) == []


def test_scopes_and_roles(registry):
    """entrypoint.rb: ``read_api`` only for GET; api_helpers.rb: read Guest+ else 404, write
    Developer+ else 401 (project_policy.rb model_experiments / model_registry rules)."""
    assert registry.call("POST", "mlflow/experiments/create", "dev", json={"name": "e"}).status_code == 200
    read_only = registry.call("POST", "mlflow/experiments/create", "dev_read", json={"name": "f"})
    assert read_only.status_code == 403 and read_only.json()["error"] == "insufficient_scope"
    by_name = registry.call("GET", "mlflow/experiments/get-by-name", "dev_read", params={"experiment_name": "e"})
    assert by_name.status_code == 200 and by_name.json()["experiment"]["name"] == "e"
    # POST reads need ``api`` too (runs/search, get-latest-versions)
    assert registry.call("POST", "mlflow/runs/search", "dev_read", json={"experiment_ids": ["1"]}).status_code == 403
    assert registry.call("GET", "mlflow/experiments/get", "guest", params={"experiment_id": "1"}).status_code == 200
    refused = registry.call("POST", "mlflow/registered-models/create", "reporter", json={"name": "m"})
    assert refused.status_code == 401 and refused.json() == {"message": "401 Unauthorized"}
    assert registry.call("GET", "mlflow/experiments/get", "outsider", params={"experiment_id": "1"}).json() == {
        "message": "404 Project Not Found"}
    assert requests.get(f"{registry.uri}/api/2.0/mlflow/experiments/get").json() == {"message": "401 Unauthorized"}
    missing = registry.call("GET", "mlflow/experiments/get", params={"experiment_id": "99"})
    assert missing.status_code == 404 and missing.json() == {"error_code": "RESOURCE_DOES_NOT_EXIST"}
    again = registry.call("POST", "mlflow/experiments/create", json={"name": "e"})
    assert again.status_code == 400 and again.json() == {"error_code": "RESOURCE_ALREADY_EXISTS"}


def test_model_files_need_developer_to_upload_and_reporter_to_read(registry, tmp_path):
    """ml_model_packages.rb: PUT authorize_upload! (Developer+), GET authorize_read_package! (Reporter+)."""
    client = registry.client()
    _, version = register(registry, client, tmp_path, "1.0.0", train_job(registry))
    base = f"{registry.gitlab.url}/api/v4/projects/{registry.project.id}/packages/ml_models/{version.version}/files"

    def as_(who):
        return {"Authorization": f"Bearer {registry.tokens[who]}"}

    assert requests.get(f"{base}/model/MLmodel", headers=as_("reporter")).content == b"flavors: {}\n"
    assert requests.get(f"{base}/model/MLmodel", headers=as_("guest")).status_code == 403
    assert requests.put(f"{base}/extra.txt", data=b"x", headers=as_("reporter")).status_code == 403
    created = requests.put(f"{base}/extra.txt", data=b"x", headers=as_("dev"))
    assert created.status_code == 201 and created.json() == {"message": "201 Created"}
    assert requests.get(f"{base}/nope.txt", headers=as_("dev")).json() == {"message": "404 Not found"}
    # mlflow_artifacts/artifacts.rb: a listing of the package (files only), a sub path lists nothing
    listing = registry.call("GET", "mlflow-artifacts/artifacts", params={"path": version.version}).json()
    assert {f["path"] for f in listing["files"]} == {"model/MLmodel", "model/sub/model.pkl", "extra.txt"}
    assert registry.call("GET", "mlflow-artifacts/artifacts", params={"path": f"{version.version}/model"}).json() == {
        "files": []}


def test_registered_models_search_update_and_delete(registry, tmp_path):
    client = registry.client()
    run, version = register(registry, client, tmp_path, "1.0.0", train_job(registry))
    client.create_registered_model("other-model")
    # create_model_service.rb: the model's experiment exists, so the name is taken twice over
    with pytest.raises(MlflowException) as taken:
        client.create_registered_model("other-model")
    assert taken.value.error_code == "RESOURCE_ALREADY_EXISTS"
    # registered_models.rb search: only name='…' filters, quotes stripped; name ASC by default
    search = "mlflow/registered-models/search"
    assert [m["name"] for m in registry.call("GET", search).json()["registered_models"]] == ["other-model",
                                                                                             "sensor-model"]  # fmt: skip
    found = registry.call("GET", search, params={"filter": "name='sensor-model'"}).json()["registered_models"]
    assert [m["name"] for m in found] == ["sensor-model"]
    assert registry.call("GET", search, params={"filter": "tags.team='ml'"}).json()["error_code"] == "INVALID_PARAMETER_VALUE"
    # MLflow 3's client adds a prompt filter (mlflow/prompt/registry_utils.py add_prompt_filter_string)
    # that GitLab cannot parse: without a filter it is refused, with a name it finds nothing
    with pytest.raises(MlflowException) as bad:
        client.search_registered_models()
    assert bad.value.error_code == "INVALID_PARAMETER_VALUE"
    assert list(client.search_registered_models("name='sensor-model'")) == []
    client.update_registered_model("sensor-model", description="Predicts failures of pumps")
    assert client.get_registered_model("sensor-model").description == "Predicts failures of pumps"
    # runs.rb delete: a run that backs a model version stays
    with pytest.raises(MlflowException, match="Cannot delete a candidate associated to a model version"):
        client.delete_run(run.info.run_id)
    client.delete_registered_model("sensor-model")
    with pytest.raises(MlflowException) as gone:
        client.get_model_version("sensor-model", "1.0.0")
    assert gone.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    assert [m["name"] for m in registry.call("GET", search).json()["registered_models"]] == ["other-model"]


def test_experiments_and_the_latest_metric(registry):
    client = registry.client()
    first = client.create_experiment("sensors", tags={"team": "ml"})
    client.create_experiment("pumps")
    # experiments.rb search: created_at DESC by default; entity experiment.rb (iid as experiment_id)
    assert [e.name for e in client.search_experiments()] == ["pumps", "sensors"]
    got = client.get_experiment(first)
    assert got.experiment_id == first == "1" and got.tags == {"team": "ml"} and got.lifecycle_stage == "active"
    # entities/ml/mlflow/run.rb: data.metrics are the latest value of each key
    run = client.create_run(first)
    for step, value in enumerate((0.5, 0.7, 0.6)):
        client.log_metric(run.info.run_id, "loss", value, step=step)
    assert client.get_run(run.info.run_id).data.metrics == {"loss": 0.6}
    # runs.rb update: the status and end time; a status MLflow does not know is refused
    client.set_terminated(run.info.run_id, "FINISHED")
    assert client.get_run(run.info.run_id).info.status == "FINISHED"
    assert registry.call("POST", "mlflow/runs/update", json={"run_id": run.info.run_id, "status": "DONE"}).status_code == 400
