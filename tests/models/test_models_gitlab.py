"""The same flow against the GitLab stand-in (tests/gitlab_standin: its MLflow API subset,
environments and deployments, CI): the registry is the project's GitLab registry reached with the
user's own token, production is the environment's deployments, promote plays the version's deploy
job, rollback retries the earlier deployment's job, reproduce tags the commit and runs a pipeline.

The test is the runner (tests/gitlab_standin/ci_state.py): it runs each job's ``script`` lines
from the template's .gitlab-ci.yml for real in a checkout at the pipeline's commit, with GitLab's
predefined variables (doc/ci/variables/predefined_variables.md) and the registry at
``${CI_SERVER_URL}/api/v4/projects/${CI_PROJECT_ID}/ml/mlflow`` with MLFLOW_TRACKING_TOKEN as a
masked project variable would give it. The stand-in has no container registry: the build job runs
the way a local run does (image context digest, ``built: false``; never a pretended image), and the
deploy job's on-prem container swap is not run here (the serving swap is the local flow's test).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from hybridhub.hub_ext.demo.sample_data import sensor_csv
from hybridhub.lab_ext.models.errors import ModelsError
from hybridhub.lab_ext.models.service import ModelsConfig, ModelsService
from hybridhub.lab_ext.pipelines import ci_file
from hybridhub.lab_ext.pipelines.service import PipelinesConfig, PipelinesService
from tests.gitlab_standin import GitLabStandIn
from tests.gitlab_standin.environments import install as install_environments
from tests.gitlab_standin.mlflow import install as install_mlflow
from tests.gitlab_standin.pipelines import install as install_ci
from tests.gitlab_standin.state import DEVELOPER, MAINTAINER, REPORTER
from tests.pipelines.conftest import push_template

pytestmark = [pytest.mark.models, pytest.mark.gitlab, pytest.mark.timeout(600)]
PROJECT = "ml-team/sensors"
MODEL = "sensor-failure"


class Runner:
    """The stand-in's runner: each job's script, for real, in a checkout at the pipeline's commit."""

    def __init__(self, standin, ci, project, token: str, work: Path) -> None:
        self.standin, self.ci, self.project, self.token, self.work = standin, ci, project, token, work
        self.logs: dict[int, str] = {}

    def checkout(self, record) -> Path:
        folder = self.work / f"p{record.id}"
        if not folder.exists():
            subprocess.run(["git", "clone", "-q", str(self.project.repo), str(folder)], check=True, capture_output=True)
            subprocess.run(["git", "checkout", "-q", "--detach", record.sha], cwd=folder, check=True, capture_output=True)
        return folder

    def env(self, record, job, folder: Path, data: dict) -> dict:
        predefined = {  # doc/ci/variables/predefined_variables.md
            "CI": "true", "GITLAB_CI": "true", "CI_SERVER_URL": self.standin.url, "CI_PROJECT_ID": str(self.project.id),
            "CI_PROJECT_PATH": PROJECT, "CI_PROJECT_DIR": str(folder), "CI_JOB_ID": str(job.id),
            "CI_JOB_NAME": job.name, "CI_PIPELINE_ID": str(record.id), "CI_COMMIT_SHA": record.sha,
            "CI_COMMIT_REF_NAME": record.ref,
        }  # fmt: skip
        values = {v["key"]: v["value"] for v in ci_file.variables(data)}
        values.update({v["key"]: v["value"] for v in record.variables})
        values = {k: ci_file.expand(v, {**predefined, **values}) for k, v in values.items()}
        keep = {k: os.environ[k] for k in ("PATH", "HOME", "LANG", "TMPDIR") if k in os.environ}
        return {**keep, **values, **predefined, "MLFLOW_TRACKING_TOKEN": self.token, "HYBRIDHUB_PYTHON": sys.executable}

    def run(self, record, name: str) -> str:
        """Run the job to its end; its status is the scripts' result."""
        job = self.ci.job(record, name)
        folder = self.checkout(record)
        data = ci_file.load((folder / ".gitlab-ci.yml").read_text())
        env = self.env(record, job, folder, data)
        self.ci.start(job)
        if name == "build":  # no container registry here: the image context is checked, no image claimed
            env.update(HYBRIDHUB_LOCAL_RUN="true", HYBRIDHUB_MLFLOW_TRACKING_URI=env["MLFLOW_TRACKING_URI"])
        scripts = [] if name == "deploy" else data[name]["script"]
        status, log = "success", []
        for line in scripts:
            done = subprocess.run(["sh", "-c", line], cwd=folder, env=env, capture_output=True, text=True, timeout=300)
            log.append(done.stdout + done.stderr)
            if done.returncode:
                status = "failed"
                break
        self.logs[job.id] = "".join(log)
        self.ci.finish(job, status)
        return status

    def pipeline(self, record, stages=("train", "test", "build")) -> dict[str, str]:
        results = {}
        for name in stages:
            results[name] = self.run(record, name)
            if results[name] != "success":
                break
        return results


