"""The culler's round against an in-memory hub (injected fetch): acting on decisions.

Covers what the real-hub tests cannot force: a server without the extension (404), warnings
sent once per announced time, the save grace with a connected browser, hub errors.
"""

from __future__ import annotations

import io
import json
from datetime import datetime, timedelta, timezone

import pytest
from tornado.httpclient import HTTPRequest, HTTPResponse

import hybridhub.hub_ext.culler.service as service
from hybridhub.hub_ext.culler.activity import HubClient

pytestmark = pytest.mark.culling

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=timezone.utc)
PROFILES = [{
    "slug": "gpu", "pool": "gpua10", "gpus": 1, "display_name": {"en": "GPU"}, "image": "x", "cpu_request": 1,
    "cpu_limit": 1, "memory_request": "1G", "memory_limit": "1G", "idle_timeout_seconds": 600, "max_age_seconds": 7200,
}]


class InMemoryHub:
    def __init__(self):
        self.users: list[dict] = []
        self.reports: dict[str, tuple[int, dict]] = {}
        self.requests: list[tuple[str, str, dict | None]] = []
        self.delete_status = 204

    def add(self, name: str, report: dict | None, status: int = 200, started: datetime = T0, last_activity: datetime = T0):
        self.users.append({"name": name, "admin": False, "servers": {"": {
            "ready": True, "pending": None, "url": f"/user/{name}/", "started": started.isoformat(),
            "last_activity": last_activity.isoformat(), "user_options": {"profile": "gpu"}}}})
        self.reports[name] = (status, report or {})

    async def fetch(self, request: HTTPRequest, raise_error: bool = True) -> HTTPResponse:
        assert request.headers["Authorization"] == "token secret-token"
        path = request.url.split("://", 1)[1].split("/", 1)[1].split("?")[0]
        body = json.loads(request.body) if request.body else None
        self.requests.append((request.method, path, body))
        if path == "hub/api/users":
            return self.answer(request, 200, {"items": self.users, "_pagination": {"next": None}})
        if request.method == "DELETE":
            return self.answer(request, self.delete_status, None)
        user = path.split("/")[1]
        if path.endswith("activity/warning"):
            self.reports[user][1]["warning"] = body
            return self.answer(request, 200, body)
        if path.endswith("/activity"):
            status, report = self.reports[user]
            if report.get("warning", {}) and report["warning"].get("state") == "stopping" and report.get("saves_on_stop"):
                report["saved_at"] = (T0 + timedelta(hours=1)).isoformat()
            return self.answer(request, status, report)
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
    app.now = now
    return app


def client_for(hub: InMemoryHub) -> HubClient:
    return HubClient("http://hub/hub/api", "http://proxy", "secret-token", fetch=hub.fetch)


def stops(hub):
    return [path for method, path, _ in hub.requests if method == "DELETE"]


def warnings(hub):
    return [body for method, path, body in hub.requests if path.endswith("activity/warning")]


async def test_warning_is_sent_once_then_the_server_is_stopped(culler, caplog):
    hub = InMemoryHub()
    hub.add("ann", {"busy": False, "reasons": [], "last_busy": None})
    client = client_for(hub)
    culler.now["t"] = T0 + timedelta(seconds=560)
    [decision] = await culler.cull_round(client)
    assert decision.action == "warn"
    culler.now["t"] = T0 + timedelta(seconds=590)
    assert [d.action for d in await culler.cull_round(client)] == ["warn"]
    assert len(warnings(hub)) == 1 and warnings(hub)[0]["kind"] == "idle"
    culler.now["t"] = T0 + timedelta(seconds=620)
    assert [d.action for d in await culler.cull_round(client)] == ["cull"]
    assert stops(hub) == ["hub/api/users/ann/server"]
    log = [r.getMessage() for r in caplog.records if r.name == "HybridCuller"]
    assert log[0] == "warn ann: idle 9m20s since start, timeout 10m00s (profile gpu); culling at 09:10:20 UTC -> warning sent"
    assert log[-1] == "cull ann: idle 10m20s since start, timeout 10m00s (profile gpu) -> stopped"
    assert all("secret-token" not in line for line in log)
    assert culler.decisions.as_json()["rounds"] == 3


async def test_server_without_the_extension_is_judged_by_hub_activity(culler):
    hub = InMemoryHub()
    hub.add("old", None, status=404, last_activity=T0 + timedelta(seconds=300))
    culler.now["t"] = T0 + timedelta(seconds=600)
    [decision] = await culler.cull_round(client_for(hub))
    assert decision.action == "keep" and decision.reason.startswith("no activity report (HTTP 404); hub last_activity 5m00s ago")
    culler.now["t"] = T0 + timedelta(seconds=850)
    [decision] = await culler.cull_round(client_for(hub))
    assert decision.action == "warn"


async def test_connected_browser_gets_a_stopping_notice_and_time_to_save(culler):
    hub = InMemoryHub()
    hub.add("bo", {"busy": False, "browser_connected": True, "saves_on_stop": True})
    client = client_for(hub)
    culler.now["t"] = T0 + timedelta(seconds=600)
    await culler.cull_round(client)  # warn
    culler.now["t"] = T0 + timedelta(seconds=700)
    [decision] = await culler.cull_round(client)
    assert decision.action == "cull"
    states = [w.get("state", "pending") for w in warnings(hub)]
    assert states == ["pending", "stopping"]
    methods = [(m, p.rsplit("/", 1)[-1]) for m, p, _ in hub.requests]
    stopping = methods.index(("POST", "warning"), methods.index(("POST", "warning")) + 1)
    assert ("GET", "activity") in methods[stopping:] and methods[-1] == ("DELETE", "server")


async def test_dry_run_sends_nothing_and_a_failing_stop_is_logged_not_fatal(culler, caplog):
    hub = InMemoryHub()
    hub.add("dee", {"busy": False})
    hub.add("eve", {"busy": False})
    culler.dry_run = True
    culler.now["t"] = T0 + timedelta(seconds=700)
    await culler.cull_round(client_for(hub))
    culler.now["t"] = T0 + timedelta(seconds=800)
    assert [d.action for d in await culler.cull_round(client_for(hub))] == ["cull", "cull"]
    assert warnings(hub) == [] and stops(hub) == []

    culler.dry_run = False
    hub.delete_status = 403  # e.g. a role without delete:servers
    culler.now["t"] = T0 + timedelta(seconds=900)
    await culler.cull_round(client_for(hub))
    errors = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    assert any("HTTP 403" in e for e in errors)
