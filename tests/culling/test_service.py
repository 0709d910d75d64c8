"""The culler's round against an in-memory hub (injected fetch) and reports put in its book.

Covers what the real-hub tests cannot force: a server that never reports, a report gone
stale, warnings posted once per announced time and withdrawn by work, the save grace with a
connected browser, the first report awaited after a start, hub errors.
"""

from __future__ import annotations

import asyncio
import io
import json
from datetime import datetime, timedelta, timezone

import pytest
from tornado.httpclient import HTTPRequest, HTTPResponse

import hybridhub.hub_ext.culler.service as service
from hybridhub.hub_ext.culler.activity import HubClient
from hybridhub.hub_ext.culler.policy import ActivityReport

pytestmark = pytest.mark.culling

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=timezone.utc)
PROFILES = [{
    "slug": "gpu", "pool": "gpua10", "gpus": 1, "display_name": {"en": "GPU"}, "image": "x", "cpu_request": 1,
    "cpu_limit": 1, "memory_request": "1G", "memory_limit": "1G", "idle_timeout_seconds": 600, "max_age_seconds": 7200,
}]


class InMemoryHub:
    """The hub API: users and stops. Nothing else exists: the culler calls no user server."""

    def __init__(self):
        self.users: list[dict] = []
        self.requests: list[tuple[str, str, dict | None]] = []
        self.delete_status = 204

    def add(self, name: str, started: datetime = T0, last_activity: datetime = T0):
        self.users.append({"name": name, "admin": False, "servers": {"": {
            "ready": True, "pending": None, "url": f"/user/{name}/", "started": started.isoformat(),
            "last_activity": last_activity.isoformat(), "user_options": {"profile": "gpu"}}}})

    async def fetch(self, request: HTTPRequest, raise_error: bool = True) -> HTTPResponse:
        assert request.headers["Authorization"] == "token secret-token"
        path = request.url.split("://", 1)[1].split("/", 1)[1].split("?")[0]
        body = json.loads(request.body) if request.body else None
        self.requests.append((request.method, path, body))
        assert path.startswith("hub/api/"), f"the culler called outside the hub API: {path}"
        if path == "hub/api/users":
            return self.answer(request, 200, {"items": self.users, "_pagination": {"next": None}})
        if request.method == "DELETE":
            return self.answer(request, self.delete_status, None)
        return self.answer(request, 404, {"message": "not here"})

    @staticmethod
    def answer(request, status, body):
        payload = json.dumps(body).encode() if body is not None else b""
        return HTTPResponse(request, status, buffer=io.BytesIO(payload))


@pytest.fixture
def culler(monkeypatch):
    now = {"t": T0}
    monkeypatch.setattr(service, "utcnow", lambda: now["t"])
    app = service.HybridCuller(api_token="secret-token", warn_before_seconds=60, save_grace_seconds=0.5)
    app.initialize([])
    app.catalog.profiles = PROFILES
    app.started_at = T0 - timedelta(hours=1)  # long past the first-report grace
    app.now = now
    return app


def report(culler, key: str, **fields):
    """What the server's reporter POSTs; returns the warning the culler answers with."""
    return culler.book.put(key, ActivityReport.from_json({"busy": False, **fields}))


def client_for(hub: InMemoryHub) -> HubClient:
    return HubClient("http://hub/hub/api", "secret-token", fetch=hub.fetch)


def stops(hub):
    return [path for method, path, _ in hub.requests if method == "DELETE"]


async def test_warning_is_posted_once_handed_to_the_server_then_the_server_is_stopped(culler, caplog):
    hub = InMemoryHub()
    hub.add("ann")
    client = client_for(hub)
    culler.now["t"] = T0 + timedelta(seconds=560)
    assert report(culler, "ann") is None
    [decision] = await culler.cull_round(client)
    assert decision.action == "warn"
    culler.now["t"] = T0 + timedelta(seconds=590)
    warning = report(culler, "ann")  # the answer to the server's next report
    assert warning["kind"] == "idle" and warning["state"] == "pending" and warning["cull_at"].startswith("2026-11-02T09:10:20")
    assert [d.action for d in await culler.cull_round(client)] == ["warn"]
    culler.now["t"] = T0 + timedelta(seconds=620)
    report(culler, "ann")
    assert [d.action for d in await culler.cull_round(client)] == ["cull"]
    assert stops(hub) == ["hub/api/users/ann/server"]
    assert [path for _, path, _ in hub.requests] == ["hub/api/users"] * 3 + ["hub/api/users/ann/server"]
    log = [r.getMessage() for r in caplog.records if r.name == "HybridCuller"]
    assert log[0] == "warn ann: idle 9m20s since start, timeout 10m00s (profile gpu); culling at 09:10:20 UTC -> warning posted"
    assert log[-1] == "cull ann: idle 10m20s since start, timeout 10m00s (profile gpu) -> stopped"
    assert all("secret-token" not in line for line in log)
    assert culler.decisions.as_json()["rounds"] == 3
    assert culler.book.get("ann") is None  # forgotten with the server


