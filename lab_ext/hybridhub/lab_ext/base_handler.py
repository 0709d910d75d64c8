"""The one base class every hybridhub REST handler derives from.

Authentication comes from jupyter-server's APIHandler (token, cookie, XSRF); authorization
from ``@authorized`` with the ``hybridhub`` resource, so an authorizer can grant or deny the
extension as a whole.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable

from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import APIHandler
from tornado import web

from .reasons import ReasonError, RequestError, has_control

AUTH_RESOURCE = "hybridhub"
#: limits of a JSON request body: its size, and how deeply arrays and objects nest in it
MAX_BODY_BYTES = 2 * 1024 * 1024
MAX_JSON_DEPTH = 64
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not JSON")


def json_depth(value) -> int:
    """How deeply arrays and objects nest in ``value`` (a scalar: 0), without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            item = list(item.values())
        elif not isinstance(item, list):
            continue
        deepest = max(deepest, depth)
        if depth <= MAX_JSON_DEPTH:  # deeper than the limit: no need to look further
            stack.extend((child, depth + 1) for child in item)
    return deepest


def parse_json_object(raw: bytes) -> dict:
    """The JSON object in a request body (empty: ``{}``); ``ValueError`` with the reason otherwise.

    Limits: :data:`MAX_BODY_BYTES` bytes, :data:`MAX_JSON_DEPTH` levels of nesting; ``NaN`` and
    ``Infinity`` are refused (they are not JSON).
    """
    if len(raw) > MAX_BODY_BYTES:
        raise ValueError(f"The request body is larger than {MAX_BODY_BYTES // (1024 * 1024)} MiB.")
    try:
        data = json.loads(raw or b"{}", parse_constant=_refuse_constant)
        too_deep = json_depth(data) > MAX_JSON_DEPTH
    except RecursionError:
        too_deep = True
    except ValueError:
        raise ValueError("The request body is not valid JSON.") from None
    if too_deep:
        raise ValueError(f"The request body nests arrays or objects more than {MAX_JSON_DEPTH} levels deep.")
    if not isinstance(data, dict):
        raise ValueError("The request body must be a JSON object.")
    if _SURROGATE_ESCAPE.search(raw):  # a pair is text; a lone half would fail later, anywhere
        try:
            json.dumps(data, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError("The request body holds a lone UTF-16 surrogate (\\ud800-\\udfff), which is not text.") from None
    return data


class HybridHubHandler(APIHandler):
    auth_resource = AUTH_RESOURCE
    #: the area named in log lines ("storage", "git", "pipelines")
    area = "api"
    #: the ReasonError subclass this area answers with
    error_class: type[ReasonError] = RequestError

    @property
    def hybridhub(self) -> dict:
        """Per-server state set up once by :func:`~hybridhub.lab_ext.routes.setup_routes`."""
        return self.settings["hybridhub"]

    @property
    def root_dir(self) -> str:
        """The server root: the only folder the extension reads or writes."""
        return self.settings.get("server_root_dir") or self.contents_manager.root_dir

    def shared(self, key: str, make: Callable[[dict], object]):
        """The per-server object ``key`` in the hybridhub state, made by ``make(state)`` on first use."""
        state = self.hybridhub
        if key not in state:
            state[key] = make(state)
        return state[key]

    def invalid_request(self, message: str) -> ReasonError:
        cls = self.error_class if "invalid_request" in self.error_class.REASONS else RequestError
        return cls("invalid_request", message)

    async def prepare(self):
        await super().prepare()
        if self._finished or not self.current_user:
            return  # anonymous callers get the route's 401/403, never a hint about their input
        # tornado turns control characters in argument values into spaces and keeps them in
        # names: refuse them instead of acting on a rewritten value
        for name, values in self.request.query_arguments.items():  # names: latin-1 decoded by tornado
            if has_control(name) or any(has_control(v.decode("latin-1")) for v in values):
                raise self.invalid_request("A query parameter contains a control character.")
            try:
                name.encode("latin-1").decode("utf-8")
                for value in values:
                    value.decode("utf-8")
            except UnicodeError:
                raise self.invalid_request("A query parameter is not UTF-8 text.") from None

    def body(self) -> dict:
        """The request's JSON object (empty body: ``{}``); anything else is ``invalid_request``."""
        try:
            return parse_json_object(self.request.body)
        except ValueError as e:
            raise self.invalid_request(str(e)) from None

    def reply(self, data, status: int | None = None) -> None:
        if status is not None:
            self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(data))

    def as_reason_error(self, error: BaseException) -> BaseException:
        """Hook: map an area's own exceptions to its ReasonError (default: unchanged)."""
        return error

    @classmethod
    def allowed_methods(cls) -> list[str]:
        """The HTTP methods this route implements (OPTIONS: jupyter-server's CORS preflight)."""
        return [m for m in cls.SUPPORTED_METHODS
                if m != "OPTIONS" and getattr(cls, m.lower()) is not getattr(web.RequestHandler, m.lower())]  # fmt: skip

    def _from_http_error(self, e: web.HTTPError) -> BaseException:
        """tornado's and jupyter-server's own errors (invalid UTF-8 in an argument, no login, XSRF,
        not authorized, a method the route lacks) answered with a reason code, their words kept."""
        message = e.log_message % e.args if e.log_message and e.args else e.log_message or ""
        if e.status_code == 400:
            return self.invalid_request(message)
        reason = RequestError.FOR_STATUS.get(e.status_code)
        return RequestError(reason, message or None) if reason else e

    def _handle_request_exception(self, e: BaseException) -> None:
        if isinstance(e, web.HTTPError):
            e = self._from_http_error(e)
        e = self.as_reason_error(e)
        if not isinstance(e, ReasonError):
            return super()._handle_request_exception(e)
        # the reason code only: messages may name paths, details may hold command output
        self.log.warning("hybridhub %s %s %s: %s (%s)", self.area, self.request.method, self.request.path, e.status, e.reason)
        if self._finished:
            return
        if self._headers_written:
            # mid-stream: break the connection so the browser sees a failed download, never
            # a short file that looks complete
            self.request.connection.close()
            return
        self.clear()
        self.set_status(e.status)
        if e.reason == "method_not_allowed":
            self.set_header("Allow", ", ".join(self.allowed_methods()))
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(e.to_json()))


class NoSuchRouteHandler(HybridHubHandler):
    """Any other address under the namespace: after the usual authentication and authorization,
    a JSON 404 ``no_such_route`` (jupyter-server's own 404 is an HTML page without a reason)."""

    async def prepare(self):
        await super().prepare()
        if not self._finished:
            await self._refuse()

    @web.authenticated
    @authorized
    async def _refuse(self):
        raise RequestError("no_such_route")
