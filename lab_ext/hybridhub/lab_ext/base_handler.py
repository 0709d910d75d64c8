"""The one base class every hybridhub REST handler derives from.

Authentication comes from jupyter-server's APIHandler (token, cookie, XSRF); authorization
from ``@authorized`` with the ``hybridhub`` resource, so an authorizer can grant or deny the
extension as a whole.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from jupyter_server.base.handlers import APIHandler

from .reasons import ReasonError

AUTH_RESOURCE = "hybridhub"


class HybridHubHandler(APIHandler):
    auth_resource = AUTH_RESOURCE
    #: the area named in log lines ("storage", "git", "pipelines")
    area = "api"
    #: the ReasonError subclass this area answers with
    error_class: type[ReasonError] = ReasonError

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
        return self.error_class("invalid_request", message)

    def body(self) -> dict:
        """The request's JSON object (empty body: ``{}``); anything else is ``invalid_request``."""
        try:
            data = json.loads(self.request.body or b"{}")
        except ValueError:
            raise self.invalid_request("The request body is not valid JSON.") from None
        if not isinstance(data, dict):
            raise self.invalid_request("The request body must be a JSON object.")
        return data

    def reply(self, data, status: int | None = None) -> None:
        if status is not None:
            self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(data))

    def as_reason_error(self, error: BaseException) -> BaseException:
        """Hook: map an area's own exceptions to its ReasonError (default: unchanged)."""
        return error

    def _handle_request_exception(self, e: BaseException) -> None:
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
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(e.to_json()))
