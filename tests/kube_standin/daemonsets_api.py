"""``/apis/apps/v1``: DaemonSets (namespaced), as the API server serves them.

Verbs get, list, watch, create, update, patch, delete (pkg/registry/apps/daemonset); what the
controller does with them is in daemonsets.py.
"""

from __future__ import annotations

from .apiserver import ResourceHandler

API_VERSION = "apps/v1"


class DaemonSetHandler(ResourceHandler):
    API_VERSION = API_VERSION

    def _serves(self, rtype) -> bool:
        return rtype.plural == "daemonsets"

    async def get(self, path):
        if not path.strip("/"):
            return self.send_json({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": API_VERSION,
                                   "resources": [{"name": "daemonsets", "singularName": "daemonset",
                                                  "namespaced": True, "kind": "DaemonSet", "shortNames": ["ds"],
                                                  "verbs": ["create", "delete", "deletecollection", "get", "list",
                                                            "patch", "update", "watch"]}]})
        return await super().get(path)
