"""No credential that reaches a user server is worth more than that server's own.

Against the real hub of the culling suite: every request a user server receives is written
down by the test extension ``header_recorder``; the culler's token (hub-wide: it may list and
stop every server) must never be among them, while the culler still warns and culls that
server. Reports to the culler are accepted from a server's own credentials only.
"""

from __future__ import annotations

import pytest

from tests.culling.hubproc import CULLER_NAME
from tests.harness.wait import wait_until
from tests.hubclient import start_server

pytestmark = pytest.mark.culling


@pytest.fixture
def hub(culling_hub):
    return culling_hub


def test_the_cullers_token_never_reaches_a_user_server(hub):
    session = hub.login("sol")
    start_server(session, "sol", options={"profile": "quick"}, timeout=60)
    token = hub.token(session, "sol")
    assert hub.user_get(token, "sol", "api/status").status_code == 200
    # the culler judges it round after round, warns it (the server holds the warning) and culls it
    wait_until(lambda: hub.user_get(token, "sol", "hybridhub/activity").json()["warning"], 15,
               message="the culler's warning did not reach the server")
    wait_until(lambda: hub.server(hub.admin, "sol") is None, 20, message="the server was not culled")
    assert hub.culler_lines("warn", "sol") and "-> stopped" in hub.culler_lines("cull", "sol")[-1]

    received = hub.received("sol")
    assert any(token in r["authorization"] for r in received), "the recorder saw the test's own requests"
    assert hub.culler_token not in "\n".join(f"{r['uri']} {r['authorization']} {r['cookie']}" for r in received)


def test_a_server_reports_for_itself_only(hub):
    pia, quin = hub.login("pia"), hub.login("quin")
    start_server(pia, "pia", options={"profile": "lab"}, timeout=60)
    # a token with exactly a server token's scopes (the hub's default `server` role)
    pia_server = hub.token(pia, "pia", ["access:servers!server=pia/", "users:activity!user=pia"])
    quin_server = hub.token(quin, "quin", ["access:servers!server=quin/", "users:activity!user=quin"])
    pia_named = hub.token(pia, "pia", ["access:servers!server=pia/other"])
    pia_no_access = hub.token(pia, "pia", ["read:users:name!user=pia"])
    admin_everything = hub.token(hub.admin, "admin")  # access:servers on every server

    ok = hub.report(pia_server, "pia", report={"busy": True, "reasons": ["1 of 1 kernel(s) executing"]})
    assert ok.status_code == 200 and ok.json() == {"warning": None}
    for token, why in [
        (quin_server, "another user's server token"),
        (pia_named, "pia's token for another of her servers"),
        (pia_no_access, "a token of pia that cannot reach the server"),
        (admin_everything, "an admin's token that reaches every server"),
        (hub.culler_token, "the culler's own, hub-wide token"),
        ("not-a-token", "an unknown token"),
    ]:
        response = hub.report(token, "pia", report={"busy": True})
        assert response.status_code == 403, (why, response.status_code, response.text)
    assert hub.report("", "pia").status_code == 401
    bad = hub.report(pia_server, "pia", report="busy")  # type: ignore[arg-type]
    assert bad.status_code == 400

    admin_token = hub.token(hub.admin, "admin")

    def judged_from_reports():
        decision = hub.decisions(admin_token).json()["servers"].get("pia") or {}
        return decision.get("action") == "keep" and not decision["reason"].startswith("no activity report") and decision

    assert wait_until(judged_from_reports, 15, message="the culler did not judge pia's server from its reports")
    session_page = pia.session.get(f"{hub.url}services/{CULLER_NAME}/report", timeout=10)
    assert session_page.status_code == 405  # reports are POSTed with a token, not read by browsers
    pia.api("DELETE", "users/pia/server")
