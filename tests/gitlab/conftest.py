"""Fixtures of the GitLab suite: the GitLab stand-in with a small world, and workspaces."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from hybridhub.lab_ext.git.repo import GitService
from hybridhub.lab_ext.git.settings import GitSettings
from tests.gitlab_standin import GitLabStandIn
from tests.gitlab_standin.state import DEVELOPER, MAINTAINER, REPORTER

ALL_SCOPES = ["api", "read_user", "write_repository"]


def git(cwd: Path, *args: str) -> str:
    """Plain git CLI, for arranging fixtures and checking results (file-system pushes act as the owner)."""
    env = {**os.environ, "STANDIN_ACCESS_LEVEL": "50"}
    command = ["git", "-c", "user.name=Fixture", "-c", "user.email=fixture@example.com", "-c", "init.defaultBranch=main"]
    result = subprocess.run([*command, *args], cwd=cwd, capture_output=True, text=True, env=env)
    assert result.returncode == 0, f"git {args}: {result.stderr}"
    return result.stdout


def seed(bare: Path, scratch: Path, files: dict[str, str] | None = None) -> None:
    """Give a bare repository a first commit on main (through the file system, not HTTP)."""
    work = scratch / f"seed-{bare.name}"
    git(scratch, "clone", "-q", str(bare), str(work))
    for name, text in (files or {"README.md": "# notebooks\n", "analysis.ipynb": "{}\n"}).items():
        (work / name).write_text(text)
    git(work, "add", "-A")
    git(work, "commit", "-q", "-m", "seed")
    git(work, "push", "-q", "origin", "main")


@dataclass
class World:
    gitlab: GitLabStandIn
    alice: object
    bob: object
    carol: object
    project: object
    token: str  # alice's access token

    @property
    def remote(self) -> str:
        return f"{self.gitlab.url}/{self.project.path_with_namespace}.git"

    def settings(self, token: str | None = None, **extra) -> GitSettings:
        return GitSettings(gitlab_url=self.gitlab.url, gitlab_token=self.token if token is None else token, **extra)


@pytest.fixture
def gitlab(tmp_path):
    standin = GitLabStandIn(tmp_path / "gitlab").start()
    try:
        yield standin
    finally:
        standin.stop()
    assert standin.violations == [], standin.violations


@pytest.fixture
def world(gitlab, tmp_path) -> World:
    w = gitlab.world
    alice, bob, carol = w.add_user("alice", "Alice Analyst"), w.add_user("bob"), w.add_user("carol")
    w.add_group("ml-team", {alice: DEVELOPER, carol: MAINTAINER})
    w.add_group("hub-admins", {carol: REPORTER})
    project = w.add_project("ml-team", "notebooks", {alice: DEVELOPER, carol: MAINTAINER})
    project.protect("main")
    seed(project.repo, tmp_path)
    return World(gitlab, alice, bob, carol, project, w.issue(alice, ALL_SCOPES).value)


@pytest.fixture
def workspace(tmp_path, world) -> Path:
    """A server root holding alice's clone of ml-team/notebooks, remote on the stand-in."""
    root = tmp_path / "server-root"
    root.mkdir()
    git(root, "clone", "-q", str(world.project.repo), "notebooks")
    git(root / "notebooks", "remote", "set-url", "origin", world.remote)
    return root


@pytest.fixture
def service(workspace, world) -> GitService:
    return GitService(workspace, world.settings(timeout=20, network_timeout=30))


@pytest.fixture
def local_workspace(tmp_path) -> Path:
    """Demo layout: the home folder is a clone of a local bare remote (no GitLab)."""
    remote = tmp_path / "git" / "demo.git"
    remote.parent.mkdir()
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(remote))
    seed(remote, tmp_path)
    home = tmp_path / "users" / "demo"
    home.parent.mkdir()
    git(tmp_path, "clone", "-q", str(remote), str(home))
    return home
