"""The stand-in's world: users, groups, projects (bare repositories), OAuth apps and tokens."""

from __future__ import annotations

import hashlib
import base64
import json
import secrets
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from . import protection
from .protection import ProtectedBranch

GUEST, REPORTER, DEVELOPER, MAINTAINER, OWNER = 10, 20, 30, 40, 50
TOKEN_LIFETIME = 7200  # GitLab's OAuth access tokens live two hours (config/initializers/doorkeeper.rb)
# the scopes GitLab's Doorkeeper knows (lib/gitlab/auth.rb: DEFAULT_SCOPES and optional_scopes, trimmed)
SERVER_SCOPES = frozenset({
    "api", "read_api", "read_user", "read_repository", "write_repository", "read_registry", "write_registry",
    "create_runner", "manage_runner", "k8s_proxy", "ai_features", "sudo", "admin_mode", "openid", "profile", "email",
})  # fmt: skip
DEFAULT_SCOPES = ("api",)  # Gitlab::Auth::DEFAULT_SCOPES: what an authorize request without ``scope`` gets
# what docs/gitlab.md tells an admin to tick when registering the hub's application
DOCUMENTED_APP_SCOPES = ("read_user", "api", "write_repository")

# the pre-receive hook runs tests/gitlab_standin/protection.py (GitLab's branch checks)
_HOOK = f"""#!/bin/sh
exec "{sys.executable}" "{Path(__file__).with_name('protection.py')}"
"""


@dataclass(eq=False)
class User:
    id: int
    username: str
    name: str
    email: str

    def to_json(self, base_url: str) -> dict:
        # GET /user for the token's owner (https://docs.gitlab.com/api/users/#get-the-current-user)
        return {
            "id": self.id,
            "username": self.username,
            "name": self.name,
            "state": "active",
            "locked": False,
            "avatar_url": f"{base_url}/uploads/-/system/user/avatar/{self.id}/avatar.png",
            "web_url": f"{base_url}/{self.username}",
            "created_at": "2024-01-01T00:00:00.000Z",
            "bio": "",
            "public_email": "",
            "email": self.email,
            "commit_email": self.email,
            "is_admin": False,
            "two_factor_enabled": False,
            "external": False,
        }


@dataclass
class Group:
    id: int
    path: str
    name: str
    members: dict[int, int] = field(default_factory=dict)  # user id -> access level

    def to_json(self, base_url: str) -> dict:
        return {
            "id": self.id,
            "name": self.name,
            "path": self.path,
            "full_name": self.name,
            "full_path": self.path,
            "description": "",
            "visibility": "private",
            "parent_id": None,
            "web_url": f"{base_url}/groups/{self.path}",
            "avatar_url": None,
            "created_at": "2024-01-01T00:00:00.000Z",
        }


