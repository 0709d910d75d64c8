"""GitLab actions of the panel: merge requests, the user's projects, clone.

python-gitlab is synchronous (requests), so calls run in a worker thread with a timeout; the
token and CA bundle come from :class:`GitSettings`. GitLab errors become reason codes.
"""

from __future__ import annotations

import asyncio
import os
import re
from concurrent.futures import ThreadPoolExecutor

import gitlab
import requests

from .classify import UNTRUSTED
from .errors import GitError
from .limits import MAX_DESCRIPTION, MAX_TITLE, check_branch, check_text
from .repo import GitService

_executor = ThreadPoolExecutor(max_workers=2, thread_name_prefix="hybridhub-gitlab")
_DIR_NAME = re.compile(r"[A-Za-z0-9._-]{1,255}")


def _project_summary(project) -> dict:
    attrs = project.attributes if hasattr(project, "attributes") else project
    return {
        "id": attrs["id"],
        "name": attrs.get("name"),
        "path": attrs.get("path"),
        "path_with_namespace": attrs.get("path_with_namespace"),
        "web_url": attrs.get("web_url"),
        "default_branch": attrs.get("default_branch"),
    }


def _mr_summary(mr) -> dict:
    a = mr.attributes
    keys = ("iid", "title", "web_url", "source_branch", "target_branch", "state")
    return {key: a.get(key) for key in keys}


