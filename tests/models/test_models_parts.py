"""Parts of the Models service with a real counterpart each: Reproduce's data check against the
real SeaweedFS store (a bucket without versioning: ETag and size), the GitLab registry client
renewing an expired token against the GitLab stand-in's MLflow API, and the role GitLab reports
in a project's ``permissions`` (lib/api/entities/project.rb: ProjectWithAccess exposes
``permissions.project_access`` / ``group_access`` with ``access_level``)."""

from __future__ import annotations

import io

import pytest

from hybridhub.lab_ext.models import data_check
from hybridhub.lab_ext.models.environments import GitLabEnvironment
from hybridhub.lab_ext.models.errors import ModelsError
from hybridhub.lab_ext.models.registry import Registry
from tests.gitlab_standin import GitLabStandIn
from tests.gitlab_standin.mlflow import install as install_mlflow
from tests.gitlab_standin.state import DEVELOPER
from tests.models.registry_writer import data_record
from tests.storage.conftest import minio_for, new_bucket, storage_config

pytestmark = pytest.mark.models


@pytest.fixture
def plain_bucket(object_store):
    creds = object_store.credentials
    admin = minio_for(object_store, creds.admin_access_key, creds.admin_secret_key)
    name = new_bucket(admin, versioned=False)
    admin.put_object(name, "train.csv", io.BytesIO(b"a,b\n1,2\n"), 8)
    stat = admin.stat_object(name, "train.csv")
    return admin, name, stat.etag


async def test_reproduce_checks_unversioned_data_by_etag_and_size(object_store, plain_bucket):
    admin, bucket, etag = plain_bucket
    storage = storage_config(object_store)
    read = data_record(f"s3://{bucket}/train.csv", None, etag=etag, size=8)
    versioned = data_record(f"s3://{bucket}/other.csv", "v-1")
    assert await data_check.unchanged(storage, {"train": read, "test": versioned}) == []  # same object: runs
    admin.put_object(bucket, "train.csv", io.BytesIO(b"a,b\n1,3\n"), 8)  # same size, other bytes
    with pytest.raises(ModelsError) as info:
        await data_check.unchanged(storage, {"train": read})
    assert info.value.reason == "not_reproducible" and "changed" in info.value.details
    admin.remove_object(bucket, "train.csv")
    with pytest.raises(ModelsError) as info:
        await data_check.unchanged(storage, {"train": read})
    assert info.value.reason == "not_reproducible" and "no longer exists" in info.value.details
    # no store configured here: the run goes ahead, and says it could not compare
    (warning,) = await data_check.unchanged(None, {"train": read})
    assert "could not be compared" in warning


async def test_the_gitlab_registry_client_renews_a_refused_token(tmp_path):
    standin = GitLabStandIn(tmp_path / "gitlab").start()
    try:
        install_mlflow(standin)
        user = standin.world.add_user("dev")
        project = standin.world.add_project("ml-team", "sensors", {user: DEVELOPER})
        old, fresh = standin.world.issue(user, ["api"]).value, standin.world.issue(user, ["api"]).value
        standin.world.expire(old)
        current = {"token": old}
        asked = []

        async def renew(rejected: str) -> bool:  # what GitLabTokenSource.renew does, after asking the hub
            asked.append(rejected)
            current["token"] = fresh
            return True

        uri = f"{standin.url}/api/v4/projects/{project.id}/ml/mlflow"
        registry = Registry(uri, kind="gitlab", token=lambda: current["token"], renew=renew, timeout=10)
        assert await registry.models() == []
        assert asked == [old] and registry.creds().token == fresh
        # without a way to renew, the refusal is the panel's registry_denied
        standin.world.expire(fresh)
        stuck = Registry(uri, kind="gitlab", token=fresh, timeout=10)
        with pytest.raises(ModelsError) as info:
            await stuck.models()
        assert info.value.reason == "registry_denied"
    finally:
        standin.stop()
    assert standin.violations == []