@dataclass
class Project:
    id: int
    namespace: str
    path: str
    repo: Path
    default_branch: str = "main"
    members: dict[int, int] = field(default_factory=dict)
    protected_branches: dict[str, ProtectedBranch] = field(default_factory=dict)
    merge_requests: list[dict] = field(default_factory=list)
    # Settings > CI/CD > Variables, "Minimum role to use pipeline variables": no_one_allowed,
    # developer, maintainer or owner. 17.5 self-managed lets every pipeline creator set them
    # (restrict_user_defined_variables off), which is "developer" (app/models/project_ci_cd_setting.rb)
    ci_pipeline_variables_minimum_override_role: str = "developer"
    # Settings > CI/CD > General pipelines, "Prevent outdated deployment jobs" (on by default:
    # project_ci_cd_settings.forward_deployment_enabled); rollback by retrying a job stays allowed
    ci_forward_deployment_enabled: bool = True
    # ... and under it "Allow job retries for rollback deployments" (on by default:
    # project_ci_cd_settings.forward_deployment_rollback_allowed, doc/ci/environments/deployment_safety.md)
    ci_forward_deployment_rollback_allowed: bool = True

    @property
    def path_with_namespace(self) -> str:
        return f"{self.namespace}/{self.path}"

    def to_json(self, base_url: str) -> dict:
        return {
            "id": self.id,
            "name": self.path,
            "name_with_namespace": f"{self.namespace} / {self.path}",
            "path": self.path,
            "path_with_namespace": self.path_with_namespace,
            "description": "",
            "default_branch": self.default_branch,
            "visibility": "private",
            "created_at": "2024-01-01T00:00:00.000Z",
            "last_activity_at": "2024-01-01T00:00:00.000Z",
            "ssh_url_to_repo": f"git@standin:{self.path_with_namespace}.git",
            "http_url_to_repo": f"{base_url}/{self.path_with_namespace}.git",
            "web_url": f"{base_url}/{self.path_with_namespace}",
            "readme_url": None,
            "avatar_url": None,
            "star_count": 0,
            "forks_count": 0,
            "namespace": {"id": self.id, "name": self.namespace, "path": self.namespace, "kind": "group", "full_path": self.namespace},
        }

    @property
    def protected(self) -> set[str]:
        return set(self.protected_branches)

    def protect(self, branch: str, push: int = MAINTAINER, merge: int = MAINTAINER, allow_force_push: bool = False) -> None:
        """Protect a branch (or ``*`` pattern) as a Maintainer does in Settings > Repository."""
        self.protected_branches[branch] = ProtectedBranch(branch, push, merge, allow_force_push)
        self._write_rules()

    def unprotect(self, branch: str) -> None:
        del self.protected_branches[branch]
        self._write_rules()

    def _write_rules(self) -> None:
        stored = {"default_branch": self.default_branch, "project": self.path_with_namespace,
                  "branches": [vars(b) for b in self.protected_branches.values()]}  # fmt: skip
        (self.repo / protection.RULES_FILE).write_text(json.dumps(stored))

    def rules(self) -> dict:
        empty = not subprocess.run(["git", "for-each-ref", "--count=1", "refs/heads"], cwd=self.repo,
                                   capture_output=True, text=True).stdout.strip()  # fmt: skip
        return protection.rules(self.default_branch, list(self.protected_branches.values()), empty)

    def level(self, user) -> int:
        return self.members.get(user.id, 0)

    def has_branch(self, branch: str) -> bool:
        result = subprocess.run(
            ["git", "rev-parse", "--verify", "-q", f"refs/heads/{branch}"], cwd=self.repo, capture_output=True
        )
        return result.returncode == 0


class Clock:
    """The stand-in's time: wall time plus whatever a test fast-forwarded (never a sleep)."""

    def __init__(self) -> None:
        self.offset = 0.0

    def now(self) -> float:
        return time.time() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds


@dataclass
class App:
    """A registered OAuth application (Admin > Applications): secret, callback and its scopes."""

    secret: str
    redirect_uri: str
    scopes: tuple[str, ...]


@dataclass(eq=False)
class Token:
    """An OAuth access token row: Doorkeeper keeps the access and refresh token in one record."""

    value: str
    user: User
    scopes: list[str]
    created_at: float
    refresh: str
    clock: Clock = field(repr=False)
    app: str | None = None  # client_id of the application it was issued to
    expires_in: int = TOKEN_LIFETIME
    revoked: bool = False
    previous_refresh: str = ""  # the refresh token this one replaced, revoked on first use

    @property
    def expires_at(self) -> float:
        return self.created_at + self.expires_in

    @property
    def expired(self) -> bool:
        # Doorkeeper::Models::Expirable#expired?: now > created_at + expires_in
        return self.clock.now() > self.expires_at


@dataclass(eq=False)
class Runner:
    """A runner as GitLab's Runners API shows it (https://docs.gitlab.com/api/runners/, fields of
    "List all runners"; ``tag_list`` only in "Get runner's details"). ``online``: it contacted GitLab
    recently; ``owners``: users who own its project or group (who see it in ``GET /runners``)."""

    id: int
    description: str
    tag_list: tuple[str, ...]
    runner_type: str = "instance_type"  # instance_type, group_type or project_type
    paused: bool = False
    online: bool = True
    owners: frozenset = frozenset()

    def to_json(self) -> dict:
        return {"id": self.id, "description": self.description, "ip_address": None, "active": not self.paused,
                "paused": self.paused, "is_shared": self.runner_type == "instance_type",
                "runner_type": self.runner_type, "name": "gitlab-runner", "online": self.online,
                "status": "online" if self.online else "offline"}


