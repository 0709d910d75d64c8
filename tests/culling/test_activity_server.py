"""The activity report inside a real jupyter-server: kernels, terminals, work, GPU, keep-alive."""

from __future__ import annotations

import asyncio
import json
import time

import pytest
from tornado.httpclient import HTTPClientError

from hybridhub.lab_ext.activity import registry
from hybridhub.lab_ext.activity.gpu import StaticGpuSource

pytestmark = pytest.mark.culling


@pytest.fixture
def jp_server_config(monkeypatch):
    monkeypatch.setenv("HYBRIDHUB_IDLE_TIMEOUT", "600")
    monkeypatch.setenv("HYBRIDHUB_PROFILE", "gpu-a10")
    return {
        "ServerApp": {"jpserver_extensions": {"hybridhub.lab_ext": True, "jupyter_server_terminals": True}},
        "ActivityMonitor": {"sample_seconds": 0.2},
    }


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


async def test_keepalive_is_granted_once_per_idle_period(jp_fetch, jp_serverapp):
    warning = {"cull_at": "2030-01-01T00:00:00Z", "reason": "idle for 9m", "kind": "idle"}
    await jp_fetch("hybridhub", "activity", "warning", method="POST", body=json.dumps(warning))
    body = await report(jp_fetch)
    assert body["warning"]["reason"] == "idle for 9m" and body["keepalive_available"] is True

    granted = json.loads((await jp_fetch("hybridhub", "activity", "keepalive", method="POST", body="")).body)
    assert granted["extends_by_seconds"] == 600
    body = await report(jp_fetch)
    assert body["warning"] is None and body["keepalive_at"] == granted["keepalive_at"]
    assert body["keepalive_available"] is False

    with pytest.raises(HTTPClientError) as refused:
        await jp_fetch("hybridhub", "activity", "keepalive", method="POST", body="")
    assert refused.value.code == 409

    with registry.begin("pipeline-watch"):  # real work in between makes a new one available
        await report(jp_fetch)
    assert (await report(jp_fetch))["keepalive_available"] is True


async def test_max_age_warning_cannot_be_extended(jp_fetch):
    warning = {"cull_at": "2030-01-01T00:00:00Z", "reason": "max age", "kind": "max-age", "state": "stopping"}
    await jp_fetch("hybridhub", "activity", "warning", method="POST", body=json.dumps(warning))
    with pytest.raises(HTTPClientError) as refused:
        await jp_fetch("hybridhub", "activity", "keepalive", method="POST", body="")
    assert refused.value.code == 409


async def test_bad_warning_is_400_and_routes_need_a_token(jp_fetch):
    with pytest.raises(HTTPClientError) as bad:
        await jp_fetch("hybridhub", "activity", "warning", method="POST", body=json.dumps({"kind": "idle"}))
    assert bad.value.code == 400
    with pytest.raises(HTTPClientError) as denied:
        await jp_fetch("hybridhub", "activity", headers={"Authorization": "token wrong"})
    assert denied.value.code in (401, 403)
    saved = json.loads((await jp_fetch("hybridhub", "activity", "saved", method="POST", body="")).body)
    assert (await report(jp_fetch))["saved_at"] == saved["saved_at"]
