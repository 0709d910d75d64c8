"""The git core of the commit & push panel: async, one operation at a time per repository.

Knows nothing of jupyter-server: handlers call these methods and turn :class:`GitError` into
JSON. Every path comes in relative to the server root and is confined to it.
"""

from __future__ import annotations

import asyncio
import os
import re
from contextlib import asynccontextmanager
from pathlib import Path

from . import runner
from .classify import classify
from .errors import GitError
from .limits import check_branch, check_files, check_message, check_path
from .settings import GitSettings
from .status import parse_status

_NOTHING_TO_COMMIT = re.compile(r"^(nothing to commit|nothing added to commit|no changes added to commit)", re.M)


class GitService:
    def __init__(self, root: str | Path, settings: GitSettings):
        self.root = Path(os.path.realpath(root))
        # the server's absolute path never reaches an answer: git's words name it relative to the root
        self._root_names = sorted({str(self.root), os.path.abspath(root)}, key=len, reverse=True)
        self.settings = settings
        self._locks: dict[str, asyncio.Lock] = {}
        self._toplevels: dict[Path, Path] = {}  # folder -> repository top level

    # ---- paths and locking -------------------------------------------------------------

    def resolve(self, relative: str) -> Path:
        """An absolute path inside the server root (symlinks resolved), or ``invalid_path``."""
        check_path(relative)
        path = Path(os.path.realpath(self.root / relative.lstrip("/")))
        if path != self.root and self.root not in path.parents:
            raise GitError("invalid_path")
        return path

    def scrub(self, text: str) -> str:
        """``text`` with the server root's absolute path removed (paths become workspace-relative)."""
        for name in self._root_names:
            text = text.replace(name + "/", "").replace(name, ".")
        return text

    def scrubbed(self, error: GitError) -> GitError:
        """``error`` with the server root's absolute path removed from its message and details."""
        error.message, error.details = self.scrub(error.message), self.scrub(error.details or "")
        return error

    def relative(self, path: Path) -> str:
        return "" if path == self.root else path.relative_to(self.root).as_posix()

    @asynccontextmanager
    async def locked(self, repo: Path):
        lock = self._locks.setdefault(str(repo), asyncio.Lock())
        async with lock:
            yield

    async def git(self, repo: Path, args: list[str], network: bool = False, credentials=None, check=True, op=None):
        timeout = self.settings.network_timeout if network else self.settings.timeout
        if credentials is not None and await self.settings.renew_token():  # expires within the margin
            credentials = runner.Credentials(credentials.username, self.settings.token(), credentials.ca_bundle)
        result = await runner.run_git(args, repo, timeout, credentials=credentials)
        if (
            credentials is not None
            and result.returncode != 0
            and classify(result.stderr + result.stdout, op or args[0], True).reason == "token_expired"
            and await self.settings.renew_token(rejected=credentials.token)
        ):  # GitLab refused the token: once more with the fresh one (nothing was changed)
            credentials = runner.Credentials(credentials.username, self.settings.token(), credentials.ca_bundle)
            result = await runner.run_git(args, repo, timeout, credentials=credentials)
        if check and result.returncode != 0:
            raise classify(result.stderr + result.stdout, op or args[0], credentials is not None)
        return result

    async def toplevel(self, relative: str) -> Path:
        folder = self.resolve(relative)
        if not folder.is_dir():
            folder = folder.parent
            if not folder.is_dir():
                raise GitError("no_such_folder", details=relative)
        cached = self._toplevels.get(folder)
        if cached is not None and (cached / ".git").exists():
            return cached
        result = await runner.run_git(["rev-parse", "--show-toplevel"], folder, self.settings.timeout)
        if result.returncode != 0:
            raise GitError("not_a_repository")
        top = Path(os.path.realpath(result.stdout.strip()))
        if top != self.root and self.root not in top.parents:
            raise GitError("not_a_repository", "The git repository of this folder is outside the workspace.")
        self._toplevels[folder] = top
        return top

    # ---- reading -----------------------------------------------------------------------

    async def status(self, relative: str = "") -> dict:
        repo = await self.toplevel(relative)
        async with self.locked(repo):
            result = await self.git(repo, ["status", "--porcelain=v2", "--branch", "-z", "--untracked-files=all"])
            status = parse_status(result.stdout)
            remote = self._pick_remote(await self._remote_config(repo), status["branch"])
        status["repository"] = self.relative(repo)
        status["remote"] = remote[0] if remote else None
        status["on_gitlab"] = bool(remote and self.settings.is_gitlab_remote(remote[1]))
        status["gitlab_configured"] = self.settings.gitlab_configured
        return status

    async def branches(self, relative: str = "") -> dict:
        repo = await self.toplevel(relative)
        async with self.locked(repo):
            result = await self.git(
                repo, ["for-each-ref", "--format=%(refname)%00%(upstream:short)%00%(HEAD)", "refs/heads", "refs/remotes"]
            )
        local, remote, current = [], [], None
        for line in result.stdout.splitlines():
            ref, upstream, head = line.split("\0")
            if ref.startswith("refs/heads/"):
                name = ref[len("refs/heads/") :]
                local.append({"name": name, "upstream": upstream or None})
                current = name if head == "*" else current
            elif not ref.endswith("/HEAD"):
                remote.append(ref[len("refs/remotes/") :])
        return {"repository": self.relative(repo), "current": current, "local": local, "remote": remote}

    # ---- local changes -----------------------------------------------------------------

    def _files(self, repo: Path, files) -> list[str]:
        checked = []
        for name in check_files(files):
            path = Path(os.path.realpath(repo / name)) if not os.path.islink(repo / name) else repo / name
            if path != repo and repo not in path.parents:
                raise GitError("invalid_path")
            checked.append(path.relative_to(repo).as_posix())
        return checked

    async def stage(self, relative: str, files) -> dict:
        repo = await self.toplevel(relative)
        paths = self._files(repo, files)
        async with self.locked(repo):
            await self.git(repo, ["add", "--all", "--", *paths])
        return await self.status(self.relative(repo))

    async def unstage(self, relative: str, files) -> dict:
        repo = await self.toplevel(relative)
        paths = self._files(repo, files)
        async with self.locked(repo):
            head = await self.git(repo, ["rev-parse", "--verify", "-q", "HEAD"], check=False)
            if head.returncode == 0:
                await self.git(repo, ["reset", "-q", "HEAD", "--", *paths])
            else:  # no commit yet
                await self.git(repo, ["rm", "-q", "--cached", "-r", "--", *paths])
        return await self.status(self.relative(repo))

    async def commit(self, relative: str, message: str) -> dict:
        check_message(message)
        repo = await self.toplevel(relative)
        async with self.locked(repo):
            identity = await self._identity(repo)
            result = await self.git(repo, [*identity, "commit", "-q", "-m", message.strip()], check=False)
            if result.returncode != 0:
                if _NOTHING_TO_COMMIT.search(result.stdout):
                    raise GitError("nothing_to_commit")
                raise classify(result.stderr + result.stdout, "commit", False)
            head = await self.git(repo, ["log", "-1", "--format=%H%x00%s"])
        sha, summary = head.stdout.rstrip("\n").split("\0", 1)
        return {"commit": sha, "summary": summary}

    async def _identity(self, repo: Path) -> list[str]:
        """Commit as the configured identity; fall back to the hub user so commits never fail."""
        if os.environ.get("GIT_AUTHOR_NAME") and os.environ.get("GIT_AUTHOR_EMAIL"):
            return []
        configured = await self.git(repo, ["config", "user.email"], check=False)
        if configured.returncode == 0 and configured.stdout.strip():
            return []
        user = os.environ.get("JUPYTERHUB_USER") or os.environ.get("USER") or "hybridhub-user"
        return ["-c", f"user.name={user}", "-c", f"user.email={user}@users.noreply.hybridhub.invalid"]

    # ---- branches ----------------------------------------------------------------------

    async def _check_branch_name(self, repo: Path, name) -> str:
        check_branch(name)
        result = await self.git(repo, ["check-ref-format", "--branch", name], check=False)
        if result.returncode != 0 or result.stdout.strip() != name:  # refused, or expanded (@{-1})
            raise GitError("invalid_branch_name")
        return name

    async def create_branch(self, relative: str, name, switch: bool = True) -> dict:
        repo = await self.toplevel(relative)
        async with self.locked(repo):
            name = await self._check_branch_name(repo, name)
            exists = await self.git(repo, ["rev-parse", "--verify", "-q", f"refs/heads/{name}"], check=False)
            if exists.returncode == 0:
                raise GitError("branch_exists")
            await self.git(repo, ["switch", "-c", name] if switch else ["branch", name], op="branch")
        return await self.branches(self.relative(repo))

    async def switch_branch(self, relative: str, name) -> dict:
        repo = await self.toplevel(relative)
        async with self.locked(repo):
            name = await self._check_branch_name(repo, name)
            result = await self.git(repo, ["switch", name], check=False)
            if result.returncode != 0:
                text = result.stderr.lower()
                if "invalid reference" in text or "not a commit" in text:
                    raise GitError("no_such_branch", details=result.stderr.strip())
                raise classify(result.stderr, "switch", False)
        return await self.branches(self.relative(repo))

    # ---- remote ------------------------------------------------------------------------

    async def _current_branch(self, repo: Path) -> str:
        result = await self.git(repo, ["symbolic-ref", "-q", "--short", "HEAD"], check=False)
        if result.returncode != 0:
            raise GitError("invalid_request", "You are not on a branch (detached HEAD). Create a branch first.")
        return result.stdout.strip()

    async def _remote_config(self, repo: Path) -> dict[str, str]:
        """``branch.*.remote`` and ``remote.*.url`` in one git call."""
        pattern = r"^(branch\..*\.remote|remote\..*\.url)$"
        result = await self.git(repo, ["config", "-z", "--get-regexp", pattern], check=False)
        entries = {}
        for item in result.stdout.split("\0"):
            key, _, value = item.partition("\n")
            if key:
                entries[key] = value
        return entries

    @staticmethod
    def _pick_remote(entries: dict[str, str], branch: str | None) -> tuple[str, str] | None:
        """(name, url) of the branch's remote, else ``origin``; None without one."""
        name = entries.get(f"branch.{branch}.remote", "origin") if branch else "origin"
        url = entries.get(f"remote.{name}.url")
        return (name, url) if url else None

    async def _remote(self, repo: Path) -> tuple[str, str]:
        branch = await self.git(repo, ["symbolic-ref", "-q", "--short", "HEAD"], check=False)
        current = branch.stdout.strip() if branch.returncode == 0 else None
        remote = self._pick_remote(await self._remote_config(repo), current)
        if remote is None:
            raise GitError("remote_not_configured")
        return remote

    def _credentials(self, remote_url: str):
        if self.settings.is_gitlab_remote(remote_url) and not self.settings.token():
            raise GitError(
                "token_expired",
                "This server has no GitLab token. Stop and start your server from the hub control panel "
                "after logging in with GitLab.",
            )
        return self.settings.credentials_for(remote_url)

    async def push(self, relative: str) -> dict:
        repo = await self.toplevel(relative)
        async with self.locked(repo):
            return await self._push(repo)

    async def _push(self, repo: Path) -> dict:
        branch = await self._current_branch(repo)
        remote, url = await self._remote(repo)
        credentials = self._credentials(url)
        await self.git(
            repo,
            ["push", "--porcelain", "--set-upstream", remote, f"refs/heads/{branch}:refs/heads/{branch}"],
            network=True,
            credentials=credentials,
        )
        return {"branch": branch, "remote": remote}

    async def pull(self, relative: str) -> dict:
        repo = await self.toplevel(relative)
        async with self.locked(repo):
            branch = await self._current_branch(repo)
            remote, url = await self._remote(repo)
            identity = await self._identity(repo)
            result = await self.git(
                repo,
                [*identity, "pull", "--no-rebase", "--no-edit", remote, branch],
                network=True,
                credentials=self._credentials(url),
                check=False,
            )
            if result.returncode != 0:
                if "couldn't find remote ref" in result.stderr.lower():
                    raise GitError("no_such_branch", "This branch is not on the remote yet: push it first.")
                raise classify(result.stderr + result.stdout, "pull", self.settings.is_gitlab_remote(url))
        return {"branch": branch, "remote": remote, "up_to_date": "Already up to date" in result.stdout}