@pytest.mark.parametrize("permissions, allowed, role", [
    ({"project_access": {"access_level": 30}, "group_access": None}, True, "Developer"),
    ({"project_access": None, "group_access": {"access_level": 50}}, True, "Owner"),
    ({"project_access": {"access_level": 20}, "group_access": {"access_level": 10}}, False, "Reporter"),
    (None, True, ""),  # not reported: offered, and GitLab decides when the job is played
])  # fmt: skip
async def test_who_may_deploy_on_gitlab(permissions, allowed, role):
    environment = GitLabEnvironment(None, "ml-team/sensors", info={"permissions": permissions} if permissions else {})
    assert await environment.can_deploy() == {"allowed": allowed, "role": role, "needs": "Developer"}


def test_the_outdated_deployment_rule_is_gitlabs():
    """gitlabhq app/models/concerns/ci/deployable.rb ``has_outdated_deployment?`` = forward
    deployment on, and (rollback not allowed or the job incomplete), and the deployment
    ``older_than_last_successful_deployment?`` (app/models/deployment.rb: not the last one, not
    its sha, a smaller id)."""
    from hybridhub.lab_ext.models.environments import Slot, is_outdated

    last = Slot((7,), "b" * 40, True)
    manual = Slot((5,), "a" * 40, False)  # a manual job never played: its deployment made with its pipeline
    assert is_outdated(manual, last, True, True) is True
    assert is_outdated(manual, last, False, True) is False  # "Prevent outdated deployment jobs" off
    assert is_outdated(Slot((5,), "b" * 40, False), last, True, True) is False  # the same commit
    assert is_outdated(Slot((9,), "a" * 40, False), last, True, True) is False  # newer
    assert is_outdated(last, last, True, True) is False
    finished = Slot((5,), "a" * 40, True)  # a finished job: retrying it is the roll back
    assert is_outdated(finished, last, True, True) is False
    assert is_outdated(finished, last, True, False) is True  # ci_forward_deployment_rollback_allowed off
    assert is_outdated(manual, None, True, True) is False and is_outdated(None, last, True, True) is False


async def test_gitlab_settings_are_read_where_gitlab_shows_them():
    """lib/api/entities/project.rb shows ci_forward_deployment_enabled / _rollback_allowed to
    admin_project (Maintainer+) only: absent, GitLab's defaults (both on) apply."""
    from hybridhub.lab_ext.models.environments import last_success

    assert GitLabEnvironment(None, "g/p", info={}).forward_deployment() == (True, True)
    off = {"ci_forward_deployment_enabled": False, "ci_forward_deployment_rollback_allowed": False}
    assert GitLabEnvironment(None, "g/p", info=off).forward_deployment() == (False, False)
    deployments = [  # newest first, as GET /deployments?order_by=id&sort=desc answers
        {"id": 9, "status": "failed", "pipeline_id": 9, "finished_at": "2026-01-01T00:00:09Z", "sha": "c", "job_status": "failed"},
        {"id": 8, "status": "success", "pipeline_id": 8, "finished_at": "2026-01-01T00:00:05Z", "sha": "b", "job_status": "success"},
        {"id": 7, "status": "success", "pipeline_id": 7, "finished_at": "2026-01-01T00:00:06Z", "sha": "a", "job_status": "success"},
        {"id": 6, "status": "created", "pipeline_id": 6, "finished_at": None, "sha": "z", "job_status": "manual"},
    ]
    # environment.rb last_deployment: success.ordered (deployment.rb: finished_at desc) — 7 finished last
    assert last_success(deployments)["id"] == 7
    last, slots = await GitLabEnvironment(None, "g/p", info={}).slots(deployments, {6, 8, 9, 10})
    assert last.order == (7,) and set(slots) == {6, 8, 9} and slots[6].complete is False and slots[9].complete is True
    assert await GitLabEnvironment(None, "g/p", info={}).outdated(deployments, {6, 8, 9}) == {6}
    assert await GitLabEnvironment(None, "g/p", info=off).outdated(deployments, {6, 8, 9}) == set()
