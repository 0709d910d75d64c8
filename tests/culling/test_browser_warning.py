"""The cull warning in a real JupyterLab (headless Debian Chromium through playwright).

The test plays the culler's part on the server (it POSTs the warnings the culler sends, as
in tests/culling/test_hub_culling.py) and checks what the person sees and what the browser does:
the notification with the reason, "Keep running" granting the keep-alive, and open documents
saved when the culler says it is stopping the server.
"""

from __future__ import annotations

import json
import shutil
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from tests.harness.wait import wait_until
from tests.hubclient import start_server

pytestmark = pytest.mark.culling

SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
NOTEBOOK = {"cells": [{"cell_type": "code", "execution_count": None, "id": "c1", "metadata": {}, "outputs": [], "source": ""}],
            "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
            "nbformat": 4, "nbformat_minor": 5}


def in_browser(scenario) -> None:
    """Run ``scenario(page)`` in a fresh headless Chromium, on a thread of its own.

    playwright's sync API runs an event loop on its thread; on the test's thread that loop
    would collide with pytest-asyncio's fixtures.
    """

    def run():
        from playwright.sync_api import sync_playwright

        executable = shutil.which("chromium")
        assert executable, "Debian's Chromium is needed: apt-get install chromium"
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(executable_path=executable, args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"])
            try:
                scenario(chromium.new_page(viewport={"width": 1280, "height": 800}))
            finally:
                chromium.close()

    with ThreadPoolExecutor(1) as pool:
        pool.submit(run).result()


def warn(hub, token, user, state="pending", minutes=10):
    body = {
        "cull_at": (datetime.now(timezone.utc) + timedelta(minutes=minutes)).isoformat(),
        "reason": "idle 15m00s since start, timeout 20m00s (profile lab)",
        "kind": "idle",
        "state": state,
    }
    response = hub.user_post(token, user, "hybridhub/activity/warning", data=json.dumps(body))
    assert response.status_code == 200, response.text


def test_warning_notification_keep_running_and_save_before_stop(culling_hub):
    hub = culling_hub
    session = hub.login("lia")
    start_server(session, "lia", options={"profile": "lab"}, timeout=60)
    token = hub.token(session, "lia")
    put = session.session.put(f"{hub.url}user/lia/api/contents/work.ipynb", json={"type": "notebook", "content": NOTEBOOK},
                              headers={"Authorization": f"token {token}"}, timeout=30)
    assert put.status_code in (200, 201), put.text
    warn(hub, token, "lia")  # the culler's announcement, before the page opens

    def scenario(page):
        page.goto(f"{hub.url}hub/login")
        page.fill("#username_input", "lia")
        page.fill("#password_input", hub.user_password)
        page.click("#login_submit")
        page.goto(f"{hub.url}user/lia/lab/tree/work.ipynb", timeout=60_000)

        toast = page.get_by_text("This server is idle and will be stopped in 10 min to save costs.", exact=False)
        toast.first.wait_for(timeout=60_000)
        # the user reads the message in their language; the culler's English detail is not shown
        assert "15m00s" not in toast.first.inner_text()
        page.wait_for_timeout(1000)  # the toast slides in
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / "culling-warning.png"))

        # unsaved work in the notebook
        editor = page.locator(".jp-Notebook .jp-Cell .cm-content").first
        editor.wait_for(timeout=60_000)
        editor.click()
        page.keyboard.type("answer = 42")
        # the culler is stopping the server now: the browser saves and says so
        warn(hub, token, "lia", state="stopping", minutes=0)
        saved = wait_until(lambda: hub.user_get(token, "lia", "hybridhub/activity").json()["saved_at"], 20,
                           message="the browser did not report saving")
        assert saved
        content = hub.user_get(token, "lia", "api/contents/work.ipynb").json()["content"]
        assert content["cells"][0]["source"] == "answer = 42"

        # a new idle warning: "Keep running" grants the one keep-alive
        warn(hub, token, "lia")
        page.get_by_role("button", name="Keep running").first.click(timeout=30_000)
        report = wait_until(lambda: (r := hub.user_get(token, "lia", "hybridhub/activity").json())["keepalive_at"] and r, 15)
        assert report["warning"] is None and report["keepalive_available"] is False
        page.get_by_text("The server will keep running.").first.wait_for(timeout=15_000)

    try:
        in_browser(scenario)
    finally:
        session.api("DELETE", "users/lia/server")
