"""``/apis/events.k8s.io/v1``: the stored Events as that API group serves them (a test double).

The API server keeps one Event store and serves it through core/v1 and events.k8s.io/v1, converting
field names (kubernetes pkg/apis/events/v1/conversion.go; see events.py ``to_events_v1``).
"""

from __future__ import annotations

from .apiserver import ResourceHandler
from .errors import ApiError, bad_request
from .events import to_events_v1


EVENTS_V1 = "events.k8s.io/v1"


class NotFoundHandler(ResourceHandler):
    """Every other path: 404, except ``/apis/events.k8s.io/v1``, served read-only (get, list, watch)
    from the same stored Events as core/v1 (as the API server does), converted by ``to_events_v1``.
    The scheduler's events are written there in a real cluster; the stand-in's components write them
    directly into the store."""

    API_VERSION = EVENTS_V1
    PREFIX = "/apis/" + EVENTS_V1

    def prepare(self):
        super().prepare()
        path = self.request.path.rstrip("/")
        if path != self.PREFIX and not path.startswith(self.PREFIX + "/"):
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        if self.request.method != "GET":
            raise ApiError(405, "MethodNotAllowed", "the stand-in serves events.k8s.io/v1 read-only "
                           "(get, list, watch); write events through core/v1")

    def _out(self, obj: dict) -> dict:
        return to_events_v1(obj)

    def _route(self, path: str):
        rtype, ns, name = super()._route(path)
        if rtype.plural != "events":
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        return rtype, ns, name

    async def get(self):
        path = self.request.path.rstrip("/")[len(self.PREFIX):].lstrip("/")
        if not path:
            return self.send_json({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": EVENTS_V1,
                                   "resources": [{"name": "events", "singularName": "event", "namespaced": True,
                                                  "kind": "Event", "verbs": ["get", "list", "watch"]}]})
        if "fieldSelector" in self.request.query_arguments:
            raise bad_request("the stand-in does not serve field selectors on events.k8s.io/v1")
        return await super().get(path)