def variables(train: Path, test: Path, **extra) -> list[dict]:
    values = {"DATA_URI": str(train), "TEST_DATA_URI": str(test), "MAX_ITER": "200", **extra}
    return [{"key": k, "value": v} for k, v in values.items()]


def make_service(standin, token: str, root: Path) -> ModelsService:
    home = SimpleNamespace(gitlab_url=standin.url, gitlab_token=token, gitlab_ca_bundle="", gitlab_token_source=None)
    pipelines = PipelinesService(str(root), PipelinesConfig(backend="gitlab"), code_home=home)
    return ModelsService(ModelsConfig(tracking_uri=""), pipelines)


@pytest.fixture(scope="module")
def flow(tmp_path_factory):
    base = tmp_path_factory.mktemp("models-gitlab")
    standin = GitLabStandIn(base / "gitlab").start()
    try:
        ci = install_ci(standin)
        install_environments(standin)
        install_mlflow(standin)
        w = standin.world
        users = {n: w.add_user(n) for n in ("dev", "reporter")}
        project = w.add_project("ml-team", "sensors", {users["dev"]: DEVELOPER, users["reporter"]: REPORTER})
        push_template(project.repo, base / "seed")
        project.protect("main", push=MAINTAINER, merge=DEVELOPER)
        tokens = {n: w.issue(u, ["api"]).value for n, u in users.items()}
        for name, rows, seed in (("train.csv", 2000, 1), ("test.csv", 500, 2), ("train-changed.csv", 2400, 7)):
            (base / name).write_bytes(sensor_csv(rows, seed=seed))
        yield SimpleNamespace(standin=standin, ci=ci, project=project, tokens=tokens, base=base,
                              runner=Runner(standin, ci, project, tokens["dev"], base / "runner"))  # fmt: skip
    finally:
        standin.stop()
    assert standin.violations == [], standin.violations


