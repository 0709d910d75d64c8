"""Warm on intent, as a person meets it: choosing a GPU profile on the spawn form starts its node.

``hybridhub demo --kube`` (its cost service runs the warm-up, ``c.HybridSpawner.warm_on_intent_service``
names it), headless Chromium in Japanese. bob clicks the GPU profile; the form says, in Japanese,
that a GPU node is being prepared while he fills it in; a placeholder made on intent is in the
Kubernetes stand-in; the short-lived token the page used is gone. He starts his server: the
progress says the node was already on its way (or already warmed), and the warm-up records it as
used, made on intent. Screenshot: test-artifacts/screenshots/ja/warm-on-intent.png.
"""

from __future__ import annotations

import time

import pytest

from hybridhub.hub_ext.warmup import i18n
from tests.browser.conftest import ARTIFACTS, running_demo
from tests.browser.lab import LOCALES
from tests.hubclient import login
from tests.warmup.test_demo_warmup import placeholders

pytestmark = [pytest.mark.browser, pytest.mark.warmup]


def test_choosing_a_gpu_profile_warms_its_node_and_the_start_takes_it(tmp_path, chromium):
    data_dir = tmp_path / "demo"
    with running_demo(data_dir, "--kube", "--kube-speed", "60") as demo:
        kubeconfig = str(data_dir / "kube" / "kubeconfig.yaml")
        admin = login(demo["url"], "admin", demo["admin_password"])
        context = chromium.new_context(locale=LOCALES["ja"], viewport={"width": 1280, "height": 900})
        try:
            page = context.new_page()
            page.set_default_timeout(60_000)
            page.goto(demo["url"] + "hub/login")
            page.fill("#username_input", "bob")
            page.fill("#password_input", demo["user_password"])
            page.click("#login_submit")
            page.wait_for_url("**/hub/spawn*")
            page.check("#hh-profile-cpu")  # nothing is warmed for a CPU profile
            assert placeholders(kubeconfig) == []
            page.click("label[for=hh-profile-gpu-a10]")
            status = page.locator("#hh-warm-status")
            status.wait_for(state="visible", timeout=60_000)
            assert status.inner_text() == i18n.JA["warm_on_intent"]
            shots = ARTIFACTS / "screenshots" / "ja"
            shots.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(shots / "warm-on-intent.png"))
            [held] = placeholders(kubeconfig)
            assert held["metadata"]["labels"]["hybridhub/warmup-origin"] == "intent"
            assert held["metadata"]["labels"]["hybridhub/pool"] == "gpua10"
            # the token the page asked for was used once and deleted (the page deletes it after the answer)
            def spawn_form_tokens() -> list:
                tokens = admin.api("GET", "users/bob/tokens").json()["api_tokens"]
                return [t for t in tokens if "spawn form" in (t.get("note") or "")]

            deadline = time.monotonic() + 15
            while spawn_form_tokens() and time.monotonic() < deadline:
                time.sleep(0.5)
            assert spawn_form_tokens() == []
            page.click("label[for=hh-profile-gpu-a10]")  # choosing it again asks nothing more
            page.wait_for_timeout(1000)
            assert [p["metadata"]["name"] for p in placeholders(kubeconfig)] == [held["metadata"]["name"]]

            page.click("#spawn_form button[type=submit]")
            page.wait_for_url("**/spawn-pending/**")
            messages: list[str] = []
            deadline = time.monotonic() + 120
            wanted = ("すでに起動中です", "事前に起動しておいた")
            while not any(w in m for m in messages for w in wanted) and time.monotonic() < deadline:
                messages = page.locator("#progress-log .progress-log-event").all_text_contents()
                page.wait_for_timeout(300)
            assert any(w in m for m in messages for w in wanted), messages

            outcome = None
            deadline = time.monotonic() + 90  # the runner looks every 15 s
            while outcome is None and time.monotonic() < deadline:
                report = admin.session.get(demo["url"] + "services/hybridhub-cost/api/warmup", timeout=30).json()
                [seen] = [p for p in report["placeholders"] if p["placeholder"] == held["metadata"]["name"]]
                outcome = seen["outcome"]
                time.sleep(2)
            assert (seen["origin"], outcome) == ("intent", "used"), seen
        finally:
            context.close()
