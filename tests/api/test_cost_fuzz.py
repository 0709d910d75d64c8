"""Generated requests to the cost service in a real hub (the cost suite's hub and Kubernetes
stand-in): no 5xx, no undocumented status, errors as ``{status, message}``, no traceback."""

from __future__ import annotations

import pytest
import requests

from hybridhub.hub_ext.cost.web import TRANSFER_PATHS
from hybridhub.hub_ext.openapi import cost_description
from tests.cost.test_hub_service import PREFIX, hub, kube, token_for  # noqa: F401 - its module fixtures
from tests.harness.hub import ADMIN_PASSWORD
from tests.hubclient import login

from .test_hub_side import fuzz

pytestmark = pytest.mark.api


def test_generated_requests_to_the_cost_service_never_fail_it(hub):  # noqa: F811 - the imported fixture
    token = token_for(login(hub.url, "admin", ADMIN_PASSWORD), "admin")
    base = hub.url + PREFIX.rstrip("/")
    served = requests.get(f"{base}/openapi.json", headers={"Authorization": f"token {token}"}, timeout=30)
    described = cost_description("/" + PREFIX)
    described["paths"].update(TRANSFER_PATHS)  # the service always serves its transfer routes
    assert served.json() == described
    counts = fuzz(served.json(), base, token, examples=20)  # no parameters: few distinct requests
    print(f"\ncost: {sum(counts.values())} generated requests, statuses {dict(counts)}")
    assert sum(counts.values()) >= 100 and counts["200"] > 0, counts
    for path in served.json()["paths"]:  # what the schema cannot generate: a parameter none of them has
        bad = requests.get(f"{base}{path}", params={"month": "2026-01"}, headers={"Authorization": f"token {token}"}, timeout=30)
        assert bad.status_code == 400 and bad.json() == {"status": 400, "message": "unknown query parameter(s): month"}
    assert "Traceback" not in hub.log()
