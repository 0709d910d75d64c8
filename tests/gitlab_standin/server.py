"""The stand-in's HTTP server: a strict router in front of the OAuth, API and git handlers."""

from __future__ import annotations

import json
import re
import ssl
import threading
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from . import api, githttp, oauth
from .state import World
from .tls import make_ca_and_server_cert


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    cookies: dict[str, str]

    def param(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[-1] if values else default

    def form(self) -> dict[str, str]:
        return {k: v[-1] for k, v in parse_qs(self.body.decode(), keep_blank_values=True).items()}

    def json(self) -> dict:
        ctype = self.headers.get("content-type", "")
        if ctype.startswith("application/json"):
            return json.loads(self.body or b"{}")
        return self.form()


@dataclass
class Response:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, data, status: int = 200, headers: dict | None = None) -> "Response":
        return cls(status, json.dumps(data).encode(), {"Content-Type": "application/json", **(headers or {})})

    @classmethod
    def redirect(cls, location: str) -> "Response":
        return cls(302, b"", {"Location": location})


class StrictError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


class GitLabStandIn:
    """Start with ``with GitLabStandIn(tmp) as gitlab:``; ``gitlab.url`` is its base URL."""

    def __init__(self, root: Path, tls: bool = False):
        """``tls=True``: serve HTTPS with a certificate from a fresh CA (``self.ca_bundle``)."""
        self.world = World(Path(root))
        self.tls = tls
        self.ca_bundle: Path | None = None
        self.violations: list[str] = []
        self.log: list[str] = []  # request lines (method, path and query), like an access log
        self.offline = False  # True: every request is dropped (connection closed), as if down
        self.routes = oauth.ROUTES + api.ROUTES
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"{'https' if self.tls else 'http'}://{host}:{port}"

    def start(self) -> "GitLabStandIn":
        standin = self

        class Handler(_Handler):
            gitlab = standin

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        if self.tls:
            self.ca_bundle, cert, key = make_ca_and_server_cert(self.world.root / "tls")
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(cert, key)
            self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self._thread = threading.Thread(target=self._server.serve_forever, name="gitlab-standin", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(timeout=10)
            self._server = None

    def __enter__(self) -> "GitLabStandIn":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def violation(self, status: int, message: str) -> StrictError:
        self.violations.append(message)
        return StrictError(status, f"gitlab stand-in: {message}")

    def dispatch(self, request: Request) -> Response:
        if githttp.is_git_path(request.path):
            return githttp.handle(self, request)
        if request.path.startswith("/api/v4/"):
            # GitLab's API auth finder (find_oauth_access_token) revokes the token a refreshed
            # access token replaced, the first time the new one is used
            header = request.headers.get("authorization", "")
            if header.startswith("Bearer "):
                self.world.use(header[7:])
        matched_path = False
        for method, pattern, handler, params in self.routes:
            match = re.fullmatch(pattern, request.path)
            if not match:
                continue
            matched_path = True
            if method != request.method:
                continue
            unknown = set(request.query) - set(params) if params is not None else set()  # None: any
            if unknown:
                raise self.violation(400, f"unsupported query parameter(s) {sorted(unknown)} for {method} {request.path}")
            return handler(self, request, *match.groups())
        if matched_path:
            raise self.violation(405, f"method {request.method} not supported on {request.path}")
        raise self.violation(404, f"unknown path {request.method} {request.path}")


class _Handler(BaseHTTPRequestHandler):
    gitlab: GitLabStandIn
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):  # requests are kept in gitlab.log instead of stderr
        pass

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    self.rfile.readline()
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _serve(self) -> None:
        if self.gitlab.offline:
            self.close_connection = True
            self.connection.close()
            return
        parts = urlsplit(self.path)
        self.gitlab.log.append(f"{self.command} {self.path}")
        cookies = SimpleCookie(self.headers.get("Cookie", ""))
        request = Request(
            self.command,
            parts.path,
            parse_qs(parts.query, keep_blank_values=True),
            {k.lower(): v for k, v in self.headers.items()},
            self._read_body(),
            {k: m.value for k, m in cookies.items()},
        )
        try:
            response = self.gitlab.dispatch(request)
        except StrictError as e:
            response = Response.json({"error": str(e)}, e.status)
        except Exception as e:  # a bug in the stand-in must not look like a GitLab answer
            self.gitlab.violations.append(f"stand-in crashed on {request.method} {request.path}: {e!r}")
            response = Response.json({"error": "gitlab stand-in internal error"}, 500)
        self.send_response(response.status)
        for key, value in response.headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        self.wfile.write(response.body)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _serve
