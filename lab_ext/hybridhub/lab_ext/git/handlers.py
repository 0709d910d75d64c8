"""Thin REST handlers of the commit & push panel: read the body, call the core, write JSON."""

from __future__ import annotations


from jupyter_server.auth.decorator import authorized
from tornado import web

from ..base_handler import HybridHubHandler
from .errors import GitError
from .gitlab_api import GitLabActions
from .repo import GitService
from .settings import GitSettings


def git_settings(code_home) -> GitSettings:
    return GitSettings(
        gitlab_url=code_home.gitlab_url.rstrip("/"),
        gitlab_token=code_home.gitlab_token,
        token_source=code_home.gitlab_token_source,
        gitlab_ca_bundle=code_home.gitlab_ca_bundle,
        timeout=code_home.git_timeout,
        network_timeout=code_home.git_network_timeout,
    )


class GitHandler(HybridHubHandler):
    area = "git"
    error_class = GitError

    @property
    def service(self) -> GitService:
        return self.shared("git_service", lambda state: GitService(self.root_dir, git_settings(state["code_home"])))

    @property
    def gitlab(self) -> GitLabActions:
        return GitLabActions(self.service)

    def as_reason_error(self, error: BaseException) -> BaseException:
        if isinstance(error, GitError):  # git's words may name the server's absolute path
            return self.service.scrubbed(error)
        return error

    def path(self, data: dict | None = None) -> str:
        value = (data or {}).get("path", "") if data is not None else self.get_query_argument("path", "")
        if not isinstance(value, str):
            raise GitError("invalid_request", "'path' must be a string.")
        return value


class ConfigHandler(GitHandler):
    @web.authenticated
    @authorized
    def get(self):
        s = self.service.settings
        self.reply({"gitlab_configured": s.gitlab_configured, "gitlab_url": s.gitlab_url, "token_present": bool(s.token())})


class StatusHandler(GitHandler):
    @web.authenticated
    @authorized
    async def get(self):
        self.reply(await self.service.status(self.path()))


class StageHandler(GitHandler):
    @web.authenticated
    @authorized
    async def post(self):
        data = self.body()
        if data.get("unstage"):
            self.reply(await self.service.unstage(self.path(data), data.get("files")))
        else:
            self.reply(await self.service.stage(self.path(data), data.get("files")))


class CommitHandler(GitHandler):
    @web.authenticated
    @authorized
    async def post(self):
        data = self.body()
        self.reply(await self.service.commit(self.path(data), data.get("message")))


class PushHandler(GitHandler):
    @web.authenticated
    @authorized
    async def post(self):
        self.reply(await self.service.push(self.path(self.body())))


class PullHandler(GitHandler):
    @web.authenticated
    @authorized
    async def post(self):
        self.reply(await self.service.pull(self.path(self.body())))


class BranchesHandler(GitHandler):
    @web.authenticated
    @authorized
    async def get(self):
        self.reply(await self.service.branches(self.path()))

    @web.authenticated
    @authorized
    async def post(self):
        data = self.body()
        if data.get("create", True):
            self.reply(await self.service.create_branch(self.path(data), data.get("name"), bool(data.get("switch", True))))
        else:
            self.reply(await self.service.switch_branch(self.path(data), data.get("name")))


class MergeRequestHandler(GitHandler):
    @web.authenticated
    @authorized
    async def post(self):
        data = self.body()
        result = await self.gitlab.merge_request(
            self.path(data), data.get("title"), data.get("description") or "", data.get("target") or None
        )
        self.reply(result)


class ProjectsHandler(GitHandler):
    @web.authenticated
    @authorized
    async def get(self):
        self.reply({"projects": await self.gitlab.projects(self.get_query_argument("search", ""))})


class CloneHandler(GitHandler):
    @web.authenticated
    @authorized
    async def post(self):
        data = self.body()
        self.reply(await self.gitlab.clone(self.path(data), data.get("project"), data.get("directory") or None))
