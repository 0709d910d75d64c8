"""The activity report inside a real jupyter-server: kernels, terminals, work, GPU, keep-alive,
and its delivery to the culler (a stand-in of the culler's report route, in the test)."""

from __future__ import annotations

import asyncio
import json
import time

import pytest
from tornado import web
from tornado.httpclient import HTTPClientError
from tornado.httpserver import HTTPServer
from tornado.netutil import bind_sockets

from hybridhub.lab_ext.activity import registry
from hybridhub.lab_ext.activity.gpu import StaticGpuSource

pytestmark = pytest.mark.culling


@pytest.fixture
def jp_server_config(monkeypatch):
    monkeypatch.setenv("HYBRIDHUB_IDLE_TIMEOUT", "600")
    monkeypatch.setenv("HYBRIDHUB_PROFILE", "gpu-a10")
    monkeypatch.setenv("JUPYTERHUB_API_TOKEN", SERVER_TOKEN)  # what the hub gives a server
    monkeypatch.setenv("JUPYTERHUB_USER", "alice")
    monkeypatch.setenv("JUPYTERHUB_SERVER_NAME", "")
    return {
        "ServerApp": {"jpserver_extensions": {"hybridhub.lab_ext": True, "jupyter_server_terminals": True}},
        "ActivityMonitor": {"sample_seconds": 0.2},
    }


SERVER_TOKEN = "server-token-of-alice"


class CullerStandIn:
    """The culler's ``POST <prefix>/report`` as hub_ext/culler/reports.py answers it:
    ``{"warning": ...}``; records what each report brought."""

    def __init__(self) -> None:
        self.received: list[tuple[dict, dict]] = []
        self.warning: dict | None = None
        sockets = bind_sockets(0, "127.0.0.1")
        self.url = f"http://127.0.0.1:{sockets[0].getsockname()[1]}/services/hybridhub-culler/"
        stand_in = self

        class Report(web.RequestHandler):
            def post(self):
                stand_in.received.append((dict(self.request.headers), json.loads(self.request.body)))
                self.finish({"warning": stand_in.warning})

        self.server = HTTPServer(web.Application([("/services/hybridhub-culler/report", Report)]))
        self.server.add_sockets(sockets)


@pytest.fixture
async def culler(jp_serverapp):
    stand_in = CullerStandIn()
    reporter = monitor_of(jp_serverapp).reporter
    reporter.culler_url = stand_in.url
    stand_in.reporter = reporter
    yield stand_in
    reporter.stop()
    stand_in.server.stop()


async def report(jp_fetch, **params):
    response = await jp_fetch("hybridhub", "activity", params=params)
    return json.loads(response.body)


def monitor_of(jp_serverapp):
    return jp_serverapp.web_app.settings["hybridhub"]["activity"]


async def test_fresh_server_is_idle_and_reports_its_profile(jp_fetch):
    body = await report(jp_fetch)
    assert body["busy"] is False and body["reasons"] == []
    assert body["profile"] == "gpu-a10" and body["idle_timeout_seconds"] == 600
    assert body["last_busy"] is None and body["warning"] is None
    assert body["browser_connected"] is False
    # a poll from the JupyterLab extension marks a connected browser, and only that
    assert (await report(jp_fetch, client="lab"))["browser_connected"] is True


async def test_silent_running_cell_is_activity(jp_fetch, jp_serverapp):
    km = jp_serverapp.kernel_manager
    kernel_id = await km.start_kernel(kernel_name="python3")
    client = km.get_kernel(kernel_id).client()
    client.start_channels()
    try:
        await asyncio.wait_for(client.wait_for_ready(), 60)
        client.execute("import time; time.sleep(3)")  # no output at all
        deadline = time.monotonic() + 10
        body = await report(jp_fetch)
        while not body["busy"] and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
            body = await report(jp_fetch)
        assert body["busy"] is True
        assert body["kernels"] == {"total": 1, "busy": 1}
        assert body["reasons"] == ["1 of 1 kernel(s) executing"]
        assert body["last_busy"] is not None
        while body["busy"] and time.monotonic() < deadline + 5:
            await asyncio.sleep(0.3)
            body = await report(jp_fetch)
        assert body["busy"] is False and body["kernels"] == {"total": 1, "busy": 0}
        assert body["last_busy"] is not None  # remembered after the cell ends
    finally:
        client.stop_channels()
        await km.shutdown_kernel(kernel_id, now=True)


async def test_terminal_foreground_command_is_activity_background_job_is_not(jp_fetch, jp_serverapp):
    manager = jp_serverapp.web_app.settings["terminal_manager"]
    model = await jp_fetch("api", "terminals", method="POST", body="{}")
    name = json.loads(model.body)["name"]
    terminal = manager.get_terminal(name)
    try:
        terminal.ptyproc.write("sleep 30 &\n")  # a background job: not in the foreground
        await asyncio.sleep(1.5)
        body = await report(jp_fetch)
        assert body["terminals"] == {"total": 1, "busy": 0}, body
        terminal.ptyproc.write("sleep 20\n")
        deadline = time.monotonic() + 10
        while not body["busy"] and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
            body = await report(jp_fetch)
        assert body["terminals"] == {"total": 1, "busy": 1}
        assert body["reasons"] == [f"terminal {name} running sleep"]
        terminal.ptyproc.write("\x03")  # Ctrl-C: back at the prompt
        while body["busy"] and time.monotonic() < deadline + 5:
            await asyncio.sleep(0.2)
            body = await report(jp_fetch)
        assert body["busy"] is False
    finally:
        await manager.terminate(name, force=True)


