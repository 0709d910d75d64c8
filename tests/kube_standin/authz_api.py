"""``POST /apis/authorization.k8s.io/v1/selfsubjectaccessreviews`` (authz.py ``review``)."""

from __future__ import annotations

import json

from .apiserver import StandInHandler
from .authz import review
from .errors import bad_request


class SelfSubjectAccessReviewHandler(StandInHandler):
    """Create only (the REST storage has no get, list or delete: 405 for other methods)."""

    SUPPORTED_METHODS = ("POST",)

    def post(self):
        try:
            body = json.loads(self.request.body or b"null")
        except ValueError as e:
            raise bad_request(f"couldn't get version/kind; json parse error: {e}")
        self.send_json(review(self.account, body), 201)
