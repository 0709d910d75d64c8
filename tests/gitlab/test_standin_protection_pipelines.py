"""The GitLab stand-in's pipeline API where real GitLab refuses: protected refs, the project's
minimum role for pipeline variables, and the list entity versus the detail entity.

Reproduced from gitlabhq: lib/gitlab/ci/pipeline/chain/validate/abilities.rb (the ref check and
its text), lib/gitlab/user_access.rb (``can_update_branch?`` = may push or may merge),
lib/gitlab/ci/pipeline/chain/build/associations.rb and app/models/project_ci_cd_setting.rb (the
variables restriction), app/services/ci/create_pipeline_service.rb (the order of the checks),
lib/api/ci/pipelines.rb with lib/api/helpers.rb ``render_validation_error!`` (400 with
``{"message": {"base": [...]}}``), lib/api/entities/ci/pipeline_basic.rb, pipeline.rb and the
``*_with_metadata.rb`` entities; https://docs.gitlab.com/ci/variables/#restrict-pipeline-variables.
"""

from __future__ import annotations

import pytest
import requests

from tests.gitlab_standin import GitLabStandIn
from tests.gitlab_standin.pipelines import install
from tests.gitlab_standin.protection import NO_ACCESS
from tests.gitlab_standin.state import DEVELOPER, MAINTAINER, OWNER

from .conftest import git, seed

pytestmark = pytest.mark.gitlab

CI = "stages: [test]\nvariables:\n  EPOCHS: '3'\nunit:\n  stage: test\n  script: [echo ok]\n"
NOT_ON_MAIN = ("You do not have sufficient permission to run a pipeline on 'main'. "
               "Please select a different branch or contact your administrator for assistance.")  # fmt: skip
NO_VARIABLES = "Insufficient permissions to set pipeline variables"
BASIC = {"id", "iid", "project_id", "sha", "ref", "status", "source", "created_at", "updated_at", "web_url", "name"}
TIMINGS = {"started_at", "finished_at", "duration", "queued_duration"}


@pytest.fixture
def ci(tmp_path):
    gitlab = GitLabStandIn(tmp_path / "gitlab").start()
    try:
        state = install(gitlab)
        w = gitlab.world
        users = {name: w.add_user(name) for name in ("dev", "maint", "owner")}
        project = w.add_project("ml-team", "sensors", {users["dev"]: DEVELOPER, users["maint"]: MAINTAINER,
                                                       users["owner"]: OWNER})  # fmt: skip
        seed(project.repo, tmp_path, {".gitlab-ci.yml": CI})
        work = tmp_path / f"seed-{project.repo.name}"
        git(work, "push", "-q", "origin", "main:feature")
        state.project = project
        state.tokens = {name: w.issue(user, ["api"]).value for name, user in users.items()}
        yield state
    finally:
        gitlab.stop()
    assert gitlab.violations == [], gitlab.violations


def launch(ci, who: str, ref: str, variables: list[dict] | None = None) -> requests.Response:
    body = {"ref": ref, **({"variables": variables} if variables is not None else {})}
    return requests.post(f"{ci.gitlab.url}/api/v4/projects/{ci.project.id}/pipeline", json=body,
                         headers={"Authorization": f"Bearer {ci.tokens[who]}"})  # fmt: skip


def refusal(answer: requests.Response) -> list[str] | None:
    return answer.json()["message"]["base"] if answer.status_code == 400 else None


def test_a_protected_ref_needs_push_or_merge_rights(ci):
    assert refusal(launch(ci, "dev", "main")) == [NOT_ON_MAIN]  # main is fully protected by default
    assert launch(ci, "dev", "feature").status_code == 201  # an unprotected branch: any Developer
    assert launch(ci, "maint", "main").status_code == 201
    ci.project.protect("main", push=MAINTAINER, merge=DEVELOPER)  # may merge: may run pipelines
    assert launch(ci, "dev", "main").status_code == 201
    ci.project.protect("main", push=NO_ACCESS, merge=NO_ACCESS)  # "No one": nobody runs pipelines on it
    assert refusal(launch(ci, "owner", "main")) == [NOT_ON_MAIN]


