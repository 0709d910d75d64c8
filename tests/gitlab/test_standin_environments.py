"""The GitLab stand-in's environments, deployments and tag creation, driven by python-gitlab (the
client the Models panel uses) while the test plays the runner (tests/gitlab_standin/ci_state.py).

Each behaviour names its gitlabhq source: lib/gitlab/ci/pipeline/seed/{environment,deployment}.rb,
app/models/concerns/ci/deployable.rb, app/models/deployment.rb, app/models/environment.rb,
app/services/ci/retry_job_service.rb, app/finders/deployments_finder.rb, lib/api/{environments,
deployments,tags}.rb, lib/api/entities/{environment,environment_basic,deployment}.rb,
app/services/tags/create_service.rb, app/policies/project_policy.rb + ci/build_policy.rb,
doc/api/deployments.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

import gitlab as python_gitlab
import pytest

from tests.gitlab_standin import GitLabStandIn
from tests.gitlab_standin.environments import install as install_environments
from tests.gitlab_standin.pipelines import install as install_ci
from tests.gitlab_standin.state import DEVELOPER, GUEST, MAINTAINER, REPORTER

from .conftest import git, seed

pytestmark = [pytest.mark.gitlab, pytest.mark.models]
CI = """stages: [train, deploy]
train:
  stage: train
  script: [python ml/train.py]
deploy:
  stage: deploy
  when: manual
  environment: production
  script: [./deploy.sh]
"""


@dataclass
class Env:
    gitlab: GitLabStandIn
    project: object
    ci: object
    envs: object
    tokens: dict
    work: object

    def api(self, who: str = "maint"):
        """python-gitlab's project, as ``who``."""
        gl = python_gitlab.Gitlab(self.gitlab.url, oauth_token=self.tokens[who], retry_transient_errors=False)
        return gl.projects.get(self.project.id, lazy=True)

    def run_pipeline(self, who: str = "maint", ref: str = "main"):
        """A pipeline whose train job succeeds; its deploy job waits (manual)."""
        pipeline = self.api(who).pipelines.create({"ref": ref})
        record = self.ci.pipelines[pipeline.id]
        train = self.ci.job(record, "train")
        self.ci.start(train)
        self.ci.finish(train, "success")
        return record

    def deploy(self, record, who: str = "maint", status: str = "success"):
        """Play the pipeline's deploy job (``who``), then run it to ``status``."""
        job = self.ci.job(record, "deploy")
        self.api(who).jobs.get(job.id, lazy=True).play()
        self.ci.start(job)
        self.ci.finish(job, status)
        return job


@pytest.fixture
def env(tmp_path):
    standin = GitLabStandIn(tmp_path / "gitlab").start()
    try:
        ci = install_ci(standin)
        envs = install_environments(standin)
        w = standin.world
        users = {n: w.add_user(n) for n in ("dev", "maint", "reporter", "guest")}
        project = w.add_project("ml-team", "sensors", {users["dev"]: DEVELOPER, users["maint"]: MAINTAINER,
                                                       users["reporter"]: REPORTER, users["guest"]: GUEST})  # fmt: skip
        seed(project.repo, tmp_path, {".gitlab-ci.yml": CI})
        tokens = {n: w.issue(u, ["api"]).value for n, u in users.items()}
        yield Env(standin, project, ci, envs, tokens, tmp_path / f"seed-{project.repo.name}")
    finally:
        standin.stop()
    assert standin.violations == [], standin.violations


def test_a_pipeline_creates_the_environment_and_a_waiting_deployment(env):
    api = env.api()
    assert api.environments.list() == []
    record = env.run_pipeline()
    # seed/environment.rb + seed/deployment.rb: both exist once the pipeline is created
    [production] = api.environments.list()
    assert production.name == "production" and production.tier == "production" and production.state == "available"
    [waiting] = api.deployments.list(environment="production")
    deploy_job = env.ci.job(record, "deploy")
    assert waiting.status == "created" and waiting.sha == record.sha and waiting.ref == "main"
    # entities/deployment.rb: ``deployable`` is the job, with its pipeline
    assert waiting.deployable["id"] == deploy_job.id and waiting.deployable["pipeline"]["id"] == record.id
    assert waiting.deployable["status"] == "manual" and waiting.environment["name"] == "production"
    # environment.rb last_deployment: only a successful one
    assert api.environments.get(production.id).last_deployment is None


