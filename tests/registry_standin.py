"""A container registry stand-in (a test double): only what the distribution specification says a
client meets when it checks that an image can be pulled, over HTTPS on 127.0.0.1.

- ``GET /v2/``: 200 with a valid bearer token, else 401 with
  ``WWW-Authenticate: Bearer realm="<url>/token",service="<service>"`` (API spec, "API Version
  Check" and "Authentication": https://distribution.github.io/distribution/spec/api/); every answer
  carries ``Docker-Distribution-API-Version: registry/2.0``.
- ``GET /token?service=…&scope=repository:<name>:pull`` (token spec:
  https://distribution.github.io/distribution/spec/auth/token/): HTTP Basic credentials optional;
  wrong ones → 401; otherwise 200 ``{"token", "access_token", "expires_in", "issued_at"}`` granting
  the requested ``pull`` only where the account (or anonymous access) may pull — the spec's token
  server grants the intersection of what is asked and what is allowed, possibly nothing.
- ``HEAD /v2/<name>/manifests/<reference>``: without a token granting pull of ``<name>``, 401 with
  the challenge plus ``scope="repository:<name>:pull"`` (and ``error="insufficient_scope"`` when a
  token was sent); with one, 200 with ``Docker-Content-Digest``, ``Content-Type`` and
  ``Content-Length`` for a known tag or digest, 404 for an unknown one (a HEAD has no body).

Anything else is a 404 the test sees in ``violations``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
import ssl
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from tests.gitlab_standin.tls import make_ca_and_server_cert

MANIFEST_TYPE = "application/vnd.oci.image.manifest.v1+json"


@dataclass
class Repository:
    tags: dict[str, str] = field(default_factory=dict)  # tag -> digest
    readers: set[str] = field(default_factory=set)  # accounts that may pull
    public: bool = False  # anonymous pull allowed


class RegistryStandIn:
    """``with RegistryStandIn(tmp) as registry:``; ``registry.host`` is ``127.0.0.1:<port>``."""

    def __init__(self, root: Path, service: str = "registry.standin"):
        self.root = Path(root)
        self.service = service
        self.accounts: dict[str, str] = {}  # username -> password
        self.repositories: dict[str, Repository] = {}
        self.tokens: dict[str, set[str]] = {}  # token -> repositories it may pull
        self.violations: list[str] = []
        self.log: list[str] = []
        self.ca_bundle: Path | None = None
        self._server: ThreadingHTTPServer | None = None

    @property
    def host(self) -> str:
        host, port = self._server.server_address[:2]
        return f"{host}:{port}"

    def push(self, name: str, tag: str, readers: set[str] = frozenset(), public: bool = False) -> str:
        """Make ``name:tag`` pullable (by ``readers``, or by anyone when ``public``); its digest."""
        digest = "sha256:" + hashlib.sha256(f"{name}:{tag}".encode()).hexdigest()
        repo = self.repositories.setdefault(name, Repository())
        repo.tags[tag] = digest
        repo.readers |= set(readers)
        repo.public = repo.public or public
        return digest

    def start(self) -> "RegistryStandIn":
        registry = self

        class Handler(_Handler):
            standin = registry

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.ca_bundle, cert, key = make_ca_and_server_cert(self.root / "tls")
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert, key)
        self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        threading.Thread(target=self._server.serve_forever, name="registry-standin", daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> "RegistryStandIn":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- the protocol ------------------------------------------------------------------------
    def challenge(self, scope: str = "", error: str = "") -> str:
        value = f'Bearer realm="https://{self.host}/token",service="{self.service}"'
        if scope:
            value += f',scope="{scope}"'
        if error:
            value += f',error="{error}"'
        return value

    def account(self, header: str) -> tuple[bool, str | None]:
        """(credentials valid or absent, username) from a Basic Authorization header."""
        if not header:
            return True, None
        if not header.startswith("Basic "):
            return False, None
        try:
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        except ValueError:
            return False, None
        return self.accounts.get(user) == password and user in self.accounts, user

    def issue(self, user: str | None, scope: str) -> str:
        granted = set()
        match = re.fullmatch(r"repository:([^:]+):([a-z,*]+)", scope or "")
        if match and "pull" in match.group(2).split(","):
            repo = self.repositories.get(match.group(1))
            if repo is not None and (repo.public or (user is not None and user in repo.readers)):
                granted.add(match.group(1))
        token = secrets.token_urlsafe(24)
        self.tokens[token] = granted
        return token


class _Handler(BaseHTTPRequestHandler):
    standin: RegistryStandIn
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):
        pass

    def _send(self, status: int, headers: dict | None = None, body: bytes = b"", head: bool = False) -> None:
        self.send_response(status)
        headers = {"Docker-Distribution-API-Version": "registry/2.0", **(headers or {})}
        if body and "Content-Type" not in headers:
            headers["Content-Type"] = "application/json"
        headers.setdefault("Content-Length", str(len(body)))
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def _errors(self, code: str, message: str) -> bytes:
        return json.dumps({"errors": [{"code": code, "message": message, "detail": None}]}).encode()

    def _bearer(self) -> set[str] | None:
        header = self.headers.get("Authorization", "")
        return self.standin.tokens.get(header[7:]) if header.startswith("Bearer ") else None

    def do_GET(self):
        url = urlsplit(self.path)
        self.standin.log.append(f"GET {url.path}")
        if url.path == "/v2/":
            if self._bearer() is None:
                return self._send(401, {"WWW-Authenticate": self.standin.challenge()},
                                  self._errors("UNAUTHORIZED", "authentication required"))
            return self._send(200, body=b"{}")
        if url.path == "/token":
            query = {k: v[-1] for k, v in parse_qs(url.query).items()}
            valid, user = self.standin.account(self.headers.get("Authorization", ""))
            if not valid:
                return self._send(401, body=json.dumps({"details": "incorrect username or password"}).encode())
            token = self.standin.issue(user, query.get("scope", ""))
            issued = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
            return self._send(200, body=json.dumps({"token": token, "access_token": token, "expires_in": 300,
                                                    "issued_at": issued}).encode())
        self.standin.violations.append(f"GET {url.path}")
        return self._send(404, body=self._errors("UNSUPPORTED", "not served by the stand-in"))

    def do_HEAD(self):
        url = urlsplit(self.path)
        self.standin.log.append(f"HEAD {url.path}")
        match = re.fullmatch(r"/v2/(.+)/manifests/([^/]+)", url.path)
        if not match:
            self.standin.violations.append(f"HEAD {url.path}")
            return self._send(404, head=True)
        name, reference = match.groups()
        granted = self._bearer()
        if granted is None or name not in granted:
            error = "insufficient_scope" if granted is not None else ""
            return self._send(401, {"WWW-Authenticate": self.standin.challenge(f"repository:{name}:pull", error)},
                              head=True)
        repo = self.standin.repositories[name]
        digest = repo.tags.get(reference) or (reference if reference in repo.tags.values() else None)
        if digest is None:
            return self._send(404, head=True)
        return self._send(200, {"Docker-Content-Digest": digest, "Content-Type": MANIFEST_TYPE,
                                 "Content-Length": "512"}, head=True)
