"""One gitlab-ci-local process: how it is found, started, read and stopped.

The process runs in its own session (process group) so cancel stops the jobs' shells too. Its
environment is built here, not inherited: PATH, HOME, locale and the object-store variables
the jobs need; never the hub API token or the GitLab token.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Awaitable, Callable

from .errors import PipelineError

GITLAB_CI_LOCAL_VERSION = "4.73.0"
_REPO_BIN = Path(__file__).resolve().parents[4] / "node_modules" / ".bin" / "gitlab-ci-local"
_PASSED_ENV = ("PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR", "USER", "SHELL")


def find_gitlab_ci_local(configured: str = "") -> str:
    """The configured path, else the repository's node_modules, else the PATH."""
    for candidate in (configured, os.environ.get("HYBRIDHUB_GITLAB_CI_LOCAL", ""), str(_REPO_BIN)):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    found = shutil.which("gitlab-ci-local")
    if not found:
        raise PipelineError("runner_missing")
    return found


def check_tools(configured: str = "") -> str:
    tool = find_gitlab_ci_local(configured)
    if not shutil.which("rsync"):
        raise PipelineError("rsync_missing")
    return tool


def job_env(extra: dict[str, str]) -> dict[str, str]:
    env = {k: os.environ[k] for k in _PASSED_ENV if k in os.environ}
    env.setdefault("PATH", "/usr/local/bin:/usr/bin:/bin")
    # this server's interpreter (its venv has the example project's libraries); not through PATH,
    # which the job's login shell may reorder (pyenv, conda). The template runs "${HYBRIDHUB_PYTHON:-python3}".
    env["HYBRIDHUB_PYTHON"] = sys.executable
    env.update({"FORCE_COLOR": "0", "NO_COLOR": "1", "CI_LOCAL": "true"})
    env.update({k: v for k, v in extra.items() if v})
    return env


def argv_for(tool: str, variables: list[dict], jobs: list[str] = ()) -> list[str]:
    argv = [tool, "--shell-isolation", "--force-shell-executor", "--no-color", "--max-job-name-padding", "0"]
    for var in variables:
        argv += ["--variable", f"{var['key']}={var['value']}"]
    return argv + list(jobs)


@dataclass
class JobEvent:
    job: str
    kind: str  # "started" | "finished" | "result"
    failed: bool = False
    allowed: bool = False


def parse_line(line: str, names: list[str]) -> JobEvent | None:
    """Events in gitlab-ci-local's output: ``<job> starting …``, ``<job> finished in … [FAIL n]``
    and the summary lines `` PASS  <job>`` / `` FAIL  <job>`` / `` WARN  <job>``."""
    stripped = line.strip()
    for mark in ("PASS", "FAIL", "WARN"):
        if stripped.startswith(mark + " "):
            job = stripped[len(mark):].strip()
            if job in names:
                return JobEvent(job, "result", failed=mark != "PASS", allowed=mark == "WARN")
    for name in sorted(names, key=len, reverse=True):
        if line.startswith(name + " "):
            rest = line[len(name):].strip()
            if rest.startswith("starting "):
                return JobEvent(name, "started")
            if rest.startswith("finished in "):
                failed = " FAIL " in f" {rest} " or " WARN " in f" {rest} "
                return JobEvent(name, "finished", failed=failed, allowed=" WARN " in f" {rest} ")
            return None
    return None


class CiLocalProcess:
    """Start, read line by line, time out, kill (whole process group)."""

    def __init__(self, argv: list[str], cwd: Path, env: dict[str, str], timeout: float) -> None:
        self.argv, self.cwd, self.env, self.timeout = argv, cwd, env, timeout
        self.proc: asyncio.subprocess.Process | None = None
        self.timed_out = False
        self.canceled = False
        self.tail: list[str] = []  # the tool's own lines (not job output), for error details

    async def run(self, on_line: Callable[[str], Awaitable[None] | None]) -> int:
        self.proc = await asyncio.create_subprocess_exec(
            *self.argv,
            cwd=self.cwd,
            env=self.env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            await asyncio.wait_for(self._read(on_line), self.timeout)
        except asyncio.TimeoutError:
            self.timed_out = True
            await self.kill()
        except asyncio.CancelledError:
            self.canceled = True
            await asyncio.shield(self.kill(grace=2.0))
            raise
        return await self.proc.wait()

    async def _read(self, on_line) -> None:
        assert self.proc and self.proc.stdout
        while True:
            raw = await self.proc.stdout.readline()
            if not raw:
                break
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            if " > " not in line[:80]:
                self.tail = (self.tail + [line])[-20:]
            result = on_line(line)
            if asyncio.iscoroutine(result):
                await result
        await self.proc.wait()

    async def kill(self, grace: float = 5.0) -> None:
        """SIGTERM to the group, SIGKILL after ``grace`` seconds."""
        proc = self.proc
        if proc is None or proc.returncode is not None:
            return
        for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, grace)):
            try:
                os.killpg(proc.pid, sig)
            except ProcessLookupError:
                return
            try:
                await asyncio.wait_for(proc.wait(), wait)
                break
            except asyncio.TimeoutError:
                continue
        try:  # children that outlived the leader
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
