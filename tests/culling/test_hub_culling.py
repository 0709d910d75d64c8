"""The culler against a real JupyterHub and real user servers (HybridLocalSpawner).

Test profiles (tests/culling/hubproc.py): ``quick`` idle timeout 6 s, ``short-life`` max age
12 s, ``slow`` takes 6 s to start; the culler runs every second and warns 2 s ahead.
"""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest

from hybridhub.hub_ext.culler.policy import parse_time
from tests.culling.hubproc import CullingHub
from tests.harness.wait import wait_until
from tests.culling.kernels import execute, start_kernel
from tests.hubclient import start_server

pytestmark = pytest.mark.culling


@pytest.fixture
def hub(culling_hub):
    return culling_hub


def launch(hub: CullingHub, user: str, profile: str) -> tuple[str, dict]:
    session = hub.login(user)
    server = start_server(session, user, options={"profile": profile}, timeout=60)
    assert server["user_options"]["profile"] == profile
    return hub.token(session, user), server


def activity(hub, token, user) -> dict:
    response = hub.user_get(token, user, "hybridhub/activity")
    assert response.status_code == 200, response.text
    return response.json()


def gone(hub, user):
    return hub.server(hub.admin, user) is None


def culled(hub, user):
    """No server for the user, and the culler's cull line written: the culler logs its decision once the
    hub's stop has returned (culler/service.py ``judge``), a moment after the server is gone from the hub."""
    return gone(hub, user) and hub.culler_lines("cull", user)


# The waits below are deadlines on a 2-core CI machine running two test files at once, not
# measured durations: each is several times what the step takes alone (a report gap of 5 s there
# lets the hub's last_activity stand in, which restarts a warning).


def test_idle_server_is_warned_then_culled_after_its_profile_timeout(hub):
    token, server = launch(hub, "ida", "quick")
    started = parse_time(server["started"])
    warning = wait_until(lambda: activity(hub, token, "ida")["warning"], 45, message="no warning reached the server")
    assert warning["kind"] == "idle" and warning["state"] == "pending"
    assert "timeout 6 s (profile quick)" in warning["reason"]
    assert parse_time(warning["cull_at"]) >= started.replace(microsecond=0)
    assert not gone(hub, "ida")  # warned, not yet culled
    wait_until(lambda: culled(hub, "ida"), 45, message="idle server not culled")

    warn_lines, cull_lines = hub.culler_lines("warn", "ida"), hub.culler_lines("cull", "ida")
    assert warn_lines and len(cull_lines) == 1
    assert hub.log().index(warn_lines[0]) < hub.log().index(cull_lines[0])
    assert "since start, timeout 6 s (profile quick) -> stopped" in cull_lines[0]
    assert hub.culler_lines("keep", "ida") or hub.culler_lines("skip-starting", "ida")

    # admins read the decisions; users may not
    admin_token = hub.token(hub.admin, "admin")
    body = hub.decisions(admin_token).json()
    culls = [d for d in body["recent"] if d["user"] == "ida" and d["action"] == "cull"]
    assert body["dry_run"] is False and len(culls) == 1
    assert culls[0]["profile"] == "quick" and culls[0]["outcome"] == "stopped"
    assert hub.decisions(token).status_code == 403
    assert hub.decisions("not-a-token").status_code == 302  # to the hub login


def test_a_silent_busy_kernel_keeps_the_server_until_the_cell_ends(hub):
    token, server = launch(hub, "bea", "quick")
    kernel = start_kernel(hub.url, "bea", token)
    execute(hub.url, "bea", token, kernel, "import time; time.sleep(14)")  # 14 s without output
    cell_started = time.monotonic()
    time.sleep(10)  # well past the 6 s idle timeout
    assert not gone(hub, "bea")
    busy = [line for line in hub.culler_lines("keep", "bea") if "busy: 1 of 1 kernel(s) executing" in line]
    assert busy, hub.culler_lines("keep", "bea")
    wait_until(lambda: culled(hub, "bea"), 60, message="server not culled after the cell ended")
    assert time.monotonic() - cell_started >= 14 + 6
    assert "since last work, timeout 6 s (profile quick)" in hub.culler_lines("cull", "bea")[-1]


