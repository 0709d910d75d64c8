"""The same flow against the GitLab stand-in (tests/gitlab_standin: its MLflow API subset,
environments and deployments, CI): the registry is the project's GitLab registry reached with the
user's own token, production is the environment's deployments, promote plays the version's deploy
job, rollback retries the earlier deployment's job, reproduce tags the commit and runs a pipeline.

The test is the runner (tests/models/gitlab_flow.py: each job's script, for real, with GitLab's
predefined variables; the build pushes the model image, the deploy swaps it in on the serving
machine and the version that answers on SERVE_PORT is checked after each deploy); the REST-level
run of the same flow is test_models_gitlab_rest.py.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import threading
from pathlib import Path
from types import SimpleNamespace

import pytest

from hybridhub.lab_ext.models.errors import ModelsError
from hybridhub.lab_ext.models.service import ModelsConfig, ModelsService
from hybridhub.lab_ext.pipelines.service import PipelinesConfig, PipelinesService
from tests.gitlab_standin.state import MAINTAINER
from tests.models.gitlab_flow import MODEL, PROJECT, gitlab_world, variables

pytestmark = [pytest.mark.models, pytest.mark.gitlab, pytest.mark.timeout(600)]


def make_service(standin, token: str, root: Path) -> ModelsService:
    home = SimpleNamespace(gitlab_url=standin.url, gitlab_token=token, gitlab_ca_bundle="", gitlab_token_source=None)
    pipelines = PipelinesService(str(root), PipelinesConfig(backend="gitlab"), code_home=home)
    return ModelsService(ModelsConfig(tracking_uri=""), pipelines)


@pytest.fixture(scope="module")
def flow(tmp_path_factory):
    with gitlab_world(tmp_path_factory.mktemp("models-gitlab")) as world:
        yield world


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
        assert runner.run(first, "deploy") == "success", runner.logs
        assert runner.served() == v1
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
        assert runner.served() == v2  # swapped in on the serving machine, through SERVE_PORT
        # a deploy under way refuses another one
        again = await service.promote(PROJECT, MODEL, v1)  # re-deploy the first: its finished job is retried
        deploying = threading.Thread(target=runner.run, args=(first, "deploy"))
        deploying.start()
        while ci.job(first, "deploy").status != "running":
            await asyncio.sleep(0.05)
        with pytest.raises(ModelsError) as info:
            await service.promote(PROJECT, MODEL, v2)
        assert info.value.reason == "deploy_in_progress"
        await asyncio.to_thread(deploying.join, 200)
        assert again["pipeline_id"] == first.id and ci.job(first, "deploy").status == "success", runner.logs
        assert (await service.versions(PROJECT, MODEL))["production"]["version"] == v1 and runner.served() == v1
        # roll back: the version of the previous successful deployment (the second), its job retried
        rolled = await service.rollback(PROJECT, MODEL)
        assert rolled["pipeline_id"] == second.id and rolled["version"] == v2
        retried = ci.job(second, "deploy")
        assert retried.id == rolled["job_id"] and retried.status == "pending"  # a new job: GitLab's Re-deploy
        assert runner.run(second, "deploy") == "success"
        production = (await service.versions(PROJECT, MODEL))["production"]
        assert production["version"] == v2 and runner.served() == v2
        # and back to the first by name
        rolled = await service.rollback(PROJECT, MODEL, v1)
        assert rolled["pipeline_id"] == first.id
        assert runner.run(first, "deploy") == "success"
        assert (await service.versions(PROJECT, MODEL))["production"]["version"] == v1 and runner.served() == v1
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
        await refuse_an_outdated_deploy(flow, dev, backend, good)
    finally:
        await dev.pipelines.close()
        await reporter.pipelines.close()


async def refuse_an_outdated_deploy(flow, dev: ModelsService, backend, older) -> None:
    """"Prevent outdated deployment jobs" (doc/ci/environments/deployment_safety.md; gitlabhq
    app/models/concerns/ci/deployable.rb has_outdated_deployment?): once a newer pipeline's deploy
    succeeded, the never-played deploy job of ``older`` would fail, so Promote refuses it before
    playing anything. The setting is shown to Maintainers only (lib/api/entities/project.rb): a
    Developer is held to GitLab's default (on); a Maintainer who turned it off may promote."""
    ci, runner, base = flow.ci, flow.runner, flow.base
    # a newer commit on main (the same commit is never outdated: Deployment#older_than_last_successful_deployment?)
    for args in (["commit", "-q", "--allow-empty", "-m", "newer"], ["push", "-q", "origin", "main"]):
        subprocess.run(["git", "-c", "user.name=F", "-c", "user.email=f@e", *args], cwd=base / "seed", check=True,
                       capture_output=True, env={**os.environ, "STANDIN_ACCESS_LEVEL": "50"})  # fmt: skip
    newer = ci.pipelines[(await backend.create(PROJECT, "main", variables(base / "train.csv", base / "test.csv"), None))["id"]]
    assert runner.pipeline(newer)["build"] == "success"
    await dev.promote(PROJECT, MODEL, f"1.0.{newer.id}")
    assert runner.run(newer, "deploy") == "success"
    assert runner.served() == f"1.0.{newer.id}"
    old = f"1.0.{older.id}"
    listed = await dev.versions(PROJECT, MODEL)
    states = {v["version"]: v["deploy"] for v in listed["versions"]}
    assert listed["production"]["version"] == f"1.0.{newer.id}" and states[f"1.0.{newer.id}"]["allowed"] is True
    assert states[old] == {"allowed": False, "reason": "outdated_deployment"}
    with pytest.raises(ModelsError) as info:
        await dev.promote(PROJECT, MODEL, old)
    assert info.value.reason == "outdated_deployment" and f"older than 1.0.{newer.id}, in production" in info.value.details
    assert ci.job(older, "deploy").status == "manual"  # nothing played
    flow.project.ci_forward_deployment_enabled = False
    maintainer = flow.standin.world.add_user("maintainer")
    flow.project.members[maintainer.id] = MAINTAINER
    boss = make_service(flow.standin, flow.standin.world.issue(maintainer, ["api"]).value, base)
    try:
        with pytest.raises(ModelsError) as info:  # the Developer cannot see the setting: GitLab's default
            await dev.promote(PROJECT, MODEL, old)
        assert info.value.reason == "outdated_deployment"
        assert {v["version"]: v["deploy"] for v in (await boss.versions(PROJECT, MODEL))["versions"]}[old]["allowed"] is True
        promoted = await boss.promote(PROJECT, MODEL, old)
        assert promoted["pipeline_id"] == older.id and ci.job(older, "deploy").status == "pending"
        assert runner.run(older, "deploy") == "success"  # GitLab runs it too: the setting is off
        assert (await dev.versions(PROJECT, MODEL))["production"]["version"] == old and runner.served() == old
    finally:
        flow.project.ci_forward_deployment_enabled = True
        await boss.pipelines.close()