def test_the_checks_come_in_gitlabs_order(ci):
    # Abilities (protected ref) -> Repository (ref exists) -> Build::Associations (variables) -> config
    ci.project.ci_pipeline_variables_minimum_override_role = "no_one_allowed"
    assert refusal(launch(ci, "dev", "main", [{"key": "EPOCHS", "value": "9"}])) == [NOT_ON_MAIN]
    assert refusal(launch(ci, "dev", "nope", [{"key": "EPOCHS", "value": "9"}])) == ["Reference not found"]
    assert refusal(launch(ci, "dev", "feature", [{"key": "EPOCHS", "value": "9"}])) == [NO_VARIABLES]
    assert len(ci.pipelines) == 0


@pytest.mark.parametrize(
    "setting, allowed",
    [("no_one_allowed", set()), ("developer", {"dev", "maint", "owner"}), ("maintainer", {"maint", "owner"}),
     ("owner", {"owner"})],  # fmt: skip
)
def test_the_minimum_role_for_pipeline_variables(ci, setting, allowed):
    ci.project.ci_pipeline_variables_minimum_override_role = setting
    for who in ("dev", "maint", "owner"):
        with_variables = launch(ci, who, "feature", [{"key": "EPOCHS", "value": "9"}])
        if who in allowed:
            assert with_variables.status_code == 201, who
        else:
            assert refusal(with_variables) == [NO_VARIABLES], who
        assert launch(ci, who, "feature").status_code == 201  # no variables: never restricted
        assert launch(ci, who, "feature", []).status_code == 201  # an empty list is no variable either


def test_the_list_answers_pipeline_basic_and_the_detail_the_full_entity(ci):
    created = launch(ci, "maint", "main")
    assert created.status_code == 201 and "name" not in created.json()  # Entities::Ci::Pipeline
    job = next(iter(ci.jobs.values()))
    ci.start(job)
    ci.finish(job, "success")
    base = f"{ci.gitlab.url}/api/v4/projects/{ci.project.id}/pipelines"
    headers = {"Authorization": f"Bearer {ci.tokens['dev']}"}
    (item,) = requests.get(base, headers=headers).json()
    assert set(item) == BASIC  # PipelineBasicWithMetadata: no timings, no user
    detail = requests.get(f"{base}/{item['id']}", headers=headers).json()
    assert BASIC | TIMINGS | {"user", "detailed_status", "before_sha", "tag"} <= set(detail)
    assert detail["started_at"] and detail["finished_at"] and detail["duration"] is not None
    assert detail["user"]["username"] == "maint" and detail["source"] == "api"


def test_the_list_filters_by_sha_username_and_source(ci):
    for who in ("maint", "dev"):
        assert launch(ci, who, "feature").status_code == 201
    base = f"{ci.gitlab.url}/api/v4/projects/{ci.project.id}"
    headers = {"Authorization": f"Bearer {ci.tokens['dev']}"}
    sha = requests.get(f"{base}/repository/commits/feature", headers=headers).json()["id"]
    mine = requests.get(f"{base}/pipelines", params={"sha": sha, "username": "dev", "source": "api"}, headers=headers)
    assert [p["sha"] for p in mine.json()] == [sha]
    assert requests.get(f"{base}/pipelines", params={"sha": "0" * 40}, headers=headers).json() == []
    assert requests.get(f"{base}/repository/commits/nope", headers=headers).status_code == 404


def test_cancel_retry_and_play_on_a_protected_branch_need_the_same_rights(ci):
    # app/policies/ci/pipeline_policy.rb and build_policy.rb: protected_ref prevents cancel and job updates
    created = launch(ci, "maint", "main").json()
    job = next(iter(ci.jobs.values()))
    base = f"{ci.gitlab.url}/api/v4/projects/{ci.project.id}"
    as_dev = {"Authorization": f"Bearer {ci.tokens['dev']}"}
    assert requests.post(f"{base}/pipelines/{created['id']}/cancel", headers=as_dev).json() == {"message": "403 Forbidden"}
    ci.start(job)
    ci.finish(job, "failed")
    assert requests.post(f"{base}/jobs/{job.id}/retry", headers=as_dev).status_code == 403
    assert requests.get(f"{base}/pipelines/{created['id']}", headers=as_dev).status_code == 200  # reading is not writing
    ci.project.protect("main", push=MAINTAINER, merge=DEVELOPER)
    assert requests.post(f"{base}/jobs/{job.id}/retry", headers=as_dev).status_code == 201
