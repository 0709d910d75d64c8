"""Merge requests, project listing and clone through python-gitlab against the stand-in."""

from __future__ import annotations

import pytest

from hybridhub.lab_ext.git.errors import GitError
from hybridhub.lab_ext.git.gitlab_api import GitLabActions
from hybridhub.lab_ext.git.repo import GitService
from hybridhub.lab_ext.git.settings import GitSettings

from .conftest import git
from .test_push_gitlab import commit_change

pytestmark = pytest.mark.gitlab


async def test_merge_request_pushes_the_branch_and_links_to_it(service, world):
    await service.create_branch("notebooks", "experiment")
    await commit_change(service, "exp.ipynb", "{}\n")
    mr = await GitLabActions(service).merge_request("notebooks", "Try a new model", "Details")
    assert mr == {
        "iid": 1,
        "title": "Try a new model",
        "web_url": f"{world.gitlab.url}/ml-team/notebooks/-/merge_requests/1",
        "source_branch": "experiment",
        "target_branch": "main",
        "state": "opened",
        "existing": False,
    }
    assert world.project.has_branch("experiment")
    stored = world.project.merge_requests[0]
    assert stored["author"]["username"] == "alice" and stored["description"] == "Details"
    again = await GitLabActions(service).merge_request("notebooks", "Same branch again")
    assert again["existing"] is True and again["iid"] == 1


async def test_merge_request_from_the_target_branch_is_refused(service, world):
    carol = GitService(service.root, world.settings(token=world.gitlab.world.issue(world.carol, ["api"]).value))
    with pytest.raises(GitError) as info:
        await GitLabActions(carol).merge_request("notebooks", "On main")
    assert info.value.reason == "invalid_request" and "new branch" in info.value.message


async def test_merge_request_with_an_expired_token(service, world):
    await service.create_branch("notebooks", "experiment")
    world.gitlab.world.expire(world.token)
    with pytest.raises(GitError) as info:
        await GitLabActions(service).merge_request("notebooks", "Title")
    assert info.value.reason == "token_expired"


async def test_projects_and_clone(service, world, workspace):
    actions = GitLabActions(service)
    projects = await actions.projects()
    assert [p["path_with_namespace"] for p in projects] == ["ml-team/notebooks"]
    assert await actions.projects("nothing-like-this") == []
    result = await actions.clone("", "ml-team/notebooks", "copy")
    assert result == {"repository": "copy", "project": "ml-team/notebooks"}
    clone = workspace / "copy"
    assert (clone / "analysis.ipynb").exists()
    url = git(clone, "remote", "get-url", "origin").strip()
    assert url == world.remote and world.token not in (clone / ".git" / "config").read_text()
    with pytest.raises(GitError) as info:
        await actions.clone("", "ml-team/notebooks", "copy")
    assert info.value.reason == "destination_exists"
    with pytest.raises(GitError) as info:
        await actions.clone("", "ml-team/notebooks", "../escape")
    assert info.value.reason == "invalid_request"


async def test_clone_onto_a_dangling_symlink_is_destination_exists(service, world, workspace, tmp_path):
    outside = tmp_path / "outside-target"
    (workspace / "copy").symlink_to(outside)  # e.g. left by a cloned repository
    with pytest.raises(GitError) as info:
        await GitLabActions(service).clone("", "ml-team/notebooks", "copy")
    assert info.value.reason == "destination_exists"
    assert not outside.exists()


async def test_project_the_user_cannot_see(service, world):
    other = world.gitlab.world.add_project("secret", "vault", {world.carol: 50})
    with pytest.raises(GitError) as info:
        await GitLabActions(service).clone("", other.path_with_namespace)
    assert info.value.reason == "no_such_project"


async def test_unreachable_gitlab_api(workspace):
    service = GitService(workspace, GitSettings(gitlab_url="http://127.0.0.1:9", gitlab_token="t", network_timeout=10))
    with pytest.raises(GitError) as info:
        await GitLabActions(service).projects()
    assert info.value.reason == "gitlab_unreachable"


async def test_gitlab_actions_without_gitlab_say_not_configured(local_workspace):
    service = GitService(local_workspace.parent, GitSettings())
    actions = GitLabActions(service)
    for call in (actions.projects(), actions.merge_request("demo", "Title"), actions.clone("", "a/b")):
        with pytest.raises(GitError) as info:
            await call
        assert info.value.reason == "gitlab_not_configured"
        assert "GitLab is not configured" in info.value.message