def test_the_deployment_follows_its_job(env):
    api = env.api()
    record = env.run_pipeline()
    job = env.ci.job(record, "deploy")
    api.jobs.get(job.id, lazy=True).play()
    assert api.deployments.list()[0].status == "created"  # pending: not running yet
    env.ci.start(job)
    assert api.deployments.list()[0].status == "running"
    env.ci.finish(job, "success")
    [done] = api.deployments.list()
    assert done.status == "success" and done.deployable["status"] == "success"
    production = api.environments.get(done.environment["id"])
    assert production.last_deployment["id"] == done.id and "environment" not in production.last_deployment
    # a failed deployment is listed but production stays on the last successful one
    second = env.run_pipeline()
    env.deploy(second, status="failed")
    assert [d.status for d in api.deployments.list(order_by="id", sort="desc")] == ["failed", "success"]
    assert api.environments.get(production.id).last_deployment["id"] == done.id


def test_redeploying_an_earlier_job_is_a_new_deployment(env):
    """retry_job_service.rb: a retried job is a new job, with a new deployment (the rollback)."""
    api = env.api()
    first, second = env.run_pipeline(), env.run_pipeline()
    first_job = env.deploy(first)
    env.deploy(second)
    retried = api.jobs.get(first_job.id, lazy=True).retry()
    assert retried["id"] != first_job.id
    newest = api.deployments.list(environment="production", order_by="id", sort="desc")
    assert [d.deployable["pipeline"]["id"] for d in newest] == [first.id, second.id, first.id]
    assert newest[0].status == "created" and newest[0].deployable["id"] == retried["id"]
    fresh = env.ci.jobs[retried["id"]]
    env.ci.start(fresh)
    env.ci.finish(fresh, "success")
    production = api.environments.list(name="production")[0]
    assert api.environments.get(production.id).last_deployment["deployable"]["pipeline"]["id"] == first.id


def test_production_is_the_successful_deployment_that_finished_last(env):
    """app/models/environment.rb ``has_one :last_deployment, -> { success.ordered }`` and
    app/models/deployment.rb ``scope :ordered, -> { order(finished_at: :desc) }``: an older
    deployment that finishes after a newer one is what the environment serves."""
    api = env.api()
    first, second = env.run_pipeline(), env.run_pipeline()
    older, newer = env.ci.job(first, "deploy"), env.ci.job(second, "deploy")
    for job in (older, newer):
        api.jobs.get(job.id, lazy=True).play()
        env.ci.start(job)
    env.ci.finish(newer, "success")
    env.ci.finish(older, "success")
    production = api.environments.list(name="production")[0]
    last = api.environments.get(production.id).last_deployment
    assert last["deployable"]["pipeline"]["id"] == first.id
    assert [d.deployable["pipeline"]["id"] for d in api.deployments.list(order_by="id", sort="desc")] == [second.id, first.id]


def test_who_deployed_is_the_jobs_user(env):
    """deployment.rb ``deployed_by``: the deployable's user (playing changes the job's user only)."""
    env.project.protect("main", push=MAINTAINER, merge=DEVELOPER)  # developers may run main's jobs
    record = env.run_pipeline("maint")
    env.deploy(record, who="dev")
    [deployment] = env.api().deployments.list()
    assert deployment.user["username"] == "maint" and deployment.deployable["user"]["username"] == "dev"


def test_playing_a_deploy_job_needs_developer_and_the_ref(env):
    """build_policy.rb: update_build is Developer+, and prevented on a protected ref the user may
    neither push nor merge to (main is fully protected here); protected environments are Premium."""
    record = env.run_pipeline()
    job = env.ci.job(record, "deploy")
    for who in ("reporter", "dev"):
        with pytest.raises(python_gitlab.GitlabJobPlayError) as refused:
            env.api(who).jobs.get(job.id, lazy=True).play()
        assert refused.value.response_code == 403
    env.project.protect("main", push=MAINTAINER, merge=DEVELOPER)
    env.api("dev").jobs.get(job.id, lazy=True).play()
    assert env.ci.jobs[job.id].status == "pending"


