"""The GitLab stand-in's protected branches, as a git push over smart HTTP meets them.

Each test names what it reproduces: gitlabhq lib/gitlab/checks/branch_check.rb (refusals, their
order and texts), lib/gitlab/user_access.rb (who may push or merge), app/models/protected_branch.rb
(empty repositories, wildcards) and the "Fully protected" default of new projects
(https://docs.gitlab.com/user/project/repository/branches/default/#protect-initial-default-branches,
gitlab-org/gitlab!131322: push and merge Maintainers, no force push).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import requests

from tests.gitlab_standin.protection import NO_ACCESS
from tests.gitlab_standin.state import DEVELOPER, MAINTAINER

from .conftest import git

pytestmark = pytest.mark.gitlab


def push(world, work: Path, token: str, *args: str) -> subprocess.CompletedProcess:
    """``git push`` over HTTP as the token's user (the stand-in's hook sees that user's role)."""
    url = world.remote.replace("://", f"://oauth2:{token}@")
    command = ["git", "-c", "credential.helper=", "push", url, *args]
    return subprocess.run(command, cwd=work, capture_output=True, text=True, timeout=60)


def refused(result: subprocess.CompletedProcess, message: str) -> bool:
    return result.returncode != 0 and f"GitLab: {message}" in result.stderr and "pre-receive hook declined" in result.stderr


@pytest.fixture
def work(workspace) -> Path:
    clone = workspace / "notebooks"
    git(clone, "config", "user.name", "Alice")
    git(clone, "config", "user.email", "alice@example.com")
    return clone


@pytest.fixture
def carol(world) -> str:
    return world.gitlab.world.issue(world.carol, ["api", "write_repository"]).value


def commit(work: Path, name: str = "notes.md") -> None:
    (work / name).write_text(f"{name} {len(list(work.iterdir()))}\n")
    git(work, "add", "-A")
    git(work, "commit", "-q", "-m", f"add {name}")


def test_a_new_projects_default_branch_is_fully_protected(world):
    # GitLab's instance default "Fully protected": push and merge Maintainers, no force push
    fresh = world.gitlab.world.add_project("ml-team", "fresh", {world.alice: DEVELOPER})
    answer = requests.get(f"{world.gitlab.url}/api/v4/projects/{fresh.id}/protected_branches",
                          headers={"Authorization": f"Bearer {world.token}"})  # fmt: skip
    (main,) = answer.json()
    assert main["name"] == "main" and main["allow_force_push"] is False
    for levels in (main["push_access_levels"], main["merge_access_levels"]):
        assert [(lv["access_level"], lv["access_level_description"]) for lv in levels] == [(40, "Maintainers")]


def test_push_to_a_protected_branch_needs_its_push_level(world, work, carol):
    # branch_check.rb protected_branch_push_checks: push_protected_branch
    commit(work)
    assert refused(push(world, work, world.token, "HEAD:main"), "You are not allowed to push code to protected branches on this project.")
    assert push(world, work, carol, "HEAD:main").returncode == 0  # a Maintainer may
    world.project.protect("main", push=DEVELOPER, merge=MAINTAINER)  # "Developers + Maintainers" may push
    commit(work, "more.md")
    assert push(world, work, world.token, "HEAD:main").returncode == 0
    world.project.protect("main", push=NO_ACCESS, merge=MAINTAINER)  # "No one": not even a Maintainer
    commit(work, "last.md")
    assert refused(push(world, work, carol, "HEAD:main"), "You are not allowed to push code to protected branches on this project.")


def test_unprotected_branches_take_any_developer_push(world, work):
    commit(work)
    assert push(world, work, world.token, "HEAD:refs/heads/feature").returncode == 0
    world.project.unprotect("main")  # as a Maintainer may in Settings > Repository
    assert push(world, work, world.token, "HEAD:main").returncode == 0


def test_force_push_to_a_protected_branch_is_refused_unless_allowed(world, work, carol):
    # branch_check.rb: force_push_protected_branch, checked before the push levels
    git(work, "commit", "-q", "--amend", "-m", "rewritten seed")
    assert refused(push(world, work, carol, "--force", "HEAD:main"),
                   "You are not allowed to force push code to a protected branch on this project.")  # fmt: skip
    world.project.protect("main", allow_force_push=True)
    assert push(world, work, carol, "--force", "HEAD:main").returncode == 0


def test_creating_a_branch_that_matches_a_protected_pattern(world, work, carol):
    # protected_branch_creation_checks; protected_ref.rb: "*" wildcards
    world.project.protect("release/*", push=MAINTAINER, merge=DEVELOPER)
    assert refused(push(world, work, world.token, "HEAD:refs/heads/release/1.0"),
                   "You can only create protected branches using the web interface and API.")  # fmt: skip
    world.project.protect("release/*", push=MAINTAINER, merge=MAINTAINER)
    assert refused(push(world, work, world.token, "HEAD:refs/heads/release/1.0"),
                   "You are not allowed to create protected branches on this project.")  # fmt: skip
    assert push(world, work, carol, "HEAD:refs/heads/release/1.0").returncode == 0


def test_deleting_protected_and_default_branches(world, work, carol):
    # protected_branch_deletion_checks and delete_default_branch
    world.project.protect("release/*")
    assert push(world, work, carol, "HEAD:refs/heads/release/1.0").returncode == 0
    assert refused(push(world, work, world.token, ":release/1.0"),
                   "You are not allowed to delete protected branches from this project. "
                   "Only a project maintainer or owner can delete a protected branch.")  # fmt: skip
    assert refused(push(world, work, carol, ":release/1.0"), "You can only delete protected branches using the web interface.")
    world.project.unprotect("main")
    assert refused(push(world, work, carol, ":main"), "The default branch of a project cannot be deleted.")


def test_the_first_push_to_an_empty_project_needs_a_maintainer(world, tmp_path, carol):
    # protected_branch.rb: an empty repository protects every branch; branch_check.rb empty_project_push_message
    empty = world.gitlab.world.add_project("ml-team", "empty", {world.alice: DEVELOPER, world.carol: MAINTAINER})
    work = tmp_path / "empty-work"
    git(tmp_path, "init", "-q", "-b", "main", str(work))
    commit(work, "README.md")
    remote = f"{world.gitlab.url}/{empty.path_with_namespace}.git"
    as_user = lambda token, *args: subprocess.run(  # noqa: E731
        ["git", "-c", "credential.helper=", "push", remote.replace("://", f"://oauth2:{token}@"), *args],
        cwd=work, capture_output=True, text=True, timeout=60)  # fmt: skip
    denied = as_user(world.token, "HEAD:refs/heads/feature")
    assert denied.returncode != 0 and "A default branch (e.g. master) does not yet exist for ml-team/empty" in denied.stderr
    assert f"{world.gitlab.url}/ml-team/empty/-/project_members" in denied.stderr
    assert as_user(carol, "HEAD:main").returncode == 0
    assert as_user(world.token, "HEAD:refs/heads/feature").returncode == 0  # no longer empty
