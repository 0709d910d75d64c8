"""``/apis/scheduling.k8s.io/v1``: PriorityClasses (cluster-scoped), as the API server serves them.

Verbs get, list, watch, create, update, patch, delete (pkg/registry/scheduling/priorityclass);
the semantics (defaults, validation, admission, the undeletable system classes) are in priority.py.
"""

from __future__ import annotations

from .apiserver import ResourceHandler
from .priority import API_VERSION


class PriorityClassHandler(ResourceHandler):
    API_VERSION = API_VERSION

    def _serves(self, rtype) -> bool:
        return rtype.plural == "priorityclasses"

    async def get(self, path):
        if not path.strip("/"):
            return self.send_json({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": API_VERSION,
                                   "resources": [{"name": "priorityclasses", "singularName": "priorityclass",
                                                  "namespaced": False, "kind": "PriorityClass", "shortNames": ["pc"],
                                                  "verbs": ["create", "delete", "get", "list", "patch", "update",
                                                            "watch"]}]})
        return await super().get(path)