async def test_work_or_a_keepalive_withdraws_the_idle_warning_at_once(culler):
    hub = InMemoryHub()
    hub.add("wes")
    culler.now["t"] = T0 + timedelta(seconds=560)
    report(culler, "wes")
    await culler.cull_round(client_for(hub))
    assert report(culler, "wes")["kind"] == "idle"
    assert report(culler, "wes", busy=True, reasons=["1 of 1 kernel(s) executing"]) is None
    [decision] = await culler.cull_round(client_for(hub))
    assert decision.action == "keep" and decision.reason == "busy: 1 of 1 kernel(s) executing"

    culler.now["t"] = T0 + timedelta(seconds=1200)
    report(culler, "wes", last_busy=(T0 + timedelta(seconds=570)).isoformat())
    assert (await culler.cull_round(client_for(hub)))[0].action == "warn"
    kept = (T0 + timedelta(seconds=1201)).isoformat()
    assert report(culler, "wes", last_busy=(T0 + timedelta(seconds=570)).isoformat(), keepalive_at=kept) is None
    [decision] = await culler.cull_round(client_for(hub))
    assert decision.action == "keep" and "since kept alive" in decision.reason


async def test_a_server_that_does_not_report_is_judged_by_hub_activity(culler):
    hub = InMemoryHub()
    hub.add("old", last_activity=T0 + timedelta(seconds=300))
    culler.now["t"] = T0 + timedelta(seconds=600)
    [decision] = await culler.cull_round(client_for(hub))
    assert decision.action == "keep" and decision.reason.startswith("no activity report (no report yet); hub last_activity 5m00s ago")
    culler.now["t"] = T0 + timedelta(seconds=850)
    [decision] = await culler.cull_round(client_for(hub))
    assert decision.action == "warn"


async def test_a_stale_report_counts_as_none_and_a_new_start_ignores_the_old_one(culler):
    hub = InMemoryHub()
    hub.add("sta", last_activity=T0 + timedelta(seconds=500))
    culler.now["t"] = T0 + timedelta(seconds=100)
    report(culler, "sta", busy=True, reasons=["GPU 0 at 90%"])
    culler.now["t"] = T0 + timedelta(seconds=300)
    [decision] = await culler.cull_round(client_for(hub))
    assert decision.reason.startswith("no activity report (no report for 3m20s)")
    hub.users[0]["servers"][""]["started"] = (T0 + timedelta(seconds=250)).isoformat()  # restarted since
    culler.now["t"] = T0 + timedelta(seconds=260)
    [decision] = await culler.cull_round(client_for(hub))
    assert decision.action == "keep" and decision.reason.startswith("no activity report (no report yet); kept")


async def test_without_a_first_report_yet_the_hub_clock_does_not_cull(culler):
    """Right after the culler (re)starts, a server gets report_timeout_seconds to report."""
    hub = InMemoryHub()
    hub.add("new", last_activity=T0)
    culler.started_at = T0 + timedelta(seconds=3000)
    culler.now["t"] = T0 + timedelta(seconds=3030)
    [decision] = await culler.cull_round(client_for(hub))
    assert decision.action == "keep" and decision.reason == "no activity report (no report yet); kept"
    culler.now["t"] = T0 + timedelta(seconds=3200)
    assert (await culler.cull_round(client_for(hub)))[0].action == "warn"


async def test_connected_browser_gets_a_stopping_notice_and_time_to_save(culler):
    hub = InMemoryHub()
    hub.add("bo")
    client = client_for(hub)
    culler.now["t"] = T0 + timedelta(seconds=600)
    report(culler, "bo", browser_connected=True)
    await culler.cull_round(client)  # warn
    culler.now["t"] = T0 + timedelta(seconds=700)
    report(culler, "bo", browser_connected=True)
    answers = []

    async def server_and_browser():  # the server reports; its browser saves once told
        while not stops(hub):
            warning = report(culler, "bo", browser_connected=True)
            answers.append(warning["state"])
            if warning["state"] == "stopping":
                report(culler, "bo", browser_connected=True, saved_at=culler.now["t"].isoformat())
                return
            await asyncio.sleep(0.01)

    side = asyncio.ensure_future(server_and_browser())
    loop = asyncio.get_running_loop()
    began = loop.time()
    [decision] = await culler.cull_round(client)
    await side
    assert decision.action == "cull" and answers[-1] == "stopping"
    assert loop.time() - began < 0.4  # stopped once saved, not after the whole grace


async def test_dry_run_posts_nothing_and_a_failing_stop_is_logged_not_fatal(culler, caplog):
    hub = InMemoryHub()
    hub.add("dee")
    hub.add("eve")
    culler.dry_run = True
    culler.now["t"] = T0 + timedelta(seconds=700)
    for name in ("dee", "eve"):
        report(culler, name)
    await culler.cull_round(client_for(hub))
    culler.now["t"] = T0 + timedelta(seconds=800)
    assert [d.action for d in await culler.cull_round(client_for(hub))] == ["cull", "cull"]
    assert report(culler, "dee") is None and stops(hub) == []

    culler.dry_run = False
    hub.delete_status = 403  # e.g. a role without delete:servers
    culler.now["t"] = T0 + timedelta(seconds=900)
    await culler.cull_round(client_for(hub))
    errors = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    assert any("HTTP 403" in e for e in errors)
