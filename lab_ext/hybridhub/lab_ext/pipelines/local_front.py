"""The stable front port of local serving: an HTTP reverse proxy to the current model server.

Each *request* (not each connection) goes to the server that is current when it arrives, so
a client that keeps its connection open moves to the new model server at the switch, and the
old one is stopped only when no request is in flight on it. Tornado, which the user's server
already runs on, does the HTTP.
"""

from __future__ import annotations

import json
from typing import Callable, Protocol

from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest
from tornado.httpserver import HTTPServer
from tornado.netutil import bind_sockets
from tornado.web import Application, RequestHandler

LOOPBACK = "127.0.0.1"
MAX_BODY = 16 * 1024 * 1024
# hop-by-hop headers (RFC 9110 §7.6.1) and those tornado sets itself from the body it writes
_NOT_FORWARDED = {"connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade",
                  "content-length", "host"}  # fmt: skip


class Target(Protocol):
    """What the front needs of a model server: its port and a count of requests in flight."""

    http: int
    connections: int


class _Forward(RequestHandler):
    SUPPORTED_METHODS = ("GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS")

    def initialize(self, current: Callable[[], Target | None], client: AsyncHTTPClient) -> None:
        self.current, self.client = current, client

    def _error(self, status: int, message: str) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps({"error": message}))

    async def _forward(self, *_args) -> None:
        target = self.current()
        if target is None:
            self._error(503, "no model is deployed yet: run the pipeline and approve its deploy job")
            return
        headers = {k: v for k, v in self.request.headers.get_all() if k.lower() not in _NOT_FORWARDED}
        request = HTTPRequest(
            f"http://{LOOPBACK}:{target.http}{self.request.uri}", method=self.request.method, headers=headers,
            body=self.request.body if self.request.method in ("POST", "PUT") else None, follow_redirects=False,
            decompress_response=False, allow_nonstandard_methods=True, request_timeout=120,
        )  # fmt: skip
        target.connections += 1
        try:
            response = await self.client.fetch(request, raise_error=False)
        except (HTTPClientError, OSError):
            self._error(502, "the model server did not answer")
            return
        finally:
            target.connections -= 1
        if response.code == 599:  # tornado's code for "no HTTP answer"
            self._error(502, "the model server did not answer")
            return
        self.set_status(response.code, response.reason)
        self.clear_header("Content-Type")
        for name, value in response.headers.get_all():
            if name.lower() not in _NOT_FORWARDED and name.lower() not in ("server", "date"):
                self.add_header(name, value)
        self.finish(response.body or b"")

    get = head = post = put = delete = options = _forward


class Front:
    """Listens on 127.0.0.1:``port`` (a free port when 0 or taken) and forwards to ``current()``."""

    def __init__(self, current: Callable[[], Target | None]) -> None:
        self.current = current
        self.port = 0
        self._server: HTTPServer | None = None
        self._client: AsyncHTTPClient | None = None

    def start(self, port: int) -> int:
        try:
            sockets = bind_sockets(port, LOOPBACK)
        except OSError:  # the configured port is taken (another user's server): any free one
            sockets = bind_sockets(0, LOOPBACK)
        self._client = AsyncHTTPClient(force_instance=True, max_clients=64)
        app = Application([(r"/.*", _Forward, {"current": self.current, "client": self._client})],
                          log_function=lambda handler: None)  # fmt: skip
        self._server = HTTPServer(app, max_body_size=MAX_BODY, xheaders=False)
        self._server.add_sockets(sockets)
        self.port = sockets[0].getsockname()[1]
        return self.port

    async def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            await self._server.close_all_connections()
            self._server = None
        if self._client is not None:
            self._client.close()
            self._client = None
