"""The one place where git runs: ``asyncio.create_subprocess_exec`` with a timeout.

Tests that need to patch process execution patch :func:`run_git` here and nothing else.

Credentials: for commands that talk to GitLab, :class:`Credentials` hands git the token
through ``GIT_ASKPASS``: a tiny shell program (it holds no secret) that prints the username
or the token from variables present only in the environment of that one git process. The
token is never in argv, never in the remote URL, never on disk, never in a log line, and
``credential.helper`` is reset so that no helper configured by the user can store it.
"""

from __future__ import annotations

import asyncio
import atexit
import errno
import os
import shutil
import signal
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .errors import GitError

USERNAME_VAR = "HYBRIDHUB_GIT_ASKPASS_USERNAME"
PASSWORD_VAR = "HYBRIDHUB_GIT_ASKPASS_PASSWORD"

# printf is a shell builtin: the token never appears in any process's argv.
_ASKPASS_SCRIPT = f"""#!/bin/sh
case "$1" in
  Username*) printf '%s\\n' "${USERNAME_VAR}" ;;
  *) printf '%s\\n' "${PASSWORD_VAR}" ;;
esac
"""

# Variables of the user server that git must not inherit (secrets, or settings that would
# make it prompt or use another helper).
_DROPPED_PREFIXES = ("HYBRIDHUB_",)
_DROPPED = {"GIT_ASKPASS", "SSH_ASKPASS", "GIT_TERMINAL_PROMPT", "JUPYTERHUB_API_TOKEN", "JPY_API_TOKEN"}

_askpass_path: Path | None = None


def askpass_program() -> Path:
    """Path of the askpass program, written once per process into a private directory."""
    global _askpass_path
    if _askpass_path is None or not _askpass_path.exists():
        folder = Path(tempfile.mkdtemp(prefix="hybridhub-askpass-"))
        path = folder / "askpass"
        path.write_text(_ASKPASS_SCRIPT)
        path.chmod(stat.S_IRWXU)
        atexit.register(shutil.rmtree, folder, True)
        _askpass_path = path
    return _askpass_path


@dataclass(frozen=True)
class Credentials:
    """What git may answer when the remote asks; ``repr`` never shows the token."""

    username: str
    token: str
    ca_bundle: str = ""

    def __repr__(self) -> str:
        return f"Credentials(username={self.username!r}, token=<hidden>)"


@dataclass(frozen=True)
class GitResult:
    returncode: int
    stdout: str
    stderr: str


def base_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _DROPPED and not k.startswith(_DROPPED_PREFIXES)}
    env["GIT_TERMINAL_PROMPT"] = "0"  # never wait for a human on a terminal
    env["LC_ALL"] = "C"  # stable English messages, parsed for reason codes
    env["LANGUAGE"] = "C"
    return env


def redact(text: str, credentials: Credentials | None) -> str:
    if credentials and credentials.token:
        text = text.replace(credentials.token, "[token]")
    return text


def _kill(process) -> None:
    # git's helpers (git-remote-http, hooks) share its session: stop them all
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _not_started(error: BaseException, cwd: str | Path) -> GitError:
    """Why git could not even start, as a GitError that names no absolute path."""
    if isinstance(error, ValueError):  # an argument with a NUL character
        return GitError("invalid_request", "An argument contains a NUL character.")
    if error.errno == errno.E2BIG:
        return GitError("invalid_request", "Too many or too long file names for one git call: send fewer at a time.")
    if error.errno == errno.ENAMETOOLONG:
        return GitError("invalid_path", "The path is too long.")
    if not os.path.isdir(cwd):
        return GitError("no_such_folder")
    return GitError("git_error", "git could not be started: is it installed on the server?", type(error).__name__)


async def run_git(
    args: list[str],
    cwd: str | Path,
    timeout: float,
    credentials: Credentials | None = None,
    input_text: str | None = None,
) -> GitResult:
    """Run ``git <args>`` in ``cwd``; a timeout kills it and raises ``git_timeout``."""
    env = base_env()
    config = ["-c", "credential.helper=", "-c", "core.quotePath=false"]
    if credentials is not None:
        env["GIT_ASKPASS"] = str(askpass_program())
        env[USERNAME_VAR] = credentials.username
        env[PASSWORD_VAR] = credentials.token
        if credentials.ca_bundle:
            config += ["-c", f"http.sslCAInfo={credentials.ca_bundle}"]
            env["GIT_SSL_CAINFO"] = credentials.ca_bundle  # the variable wins over the config
    try:
        process = await asyncio.create_subprocess_exec(
            "git",
            *config,
            *args,
            cwd=str(cwd),
            env=env,
            stdin=asyncio.subprocess.PIPE if input_text is not None else asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            start_new_session=True,
        )
    except (OSError, ValueError) as e:
        raise _not_started(e, cwd) from None
    try:
        out, err = await asyncio.wait_for(
            process.communicate(input_text.encode() if input_text is not None else None), timeout
        )
    except asyncio.TimeoutError:
        _kill(process)
        await process.wait()
        raise GitError("git_timeout", f"git {args[0]} took longer than {timeout:g} s and was stopped.") from None
    except asyncio.CancelledError:
        _kill(process)
        await process.wait()
        raise
    return GitResult(
        process.returncode,
        redact(out.decode("utf-8", "replace"), credentials),
        redact(err.decode("utf-8", "replace"), credentials),
    )