def test_reading_environments_needs_reporter(env):
    env.run_pipeline()
    assert len(env.api("reporter").deployments.list()) == 1
    for listing in (lambda api: api.deployments.list(), lambda api: api.environments.list()):
        with pytest.raises(python_gitlab.GitlabListError) as refused:
            listing(env.api("guest"))
        assert refused.value.response_code == 403


def test_deployment_filters_and_their_refusals(env):
    """deployments_finder.rb: filters, orders, and the InefficientQueryError 400s."""
    api = env.api()
    first = env.run_pipeline()
    env.deploy(first)
    second = env.run_pipeline()
    env.deploy(second, status="failed")
    assert [d.deployable["pipeline"]["id"] for d in api.deployments.list(status="success")] == [first.id]
    ascending = [d.id for d in api.deployments.list()]  # order_by id, sort asc: the defaults
    assert ascending == [d.id for d in reversed(api.deployments.list(sort="desc"))] and ascending[0] < ascending[1]
    now = datetime.now(timezone.utc).isoformat()
    assert api.deployments.list(updated_after=now) == []
    assert len(api.deployments.list(updated_before=now)) == 2
    assert len(api.deployments.list(finished_before=now, order_by="finished_at", status="success")) == 1
    refusals = {
        "`finished_at` filter and `finished_at` sorting must be paired": {"order_by": "finished_at"},
        "`finished_at` filter must be combined with `success` status filter.": {"finished_before": now,
                                                                               "order_by": "finished_at"},
        "Both `updated_at` filter and `finished_at` filter can not be specified": {
            "updated_after": now, "finished_after": now, "order_by": "finished_at", "status": "success"},
        "status does not have a valid value": {"status": "deployed"},
    }  # fmt: skip
    for message, query in refusals.items():
        with pytest.raises(python_gitlab.GitlabListError) as refused:
            api.deployments.list(**query)
        assert refused.value.response_code == 400 and message in str(refused.value), message
    with pytest.raises(python_gitlab.GitlabGetError) as missing:
        api.deployments.get(999999)
    assert missing.value.response_code == 404


def commit(env: Env, text: str) -> str:
    """A new commit on main (pushed as the owner through the file system)."""
    (env.work / "CHANGES").write_text(text + "\n")
    git(env.work, "add", "CHANGES")
    git(env.work, "commit", "-q", "-m", text)
    git(env.work, "push", "-q", "origin", "main")
    return git(env.work, "rev-parse", "HEAD").strip()


def test_tags_are_created_by_developers_for_a_pipeline_at_a_commit(env):
    """tags.rb: admin_tag (Developer+); Tags::CreateService's messages; a pipeline may run on the tag."""
    first_sha = git(env.work, "rev-parse", "HEAD").strip()
    commit(env, "later")
    api = env.api("dev")
    tag = api.tags.create({"tag_name": "reproduce-1.0.3-1", "ref": first_sha})
    assert tag.name == "reproduce-1.0.3-1" and tag.commit["id"] == first_sha
    for body, message in (({"tag_name": "reproduce-1.0.3-1", "ref": "main"}, "Tag reproduce-1.0.3-1 already exists"),
                          ({"tag_name": "x", "ref": "nope"}, "Target nope is invalid"),
                          ({"tag_name": "bad..name", "ref": "main"}, "Tag name invalid")):  # fmt: skip
        with pytest.raises(python_gitlab.GitlabCreateError) as refused:
            api.tags.create(body)
        assert refused.value.response_code == 400 and message in str(refused.value)
    with pytest.raises(python_gitlab.GitlabCreateError) as forbidden:
        env.api("reporter").tags.create({"tag_name": "r", "ref": "main"})
    assert forbidden.value.response_code == 403
    api.tags.create({"tag_name": "reproduce-1.0.3-2", "ref": first_sha, "message": "annotated"})
    api.tags.create({"tag_name": "other", "ref": "main"})
    found = {t.name: t.commit["id"] for t in api.tags.list(search="^reproduce-1.0.3-")}
    assert found == {"reproduce-1.0.3-1": first_sha, "reproduce-1.0.3-2": first_sha}
    pipeline = api.pipelines.create({"ref": "reproduce-1.0.3-1"})  # a tag is no protected branch
    assert pipeline.sha == first_sha and pipeline.ref == "reproduce-1.0.3-1" and pipeline.tag is True