def test_an_open_tab_without_work_does_not_keep_the_server(hub):
    token, server = launch(hub, "tom", "quick")
    seen = {"hub_activity": [], "saved": None, "stop": threading.Event()}

    def browser_tab():  # what an open JupyterLab tab sends: polls, listings, our own poll
        while not seen["stop"].is_set():
            for path in ("api/status", "api/kernels", "api/contents", "hybridhub/activity?client=lab"):
                response = hub.user_get(token, "tom", path, allow_redirects=False)
                if path.startswith("hybridhub") and response.status_code == 200 and response.headers["Content-Type"].startswith("application/json"):
                    warning = response.json()["warning"]
                    if warning and warning["state"] == "stopping" and seen["saved"] is None:
                        seen["saved"] = hub.user_post(token, "tom", "hybridhub/activity/saved").status_code
            model = hub.server(hub.admin, "tom")
            if model:
                seen["hub_activity"].append(parse_time(model["last_activity"]))
            time.sleep(0.5)

    tab = threading.Thread(target=browser_tab, daemon=True)
    tab.start()
    try:
        wait_until(lambda: culled(hub, "tom"), 60, message="an open tab kept the server")
    finally:
        seen["stop"].set()
        tab.join(10)
    started = parse_time(server["started"])
    # the hub saw the tab's traffic (the classic culler would have kept this server) ...
    assert max(seen["hub_activity"]) - started >= timedelta(seconds=4)
    # ... and the browser was told "stopping now" and could save before the stop
    assert seen["saved"] == 200
    log = hub.log()
    assert log.index("POST /user/tom/hybridhub/activity/saved") < log.index("DELETE /hub/api/users/tom/server")
    assert "since start, timeout 6 s (profile quick) -> stopped" in hub.culler_lines("cull", "tom")[-1]


def test_keepalive_is_honoured_once(hub):
    token, _ = launch(hub, "kai", "quick")
    warning = wait_until(lambda: activity(hub, token, "kai")["warning"], 45)
    first_cull_at = parse_time(warning["cull_at"])
    granted = hub.user_post(token, "kai", "hybridhub/activity/keepalive")
    assert granted.status_code == 200 and activity(hub, token, "kai")["warning"] is None
    kept_at = time.monotonic()
    again = hub.user_post(token, "kai", "hybridhub/activity/keepalive")
    assert again.status_code == 409 and "already kept running once" in again.json()["message"]

    time.sleep(max(0.0, (first_cull_at - parse_time(activity(hub, token, "kai")["now"])).total_seconds()) + 2)
    assert not gone(hub, "kai")  # alive past the first announced cull
    assert activity(hub, token, "kai")["keepalive_available"] is False
    wait_until(lambda: culled(hub, "kai"), 60, message="kept-alive server never culled")
    assert time.monotonic() - kept_at >= 6
    assert "since kept alive, timeout 6 s (profile quick) -> stopped" in hub.culler_lines("cull", "kai")[-1]


def test_max_age_is_enforced_even_while_a_kernel_is_busy(hub):
    token, server = launch(hub, "max", "short-life")
    kernel = start_kernel(hub.url, "max", token)
    execute(hub.url, "max", token, kernel, "import time; time.sleep(120)")
    warning = wait_until(lambda: activity(hub, token, "max")["warning"], 45)
    assert warning["kind"] == "max-age" and "max 12 s (profile short-life)" in warning["reason"]
    assert hub.user_post(token, "max", "hybridhub/activity/keepalive").status_code == 409
    wait_until(lambda: culled(hub, "max"), 60, message="max age not enforced")
    cull = hub.culler_lines("cull", "max")[-1]
    assert "of max 12 s (profile short-life); busy: 1 of 1 kernel(s) executing -> stopped" in cull


def test_a_starting_server_is_never_culled(hub):
    session = hub.login("sam")
    response = session.api("POST", "users/sam/server", json={"profile": "slow"})
    assert response.status_code == 202  # still starting: the pre-spawn hook takes 6 s
    wait_until(lambda: hub.culler_lines("skip-starting", "sam"), 10, message="the culler did not see the starting server")
    assert not hub.culler_lines("warn", "sam") and not hub.culler_lines("cull", "sam")
    wait_until(lambda: (hub.server(hub.admin, "sam") or {}).get("ready"), 40, message="the slow server never became ready")
    # its idle timeout (2 s) expired long ago, counted from the spawn request; now it is ready it may go
    wait_until(lambda: gone(hub, "sam"), 60)
    assert "skip-starting sam: server is starting (spawn)" in hub.culler_lines("skip-starting", "sam")[0]