class GitLabActions:
    def __init__(self, service: GitService):
        self.service = service
        self.settings = service.settings

    def _client(self, token: str) -> gitlab.Gitlab:
        if not self.settings.gitlab_configured:
            raise GitError("gitlab_not_configured")
        if not token:
            raise GitError("token_expired", "This server has no GitLab token. Log in to the hub with GitLab, then restart your server.")
        return gitlab.Gitlab(
            self.settings.gitlab_url,
            oauth_token=token,
            ssl_verify=self.settings.gitlab_ca_bundle or True,
            timeout=min(self.settings.network_timeout, 30),
        )

    async def _with_client(self, fn, *args):
        """``fn(client, *args)`` with a token that is not about to expire; when GitLab refuses it
        (401), once more with the token the hub renewed."""
        await self.settings.renew_token()
        token = self.settings.token()
        try:
            return await self._call(fn, self._client(token), *args)
        except GitError as e:
            if e.reason != "token_expired" or not await self.settings.renew_token(rejected=token):
                raise
        return await self._call(fn, self._client(self.settings.token()), *args)

    async def _call(self, fn, *args):
        loop = asyncio.get_running_loop()
        try:
            return await asyncio.wait_for(loop.run_in_executor(_executor, fn, *args), self.settings.network_timeout)
        except asyncio.TimeoutError:
            raise GitError("gitlab_unreachable", "GitLab did not answer in time. Try again later.") from None
        except GitError:
            raise
        except gitlab.exceptions.GitlabAuthenticationError as e:
            raise GitError("token_expired", details=_safe(e)) from None
        except gitlab.exceptions.GitlabError as e:
            raise _from_http(e) from None
        except requests.exceptions.SSLError as e:
            raise GitError("gitlab_unreachable", UNTRUSTED, type(e).__name__) from None
        except (requests.exceptions.RequestException, OSError) as e:
            raise GitError("gitlab_unreachable", details=type(e).__name__) from None

    # ---- merge requests ----------------------------------------------------------------

    async def merge_request(self, relative: str, title, description="", target=None) -> dict:
        if not self.settings.gitlab_configured:
            raise GitError("gitlab_not_configured")
        if not isinstance(title, str) or not title.strip():
            raise GitError("invalid_request", "Give the merge request a title.")
        check_text(title, "title", MAX_TITLE)
        check_text(description, "description", MAX_DESCRIPTION, lines=True)
        if target is not None:
            check_branch(target)
        repo = await self.service.toplevel(relative)
        async with self.service.locked(repo):
            branch = await self.service._current_branch(repo)
            _, url = await self.service._remote(repo)
            project_path = self.settings.project_path(url)
            if project_path is None:
                raise GitError("invalid_request", "This repository's remote is not on the configured GitLab.")
            await self.service._push(repo)  # the source branch must exist on GitLab
        return await self._with_client(self._create_mr, project_path, branch, title.strip(), description or "", target)

    @staticmethod
    def _create_mr(client, project_path, branch, title, description, target) -> dict:
        project = client.projects.get(project_path)
        target = target or project.attributes.get("default_branch") or "main"
        if target == branch:
            raise GitError("invalid_request", "Create a new branch first: a merge request needs a branch other than the target.")
        try:
            mr = project.mergerequests.create(
                {"source_branch": branch, "target_branch": target, "title": title, "description": description}
            )
        except gitlab.exceptions.GitlabCreateError as e:
            if e.response_code != 409:
                raise
            existing = project.mergerequests.list(source_branch=branch, target_branch=target, state="opened", get_all=False)
            if not existing:
                raise
            return {**_mr_summary(existing[0]), "existing": True}
        return {**_mr_summary(mr), "existing": False}

    # ---- projects and clone ------------------------------------------------------------

    async def projects(self, search: str = "") -> list[dict]:
        check_text(search, "search")
        return await self._with_client(self._list_projects, search or "")

    @staticmethod
    def _list_projects(client, search: str) -> list[dict]:
        params = {"membership": True, "simple": True, "order_by": "last_activity_at", "per_page": 50, "get_all": False}
        if search:
            params["search"] = search
        return [_project_summary(p) for p in client.projects.list(**params)]

    async def clone(self, relative: str, project, directory: str | None = None) -> dict:
        if not isinstance(project, (int, str)) or project == "":
            raise GitError("invalid_request", "Choose a project to clone.")
        if isinstance(project, bool) or (isinstance(project, int) and not 0 < project < 2**53):
            raise GitError("invalid_request", "A project id is a positive whole number.")
        if isinstance(project, str):
            check_text(project, "project")
        if directory is not None:
            check_text(directory, "directory")
        parent = self.service.resolve(relative)
        if not parent.is_dir():
            raise GitError("no_such_folder", details=relative)
        info = await self._with_client(self._project_info, project)
        url = info["http_url_to_repo"]
        if not self.settings.is_gitlab_remote(url):  # never send the token to another host
            raise GitError("gitlab_error", "GitLab gave a clone URL on another host; refusing to send the token there.")
        name = directory or info["path"]
        if not isinstance(name, str) or not _DIR_NAME.fullmatch(name) or name in (".", ".."):
            raise GitError("invalid_request", "The folder name may only use letters, digits, '.', '_' and '-'.")
        destination = parent / name
        if os.path.lexists(destination):  # a dangling symlink too (git refuses it, but with a raw error)
            raise GitError("destination_exists")
        async with self.service.locked(destination):
            await self.service.git(
                parent,
                ["clone", "--quiet", "--", url, name],
                network=True,
                credentials=self.service._credentials(url),
                op="clone",
            )
        return {"repository": self.service.relative(destination), "project": info["path_with_namespace"]}

    @staticmethod
    def _project_info(client, project) -> dict:
        p = client.projects.get(project)
        return {**_project_summary(p), "http_url_to_repo": p.attributes["http_url_to_repo"]}


def _safe(error: gitlab.exceptions.GitlabError) -> str:
    return f"HTTP {error.response_code}" if error.response_code else type(error).__name__


def _from_http(error: gitlab.exceptions.GitlabError) -> GitError:
    code = error.response_code
    if code == 401:
        return GitError("token_expired", details=_safe(error))
    if code == 403:
        return GitError("access_denied", details=_safe(error))
    if code == 404:
        return GitError("no_such_project", details=_safe(error))
    if code == 409:
        return GitError("merge_request_exists", details=_safe(error))
    if code and code >= 500:
        return GitError("gitlab_unreachable", "GitLab had an internal error. Try again later.", _safe(error))
    return GitError("gitlab_error", details=f"{_safe(error)}: {error.error_message}")