def test_a_project_tells_the_users_role(env):
    """doc/api/projects.md "Get a single project": ``permissions`` (what the Models panel shows)."""
    for who, level in (("dev", DEVELOPER), ("reporter", REPORTER)):
        project = env.api(who).manager.gitlab.projects.get(env.project.id)
        assert project.permissions == {"project_access": {"access_level": level, "notification_level": 3},
                                       "group_access": None}  # fmt: skip


def test_an_outdated_deploy_job_cannot_be_played_but_a_rollback_retry_can(env):
    """deployment_safety.md "Prevent outdated deployment jobs" (on by default): a deploy job older
    than the last successful deployment may not run. Ci::DeployablePolicy prevents every job write
    ability (Ci::JobAbilities: play_job, retry_job, ...) while Ci::Deployable#has_outdated_deployment?
    holds, so the jobs API's play answers 403 (lib/api/ci/jobs.rb ``authorize!(:play_job, job)``); a
    finished job's retry (the rollback) stays allowed while "Allow job retries for rollback
    deployments" is on, and the retry is a newer deployment that runs."""
    api = env.api()
    older = env.run_pipeline()
    commit(env, "newer")
    newer = env.run_pipeline()
    env.deploy(newer)
    job = env.ci.job(older, "deploy")
    with pytest.raises(python_gitlab.GitlabJobPlayError) as refused:
        api.jobs.get(job.id, lazy=True).play()
    assert refused.value.response_code == 403
    assert api.jobs.get(job.id).status == "manual"
    production = api.environments.list(name="production")[0]
    assert api.environments.get(production.id).last_deployment["deployable"]["pipeline"]["id"] == newer.id
    # a rollback: the older version deployed first, then the newer, then the older's job retried
    first = env.run_pipeline()
    commit(env, "second")
    second = env.run_pipeline()
    first_job = env.deploy(first)
    env.deploy(second)
    retried = env.ci.jobs[api.jobs.get(first_job.id, lazy=True).retry()["id"]]
    env.ci.start(retried)
    env.ci.finish(retried, "success")
    assert api.environments.get(production.id).last_deployment["deployable"]["pipeline"]["id"] == first.id
    # "Allow job retries for rollback deployments" off: retrying the now older second one is refused
    env.project.ci_forward_deployment_rollback_allowed = False
    second_job = env.ci.job(second, "deploy")
    with pytest.raises(python_gitlab.GitlabJobRetryError) as no_rollback:
        api.jobs.get(second_job.id, lazy=True).retry()
    assert no_rollback.value.response_code == 403
    # without the setting, an older job simply runs
    env.project.ci_forward_deployment_enabled = False
    oldest = env.run_pipeline()
    commit(env, "third")
    third = env.run_pipeline()
    env.deploy(third)
    assert env.deploy(oldest).status == "success"


def test_an_outdated_job_queued_on_its_own_is_dropped(env):
    """Ci::ProcessBuildService#enqueue: ``return processable.drop!(:failed_outdated_deployment_job)
    if processable.has_outdated_deployment?`` — the stand-in checks as a runner picks the job."""
    older = env.run_pipeline()
    commit(env, "newer")
    newer = env.run_pipeline()
    env.deploy(newer)
    job = env.ci.job(older, "deploy")
    job.status = "pending"  # queued without a play (e.g. a job that is not manual)
    env.ci.start(job)
    shown = env.api().jobs.get(job.id)
    assert shown.status == "failed" and shown.failure_reason == "failed_outdated_deployment_job"


def test_deployments_of_the_same_commit_are_never_outdated(env):
    """older_than_last_successful_deployment? is false for the last deployment's sha: pipelines
    at one commit (a retraining on new data) may deploy in any order."""
    older, newer = env.run_pipeline(), env.run_pipeline()
    env.deploy(newer)
    assert env.deploy(older).status == "success"
