"""The administrator opens the cost page from the hub's Services menu, in English and Japanese.

``hybridhub demo --kube``: the cost service runs only there (it measures the Kubernetes
stand-in's nodes). alice's CPU server is started first so that a node pool has node-hours.
"""

from __future__ import annotations

import re

import pytest
from hybridhub.hub_ext.cost.i18n import EN, JA

from tests.browser.conftest import running_demo
from tests.browser.lab import LOCALES, SHOTS, VISIBLE_TEXTS_JS
from tests.hubclient import login, start_server

pytestmark = pytest.mark.browser

JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")
# English texts of the page that have a different Japanese version, as patterns ({x} → anything)
ENGLISH = [
    re.compile("^" + ".+?".join(re.escape(part) for part in re.split(r"\{\w+\}", EN[key])) + "$")
    for key in EN
    if JA.get(key) != EN[key] and re.search(r"[A-Za-z]{3}", EN[key])
]


@pytest.fixture(scope="module")
def kube_demo(tmp_path_factory):
    with running_demo(tmp_path_factory.mktemp("browser-kube-demo") / "demo", "--kube", "--kube-speed", "60") as demo:
        start_server(login(demo["url"], "alice", demo["user_password"]), "alice", timeout=180, options={"profile": "cpu"})
        yield demo


@pytest.mark.parametrize("lang", ["en", "ja"])
def test_admin_opens_the_cost_page_from_the_services_menu(kube_demo, chromium, lang):
    context = chromium.new_context(locale=LOCALES[lang], viewport={"width": 1280, "height": 900})
    try:
        page = context.new_page()
        page.set_default_timeout(60_000)
        page.goto(kube_demo["url"] + "hub/login")
        page.fill("#username_input", "admin")
        page.fill("#password_input", kube_demo["admin_password"])
        page.click("#login_submit")
        page.wait_for_load_state()
        page.goto(kube_demo["url"] + "hub/home")
        page.locator("nav .dropdown-toggle").click()
        page.locator("nav .dropdown-item", has_text="hybridhub-cost").click()
        page.wait_for_url("**/services/hybridhub-cost/**")
        title = page.locator("h1").inner_text()
        texts = page.evaluate(VISIBLE_TEXTS_JS, "body")
        (SHOTS / lang).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / lang / "admin-cost-page.png"), full_page=True)
        html_lang = page.evaluate("document.documentElement.lang")
    finally:
        context.close()

    body = "\n".join(texts)
    assert "cpu" in body.lower(), body[:800]  # alice's CPU pool is measured
    if lang == "ja":
        assert (title, html_lang) == (JA["title"], "ja")
        left = [t for t in texts if any(p.match(" ".join(t.split())) for p in ENGLISH)]
        assert left == [], f"English left on the Japanese cost page: {left}"
        assert sum(bool(JAPANESE.search(t)) for t in texts) >= 10
    else:
        assert (title, html_lang) == (EN["title"], "en")
        assert not any(JAPANESE.search(t) for t in texts), [t for t in texts if JAPANESE.search(t)]


def test_a_user_cannot_open_the_cost_page(kube_demo, chromium):
    """The hub itself refuses (the demo grants no ``access:services`` to users): no figure leaks."""
    context = chromium.new_context(locale=LOCALES["ja"])
    try:
        page = context.new_page()
        page.goto(kube_demo["url"] + "hub/login")
        page.fill("#username_input", "bob")
        page.fill("#password_input", kube_demo["user_password"])
        page.click("#login_submit")
        page.wait_for_load_state()
        response = page.goto(kube_demo["url"] + "services/hybridhub-cost/")
        status, text = response.status, page.locator("body").inner_text()
    finally:
        context.close()
    assert status == 403, (status, text[:300])
    assert JA["title"] not in text and EN["title"] not in text, text[:300]
