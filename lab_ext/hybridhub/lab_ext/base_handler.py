"""The one base class every hybridhub REST handler derives from.

Authentication comes from jupyter-server's APIHandler (token, cookie, XSRF); authorization
from ``@authorized`` with the ``hybridhub`` resource, so an authorizer can grant or deny the
extension as a whole.
"""

from __future__ import annotations

from jupyter_server.base.handlers import APIHandler

AUTH_RESOURCE = "hybridhub"


class HybridHubHandler(APIHandler):
    auth_resource = AUTH_RESOURCE

    @property
    def hybridhub(self) -> dict:
        """Per-server state set up once by :func:`~hybridhub.lab_ext.routes.setup_routes`."""
        return self.settings["hybridhub"]
