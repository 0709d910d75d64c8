"""The culling decision as a pure function: every rule, with explicit times."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from hybridhub.hub_ext.culler.policy import (
    ActivityReport,
    Limits,
    ServerState,
    ServerView,
    Settings,
    decide,
    duration,
    parse_time,
)

pytestmark = pytest.mark.culling

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=timezone.utc)
GPU = Limits("gpu-a10", idle_timeout_seconds=1200, max_age_seconds=8 * 3600)
CPU = Limits("cpu", idle_timeout_seconds=3600, max_age_seconds=12 * 3600)
SETTINGS = Settings(warn_before_seconds=300)


def server(**changes) -> ServerView:
    values = dict(user="alice", name="", admin=False, ready=True, pending=None, started=T0, hub_last_activity=None, profile="gpu-a10")
    values.update(changes)
    return ServerView(**values)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


IDLE = ActivityReport()


def test_fresh_idle_server_is_kept_with_its_deadlines_in_the_reason():
    decision = decide(server(), GPU, IDLE, at(5), ServerState(), SETTINGS)
    assert decision.action == "keep"
    assert decision.reason == "idle 5m00s since start, timeout 20m00s (profile gpu-a10); age 5m00s of max 8h00m (profile gpu-a10)"


def test_gpu_profile_is_warned_long_before_a_cpu_profile():
    assert decide(server(), GPU, IDLE, at(16), ServerState(), SETTINGS).action == "warn"
    assert decide(server(profile="cpu"), CPU, IDLE, at(16), ServerState(), SETTINGS).action == "keep"


def test_warn_then_cull_after_the_warning_period():
    state = ServerState()
    warn = decide(server(), GPU, IDLE, at(15), state, SETTINGS)
    assert warn.action == "warn" and warn.kind == "idle" and warn.cull_at == at(20)
    assert "idle 15m00s since start, timeout 20m00s (profile gpu-a10); culling at 09:20:00 UTC" == warn.reason
    state.warned_at, state.warned_kind = at(15), "idle"
    assert decide(server(), GPU, IDLE, at(19.9), state, SETTINGS).action == "warn"
    cull = decide(server(), GPU, IDLE, at(20), state, SETTINGS)
    assert cull.action == "cull" and cull.reason == "idle 20m00s since start, timeout 20m00s (profile gpu-a10)"


def test_no_cull_without_a_warning_first_even_when_long_overdue():
    # e.g. the culler restarted: the user still gets warn_before_seconds of notice
    first = decide(server(), GPU, IDLE, at(90), ServerState(), SETTINGS)
    assert first.action == "warn" and first.cull_at == at(95)
    state = ServerState(warned_at=at(90), warned_kind="idle")
    assert decide(server(), GPU, IDLE, at(94), state, SETTINGS).action == "warn"
    assert decide(server(), GPU, IDLE, at(95), state, SETTINGS).action == "cull"


def test_without_warnings_the_cull_is_immediate():
    decision = decide(server(), GPU, IDLE, at(20), ServerState(), Settings(warn_before_seconds=0))
    assert decision.action == "cull"


def test_busy_server_is_kept_whatever_its_idle_history():
    busy = ActivityReport(busy=True, reasons=("1 of 1 kernel(s) executing",), last_busy=at(10))
    decision = decide(server(), GPU, busy, at(7 * 60), ServerState(), SETTINGS)
    assert decision == decide(server(), GPU, busy, at(7 * 60), ServerState(), SETTINGS)
    assert decision.action == "keep" and decision.reason == "busy: 1 of 1 kernel(s) executing"


def test_idle_counts_from_the_last_work_seen():
    report = ActivityReport(last_busy=at(30))
    assert decide(server(), GPU, report, at(44), ServerState(), SETTINGS).action == "keep"
    decision = decide(server(), GPU, report, at(46), ServerState(), SETTINGS)
    assert decision.action == "warn" and decision.cull_at == at(51)
    assert "since last work" in decision.reason


def test_keepalive_extends_the_idle_period_by_the_timeout():
    report = ActivityReport(keepalive_at=at(17))
    decision = decide(server(), GPU, report, at(18), ServerState(warned_at=at(15), warned_kind="idle"), SETTINGS)
    assert decision.action == "keep" and "since kept alive" in decision.reason
    assert decide(server(), GPU, report, at(32), ServerState(), SETTINGS).cull_at == at(37)


def test_max_age_culls_even_a_busy_server_after_its_warning():
    busy = ActivityReport(busy=True, reasons=("GPU 0 at 97%",), last_busy=at(479))
    assert decide(server(), GPU, busy, at(474), ServerState(), SETTINGS).action == "keep"
    warn = decide(server(), GPU, busy, at(475), ServerState(), SETTINGS)
    assert warn.action == "warn" and warn.kind == "max-age" and warn.cull_at == at(480)
    assert warn.reason.startswith("age 7h55m of max 8h00m (profile gpu-a10); busy: GPU 0 at 97%")
    state = ServerState(warned_at=at(475), warned_kind="max-age")
    cull = decide(server(), GPU, busy, at(480), state, SETTINGS)
    assert cull.action == "cull" and cull.kind == "max-age"


def test_an_idle_warning_does_not_count_for_a_max_age_cull():
    state = ServerState(warned_at=at(400), warned_kind="idle")
    decision = decide(server(), GPU, ActivityReport(busy=True, reasons=("x",)), at(481), state, SETTINGS)
    assert decision.action == "warn" and decision.kind == "max-age"


@pytest.mark.parametrize(
    ("view", "action"),
    [
        (server(pending="spawn", ready=False), "skip-starting"),
        (server(ready=False), "skip-starting"),
        (server(pending="stop"), "skip-stopping"),
        (server(admin=True), "skip-admin"),
    ],
)
def test_starting_stopping_and_admin_servers_are_left_alone(view, action):
    decision = decide(view, GPU, IDLE, at(24 * 60), ServerState(), SETTINGS)
    assert decision.action == action


def test_admins_and_named_servers_follow_the_settings():
    assert decide(server(admin=True), GPU, IDLE, at(16), ServerState(), Settings(cull_admins=True)).action == "warn"
    named = server(name="training")
    assert named.key == "alice/training"
    assert decide(named, GPU, IDLE, at(16), ServerState(), SETTINGS).action == "warn"
    assert decide(named, GPU, IDLE, at(16), ServerState(), Settings(cull_named_servers=False)).action == "skip-named"


def test_an_open_tab_is_not_activity_hub_last_activity_is_ignored_when_a_report_exists():
    view = server(hub_last_activity=at(59))  # the proxy saw traffic a minute ago
    assert decide(view, GPU, IDLE, at(60), ServerState(warned_at=at(15), warned_kind="idle"), SETTINGS).action == "cull"


def test_without_a_report_the_hub_activity_stands_in_or_the_server_is_kept():
    view = server(hub_last_activity=at(50))
    missing = ActivityReport.unavailable("HTTP 404")
    decision = decide(view, GPU, missing, at(66), ServerState(), SETTINGS)
    assert decision.action == "warn" and decision.reason.startswith("no activity report (HTTP 404); hub last_activity 16m00s ago")
    strict = Settings(fallback_to_hub_activity=False)
    kept = decide(view, GPU, missing, at(66), ServerState(), strict)
    assert kept.action == "keep" and kept.reason == "no activity report (HTTP 404); kept"
    # max age still applies to a server that cannot report
    assert decide(view, GPU, missing, at(8 * 60), ServerState(), strict).kind == "max-age"


def test_server_view_from_the_hub_model():
    user = {"name": "bob", "admin": False}
    model = {
        "ready": True, "pending": None, "started": "2026-11-02T09:00:00.000000Z",
        "last_activity": "2026-11-02T09:30:00Z", "user_options": {"profile": "gpu-a10"}, "url": "/user/bob/",
    }
    view = ServerView.from_model(user, "", model)
    assert view.started == T0 and view.hub_last_activity == at(30) and view.profile == "gpu-a10"
    assert ServerView.from_model(user, "", {**model, "user_options": None}).profile == ""


def test_report_parsing_and_small_helpers():
    report = ActivityReport.from_json({"busy": True, "reasons": ["GPU 0 at 50%"], "last_busy": "2026-11-02T09:05:00Z", "browser_connected": True})
    assert report.busy and report.reasons == ("GPU 0 at 50%",) and report.last_busy == at(5) and report.browser_connected
    assert parse_time(None) is None and parse_time("2026-11-02T09:00:00") == T0
    assert [duration(s) for s in (0, 59, 61, 3600, 5400)] == ["0 s", "59 s", "1m01s", "1h00m", "1h30m"]
