"""Smart-HTTP git, served by the real ``git http-backend`` (CGI) behind GitLab's checks.

Authentication is HTTP Basic with username ``oauth2`` and the OAuth access token as the
password, as GitLab accepts it. Reading needs Reporter and a repository-capable scope, pushing
needs Developer and ``write_repository`` (or ``api``); protected branches are enforced by the
bare repository's pre-receive hook (protection.py) with GitLab's own rejection messages.
"""

from __future__ import annotations

import base64
import os
import re
import subprocess

from .state import DEVELOPER, REPORTER

_GIT_PATH = re.compile(r"^/(.+)\.git/(info/refs|git-upload-pack|git-receive-pack)$")
_DENIED = (
    "HTTP Basic: Access denied. The provided password or token is incorrect or your account has 2FA enabled "
    "and you must use a personal access token instead of a password."
)


def is_git_path(path: str) -> bool:
    return bool(_GIT_PATH.match(path))


def _text(status: int, message: str, headers: dict | None = None):
    from .server import Response

    return Response(status, (message + "\n").encode(), {"Content-Type": "text/plain", **(headers or {})})


def _token(gitlab, request):
    header = request.headers.get("authorization", "")
    if not header.startswith("Basic "):
        return None
    username, _, password = base64.b64decode(header[6:]).decode(errors="replace").partition(":")
    token = gitlab.world.tokens.get(password)
    if username != "oauth2" or token is None or token.expired or token.revoked:
        return False
    return token


def handle(gitlab, request):
    path_with_namespace, action = _GIT_PATH.match(request.path).groups()
    allowed = {"service"} if action == "info/refs" else set()
    if set(request.query) - allowed:
        raise gitlab.violation(400, f"unsupported git query {sorted(request.query)}")
    service = request.param("service") if action == "info/refs" else action
    if service not in ("git-upload-pack", "git-receive-pack"):
        raise gitlab.violation(400, f"dumb HTTP or unknown service {service!r} is not supported")
    push = service == "git-receive-pack"

    token = _token(gitlab, request)
    if token is None:  # ask git for credentials, as GitLab does
        return _text(401, "HTTP Basic: Access denied", {"WWW-Authenticate": 'Basic realm="GitLab"'})
    if token is False:
        return _text(401, _DENIED, {"WWW-Authenticate": 'Basic realm="GitLab"'})
    needed = {"api", "write_repository"} if push else {"api", "read_api", "read_repository", "write_repository"}
    if not needed & set(token.scopes):
        return _text(403, "You are not allowed to push code to this project." if push else "You are not allowed to download code from this project.")
    project = gitlab.world.project_by_ref(path_with_namespace)
    level = project.members.get(token.user.id, 0) if project else 0
    if project is None or level < REPORTER:
        return _text(404, "The project you were looking for could not be found or you don't have permission to view it.")
    if push and level < DEVELOPER:
        return _text(403, "You are not allowed to push code to this project.")
    return _cgi(gitlab, request, project, token.user.username, level)


def _cgi(gitlab, request, project, username: str, level: int):
    from .server import Response

    relative = project.repo.relative_to(gitlab.world.root / "repos").as_posix()
    suffix = request.path.split(".git/", 1)[1]
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "GIT_PROJECT_ROOT": str(gitlab.world.root / "repos"),
        "GIT_HTTP_EXPORT_ALL": "1",
        "PATH_INFO": f"/{relative}/{suffix}",
        "REQUEST_METHOD": request.method,
        "QUERY_STRING": "&".join(f"{k}={v[-1]}" for k, v in request.query.items()),
        "CONTENT_TYPE": request.headers.get("content-type", ""),
        "CONTENT_LENGTH": str(len(request.body)),
        "REMOTE_USER": username,
        "REMOTE_ADDR": "127.0.0.1",
        "STANDIN_ACCESS_LEVEL": str(level),  # read by the pre-receive hook (protection.py)
        "STANDIN_URL": gitlab.url,
    }
    if "content-encoding" in request.headers:
        env["HTTP_CONTENT_ENCODING"] = request.headers["content-encoding"]
    if "git-protocol" in request.headers:
        env["GIT_PROTOCOL"] = request.headers["git-protocol"]
    result = subprocess.run(["git", "http-backend"], input=request.body, env=env, capture_output=True, timeout=60)
    head, _, body = result.stdout.partition(b"\r\n\r\n")
    status, headers = 200, {}
    for line in head.decode("latin-1").split("\r\n"):
        if not line:
            continue
        key, _, value = line.partition(":")
        if key.lower() == "status":
            status = int(value.strip().split()[0])
        else:
            headers[key.strip()] = value.strip()
    return Response(status, body, headers)