@dataclass
class Grant:
    user: User
    client_id: str
    redirect_uri: str
    scopes: list[str]
    challenge: str | None


class World:
    def __init__(self, root: Path):
        self.root = root
        self.lock = threading.RLock()
        self.users: dict[int, User] = {}
        self.groups: dict[int, Group] = {}
        self.projects: dict[int, Project] = {}
        self.apps: dict[str, App] = {}  # client_id -> registered application
        self.clock = Clock()
        self.sessions: dict[str, User] = {}  # browser session cookie -> signed-in user
        self.grants: dict[str, Grant] = {}
        self.tokens: dict[str, Token] = {}
        self.refresh_tokens: dict[str, Token] = {}
        self._ids = iter(range(1, 1_000_000))
        self.admins: set[int] = set()  # ids of GitLab administrators
        self.runners: list[Runner] = []

    def add_user(self, username: str, name: str | None = None) -> User:
        user = User(next(self._ids), username, name or username.title(), f"{username}@example.com")
        self.users[user.id] = user
        return user

    def add_runner(self, description: str, tags, **fields) -> Runner:
        runner = Runner(next(self._ids), description, tuple(tags), **fields)
        self.runners.append(runner)
        return runner

    def add_group(self, path: str, members: dict[User, int]) -> Group:
        group = Group(next(self._ids), path, path.title(), {u.id: level for u, level in members.items()})
        self.groups[group.id] = group
        return group

    def add_project(self, namespace: str, path: str, members: dict[User, int]) -> Project:
        repo = self.root / "repos" / namespace / f"{path}.git"
        repo.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(repo)], check=True)
        hook = repo / "hooks" / "pre-receive"
        hook.write_text(_HOOK)
        hook.chmod(0o755)
        project = Project(next(self._ids), namespace, path, repo, members={u.id: lvl for u, lvl in members.items()})
        project.protect(project.default_branch)  # new projects: the default branch "fully protected"
        self.projects[project.id] = project
        return project

    def register_app(self, redirect_uri: str, scopes=DOCUMENTED_APP_SCOPES) -> tuple[str, str]:
        """Register an application with its scopes (GitLab requires at least one)."""
        scopes = tuple(scopes)
        if not scopes or not set(scopes) <= SERVER_SCOPES:
            raise ValueError(f"GitLab refuses to register an application with scopes {scopes!r}")
        client_id, secret = secrets.token_hex(16), "gloas-" + secrets.token_hex(16)
        self.apps[client_id] = App(secret, redirect_uri, scopes)
        return client_id, secret

    def sign_in(self, user: User) -> str:
        session = secrets.token_hex(16)
        self.sessions[session] = user
        return session

    def issue(self, user: User, scopes: list[str], app: str | None = None, previous_refresh: str = "") -> Token:
        token = Token(
            secrets.token_hex(32), user, list(scopes), self.clock.now(), secrets.token_hex(32), self.clock,
            app=app, previous_refresh=previous_refresh,
        )  # fmt: skip
        self.tokens[token.value] = token
        self.refresh_tokens[token.refresh] = token
        return token

    def use(self, access_token: str) -> None:
        """An API request authenticated with ``access_token``: GitLab's auth finder calls
        ``revoke_previous_refresh_token!``, so the token it replaced (access and refresh) dies now."""
        with self.lock:
            token = self.tokens.get(access_token)
            if token is None or not token.previous_refresh:
                return
            old = self.refresh_tokens.get(token.previous_refresh)
            if old is not None:
                old.revoked = True
            token.previous_refresh = ""

    def expire(self, access_token: str) -> None:
        """Age one token past its lifetime (the clock of every other token stays)."""
        token = self.tokens[access_token]
        token.created_at = self.clock.now() - token.expires_in - 1

    def project_by_ref(self, ref: str) -> Project | None:
        for project in self.projects.values():
            if ref == str(project.id) or ref == project.path_with_namespace:
                return project
        return None


def s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