async def test_registered_work_and_gpu_are_activity(jp_fetch, jp_serverapp):
    monitor = monitor_of(jp_serverapp)
    with registry.begin("storage-transfer", "s3://datasets/big.parquet"):
        body = await report(jp_fetch)
        assert body["busy"] is True and body["work"] == {"storage-transfer": 1}
        assert body["reasons"] == ["storage-transfer in progress (1)"]
    assert (await report(jp_fetch))["busy"] is False

    monitor.gpu_source = StaticGpuSource([3])  # below gpu_busy_percent (10)
    body = await report(jp_fetch)
    assert body["busy"] is False and body["gpu"]["utilisation"] == [3]
    monitor.gpu_source.values = [87]
    body = await report(jp_fetch)
    assert body["busy"] is True and body["reasons"] == ["GPU 0 at 87%"]


async def test_reports_go_to_the_culler_with_the_servers_own_token_and_bring_its_warning(jp_fetch, culler):
    assert await culler.reporter.send()
    headers, body = culler.received[-1]
    assert headers["Authorization"] == f"token {SERVER_TOKEN}"  # the server's own, nothing else
    assert body["user"] == "alice" and body["server"] == ""
    assert body["report"]["busy"] is False and body["report"]["profile"] == "gpu-a10"

    culler.warning = {"cull_at": "2030-01-01T00:00:00Z", "reason": "idle for 9m", "kind": "idle", "state": "pending"}
    await culler.reporter.send()
    shown = (await report(jp_fetch))["warning"]
    assert shown["reason"] == "idle for 9m" and shown["state"] == "pending"
    await culler.reporter.send()  # the same warning again: shown once (same issued_at)
    assert (await report(jp_fetch))["warning"]["issued_at"] == shown["issued_at"]
    culler.warning = None
    await culler.reporter.send()
    assert (await report(jp_fetch))["warning"] is None


async def test_work_starting_is_reported_at_once(jp_fetch, culler):
    culler.reporter.report_seconds = 600
    culler.reporter.start()
    deadline = time.monotonic() + 10
    while not culler.received and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    assert len(culler.received) == 1  # the first report, at start
    with registry.begin("storage-transfer", "s3://datasets/big.parquet"):
        while len(culler.received) < 2 and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        assert culler.received[-1][1]["report"]["busy"] is True  # not 600 s later
    assert culler.received[-1][1]["report"]["reasons"] == ["storage-transfer in progress (1)"]


async def test_keepalive_is_granted_once_per_idle_period(jp_fetch, culler):
    culler.warning = {"cull_at": "2030-01-01T00:00:00Z", "reason": "idle for 9m", "kind": "idle"}
    await culler.reporter.send()
    body = await report(jp_fetch)
    assert body["warning"]["reason"] == "idle for 9m" and body["keepalive_available"] is True

    granted = json.loads((await jp_fetch("hybridhub", "activity", "keepalive", method="POST", body="")).body)
    assert granted["extends_by_seconds"] == 600
    body = await report(jp_fetch)
    assert body["warning"] is None and body["keepalive_at"] == granted["keepalive_at"]
    assert body["keepalive_available"] is False
    culler.warning = None
    await culler.reporter.send()
    assert culler.received[-1][1]["report"]["keepalive_at"] == granted["keepalive_at"]  # the culler learns it

    with pytest.raises(HTTPClientError) as refused:
        await jp_fetch("hybridhub", "activity", "keepalive", method="POST", body="")
    assert refused.value.code == 409
    assert json.loads(refused.value.response.body)["reason"] == "keepalive_used"  # was reason: <English sentence>

    with registry.begin("pipeline-watch"):  # real work in between makes a new one available
        await report(jp_fetch)
    assert (await report(jp_fetch))["keepalive_available"] is True


async def test_max_age_warning_cannot_be_extended(jp_fetch, culler):
    culler.warning = {"cull_at": "2030-01-01T00:00:00Z", "reason": "max age", "kind": "max-age", "state": "stopping"}
    await culler.reporter.send()
    with pytest.raises(HTTPClientError) as refused:
        await jp_fetch("hybridhub", "activity", "keepalive", method="POST", body="")
    assert refused.value.code == 409
    assert json.loads(refused.value.response.body)["reason"] == "max_age_reached"


async def test_nobody_posts_warnings_into_the_server_and_routes_need_a_token(jp_fetch):
    with pytest.raises(HTTPClientError) as gone:  # the culler used to; now it answers reports instead
        await jp_fetch("hybridhub", "activity", "warning", method="POST", body=json.dumps({"kind": "idle"}))
    assert gone.value.code == 404
    with pytest.raises(HTTPClientError) as denied:
        await jp_fetch("hybridhub", "activity", headers={"Authorization": "token wrong"})
    assert denied.value.code in (401, 403)
    saved = json.loads((await jp_fetch("hybridhub", "activity", "saved", method="POST", body="")).body)
    assert (await report(jp_fetch))["saved_at"] == saved["saved_at"]
