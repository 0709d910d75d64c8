"""Dry run against a real hub: every decision is made and logged, nothing is changed.

Also: named servers are judged like default ones, admins' servers are skipped by default.
"""

from __future__ import annotations

import time

import pytest

from tests.culling.hubproc import running_hub
from tests.harness.wait import wait_until
from tests.hubclient import start_server

pytestmark = pytest.mark.culling


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    with running_hub(tmp_path_factory.mktemp("dry-run-hub"), culler_extra="c.HybridCuller.dry_run = True") as test_hub:
        yield test_hub


def test_dry_run_decides_and_logs_but_changes_nothing(hub):
    dan = hub.login("dan")
    start_server(dan, "dan", options={"profile": "quick"}, timeout=60)
    assert dan.api("POST", "users/dan/servers/extra", json={"profile": "quick"}).status_code in (201, 202)
    admin = hub.login("admin")
    start_server(admin, "admin", options={"profile": "quick"}, timeout=60)
    wait_until(lambda: (hub.server(admin, "dan", "extra") or {}).get("ready"), 60, message="named server not ready")

    wait_until(lambda: hub.culler_lines("cull", "dan") and hub.culler_lines("cull", "dan/extra"), 25, message="no dry-run cull decision")
    time.sleep(2)  # a few more rounds: a real culler would have stopped them by now
    for user, name in (("dan", ""), ("dan", "extra"), ("admin", "")):
        assert (hub.server(admin, user, name) or {}).get("ready"), f"{user}/{name} was changed by a dry run"

    warn = hub.culler_lines("warn", "dan")[0]
    assert "[dry run] warn dan: idle" in warn and warn.endswith("-> not sent (dry run)")
    cull = hub.culler_lines("cull", "dan")[-1]
    assert "[dry run] cull dan: idle" in cull and "(profile quick) -> not stopped (dry run)" in cull
    assert hub.culler_lines("skip-admin", "admin")
    assert not hub.culler_lines("warn", "admin") and not hub.culler_lines("cull", "admin")

    token = hub.token(dan, "dan")
    report = hub.user_get(token, "dan", "hybridhub/activity").json()
    assert report["warning"] is None  # no warning was sent to the server either

    body = hub.decisions(hub.token(admin, "admin")).json()
    assert body["dry_run"] is True and body["rounds"] >= 5
    assert body["servers"]["dan"]["action"] == "cull" and body["servers"]["dan"]["outcome"] == "not stopped (dry run)"
    assert body["servers"]["dan/extra"]["action"] == "cull"
    assert body["servers"]["dan/extra"]["reason"].startswith("idle")  # its own report, pushed with its own token
    assert body["servers"]["admin"]["action"] == "skip-admin"

    # an admin's browser session reaches the decisions page through the hub's OAuth
    page = admin.session.get(f"{hub.url}services/hybridhub-culler/decisions", timeout=30)
    assert page.status_code == 200 and page.json()["dry_run"] is True
    user_page = dan.session.get(f"{hub.url}services/hybridhub-culler/decisions", timeout=30)
    assert user_page.status_code == 403