async def test_promote_rollback_and_reproduce_through_gitlab(flow):
    service = make_service(flow.standin, flow.tokens["dev"], flow.base)
    backend = service.pipelines.backend(None)
    ci, runner, base = flow.ci, flow.runner, flow.base
    try:
        assert service.describe()["registry"] == "gitlab" and service.describe()["backend"] == "gitlab"
        # the first pipeline registers its version in the project's GitLab registry
        first = ci.pipelines[(await backend.create(PROJECT, "main", variables(base / "train.csv", base / "test.csv"), None))["id"]]
        assert runner.pipeline(first) == {"train": "success", "test": "success", "build": "success"}, runner.logs
        v1 = f"1.0.{first.id}"
        listed = await service.versions(PROJECT, MODEL)
        assert [v["version"] for v in listed["versions"]] == [v1] and listed["production"] is None
        assert listed["versions"][0]["gate"]["passed"] is True and listed["versions"][0]["commit"] == first.sha
        # promote = play the deploy job of that version's pipeline; the deployment follows the job
        promoted = await service.promote(PROJECT, MODEL, v1)
        deploy_job = ci.job(first, "deploy")
        assert promoted["pipeline_id"] == first.id and promoted["job_id"] == deploy_job.id and deploy_job.status == "pending"
        assert runner.run(first, "deploy") == "success"
        listed = await service.versions(PROJECT, MODEL)
        assert listed["production"]["version"] == v1 and listed["versions"][0]["serving"] is True
        lineage = await service.lineage(PROJECT, MODEL, v1)
        web = f"{flow.standin.url}/{PROJECT}"
        assert lineage["links"]["commit"] == f"{web}/-/commit/{first.sha}"
        assert lineage["links"]["pipeline"] == f"{web}/-/pipelines/{first.id}"
        assert lineage["jobs"]["train"] == ci.job(first, "train").id and lineage["links"]["jobs"]["train"].endswith(
            f"/-/jobs/{ci.job(first, 'train').id}")
        assert [d["status"] for d in lineage["deployments"]] == ["success"]
        assert lineage["data"]["train"]["uri"].endswith("train.csv") and lineage["reproducibility"] == "weaker"
        # a second version on changed data, promoted
        second = ci.pipelines[(await backend.create(PROJECT, "main", variables(base / "train-changed.csv", base / "test.csv"), None))["id"]]
        assert runner.pipeline(second)["build"] == "success"
        v2 = f"1.0.{second.id}"
        await service.promote(PROJECT, MODEL, v2)
        assert runner.run(second, "deploy") == "success"
        assert (await service.versions(PROJECT, MODEL))["production"]["version"] == v2
        # a deploy under way refuses another one
        again = await service.promote(PROJECT, MODEL, v1)  # re-deploy the first: its finished job is retried
        ci.start(ci.job(first, "deploy"))
        with pytest.raises(ModelsError) as info:
            await service.promote(PROJECT, MODEL, v2)
        assert info.value.reason == "deploy_in_progress"
        ci.finish(ci.job(first, "deploy"), "success")
        assert again["pipeline_id"] == first.id
        assert (await service.versions(PROJECT, MODEL))["production"]["version"] == v1
        # roll back: the version of the previous successful deployment (the second), its job retried
        rolled = await service.rollback(PROJECT, MODEL)
        assert rolled["pipeline_id"] == second.id and rolled["version"] == v2
        retried = ci.job(second, "deploy")
        assert retried.id == rolled["job_id"] and retried.status == "pending"  # a new job: GitLab's Re-deploy
        assert runner.run(second, "deploy") == "success"
        production = (await service.versions(PROJECT, MODEL))["production"]
        assert production["version"] == v2
        # and back to the first by name
        rolled = await service.rollback(PROJECT, MODEL, v1)
        assert rolled["pipeline_id"] == first.id
        assert runner.run(first, "deploy") == "success"
        assert (await service.versions(PROJECT, MODEL))["production"]["version"] == v1
        # reproduce the first: a tag at its commit, a pipeline on it with the data it read and REPRODUCES_VERSION
        reproduced = await service.reproduce(PROJECT, MODEL, v1)
        record = ci.pipelines[reproduced["pipeline"]["id"]]
        assert record.ref == f"reproduce-{v1}-1" and record.sha == first.sha
        given = {v["key"]: v["value"] for v in record.variables}
        assert given["REPRODUCES_VERSION"] == v1 and given["DATA_URI"] == str(base / "train.csv")
        assert runner.pipeline(record, ("train", "test")) == {"train": "success", "test": "success"}, runner.logs
        lineage = await service.lineage(PROJECT, MODEL, v1)
        (copy,) = lineage["reproduced_by"]
        assert copy["version"] == f"1.0.{record.id}" and copy["same_metrics"] is True
        # a second reproduce takes the next tag name
        assert ci.pipelines[(await service.reproduce(PROJECT, MODEL, v1))["pipeline"]["id"]].ref == f"reproduce-{v1}-2"
    finally:
        await service.pipelines.close()


async def test_gitlab_refusals(flow):
    """A failed gate is refused before any job is touched; a Reporter may not deploy (GitLab refuses the play)."""
    ci, runner, base = flow.ci, flow.runner, flow.base
    dev = make_service(flow.standin, flow.tokens["dev"], base)
    reporter = make_service(flow.standin, flow.tokens["reporter"], base)
    try:
        backend = dev.pipelines.backend(None)
        strict = variables(base / "train.csv", base / "test.csv", MIN_ACCURACY="0.9999")
        failed = ci.pipelines[(await backend.create(PROJECT, "main", strict, None))["id"]]
        assert runner.pipeline(failed)["test"] == "failed"
        with pytest.raises(ModelsError) as info:
            await dev.promote(PROJECT, MODEL, f"1.0.{failed.id}")
        assert info.value.reason == "gate_failed" and "0.9999" in info.value.details
        assert ci.job(failed, "deploy").status in ("skipped", "created", "manual")  # untouched
        good = ci.pipelines[(await backend.create(PROJECT, "main", variables(base / "train.csv", base / "test.csv"), None))["id"]]
        assert runner.pipeline(good)["build"] == "success"
        with pytest.raises(ModelsError) as info:
            await reporter.promote(PROJECT, MODEL, f"1.0.{good.id}")
        assert info.value.reason == "deploy_not_allowed"
        assert ci.job(good, "deploy").status == "manual"
        with pytest.raises(ModelsError) as info:
            await dev.lineage(PROJECT, MODEL, "4.4.4")
        assert info.value.reason == "no_such_version"
    finally:
        await dev.pipelines.close()
        await reporter.pipelines.close()
