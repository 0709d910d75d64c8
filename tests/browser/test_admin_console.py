"""The administrator opens the admin console from the hub's Services menu, in English and Japanese.

``hybridhub demo --kube``: the cost service runs only there (it measures the Kubernetes
stand-in's nodes); the culler and the console run in every demo. alice's CPU server is started
first so that a node pool has node-hours, a server runs under a profile and the culler judges it.
The old cost page sends the admin to the console; its CSV and JSON downloads stay where they were.
Screenshots: docs/screenshots/admin-console-{en,ja}.png.
"""

from __future__ import annotations

import re

import pytest

from hybridhub.hub_ext.console.i18n import EN, JA
from hybridhub.hub_ext.doctor.i18n import EN as DOCTOR_EN
from hybridhub.hub_ext.doctor.i18n import JA as DOCTOR_JA
from tests.browser.conftest import REPO_ROOT, running_demo
from tests.browser.lab import LOCALES, VISIBLE_TEXTS_JS
from tests.hubclient import login, start_server

pytestmark = [pytest.mark.browser, pytest.mark.cost]  # the console is the cost area's page too

DOCS_SHOTS = REPO_ROOT / "docs" / "screenshots"
JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")


def english_patterns(en: dict, ja: dict) -> list[re.Pattern]:
    """English texts that have a different Japanese version, as patterns ({x} → anything)."""
    return [re.compile("^" + ".+?".join(re.escape(part) for part in re.split(r"\{[\w:]+\}", en[key])) + "$")
            for key in en if ja.get(key) != en[key] and re.search(r"[A-Za-z]{3}", en[key])]


ENGLISH = english_patterns(EN, JA) + english_patterns(DOCTOR_EN, DOCTOR_JA)


@pytest.fixture(scope="module")
def kube_demo(tmp_path_factory):
    with running_demo(tmp_path_factory.mktemp("browser-console-demo") / "demo", "--kube", "--kube-speed", "60") as demo:
        start_server(login(demo["url"], "alice", demo["user_password"]), "alice", timeout=180, options={"profile": "cpu"})
        yield demo


def admin_page(chromium, demo, lang):
    context = chromium.new_context(locale=LOCALES[lang], viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(60_000)
    page.goto(demo["url"] + "hub/login")
    page.fill("#username_input", "admin")
    page.fill("#password_input", demo["admin_password"])
    page.click("#login_submit")
    page.wait_for_load_state()
    return context, page


def wait_for_figures(page, timeout_s=150, decisions=False):
    """The doctor's first run (a worker thread), the cost service's first summary and (when asked)
    a culler round that judged alice's server (the demo's culler runs every 60 s)."""
    for _ in range(timeout_s // 2):
        if (page.locator("#console-doctor table").count() and page.locator("#cost-chart").count()
                and (not decisions or page.locator("#console-decisions table").count())):
            return
        page.wait_for_timeout(2000)
        page.reload()
    raise AssertionError(page.locator("#hybridhub-console").inner_text()[:2000])


@pytest.mark.parametrize("lang", ["en", "ja"])
def test_admin_opens_the_console_from_the_services_menu(kube_demo, chromium, lang):
    context, page = admin_page(chromium, kube_demo, lang)
    try:
        page.goto(kube_demo["url"] + "hub/home")
        page.locator("nav .dropdown-toggle").click()
        page.locator("nav .dropdown-item", has_text="hybridhub-console").click()
        page.wait_for_url("**/services/hybridhub-console/**")
        wait_for_figures(page, decisions=True)
        page.wait_for_function("document.documentElement.getAttribute('data-hh-lang') !== null")
        title = page.locator("h1").inner_text()
        html_lang = page.evaluate("document.documentElement.lang")
        texts = page.evaluate(VISIBLE_TEXTS_JS, "body")
        pools = page.locator("#console-pools").inner_text()
        profiles = page.locator("#console-profiles").inner_text()
        decisions = page.locator("#console-decisions").inner_text()
        chart = page.locator("#cost-chart")
        chart_texts = chart.evaluate("svg => [...svg.querySelectorAll('text')].map(t => t.textContent.trim())")
        navbar_services = page.locator("nav .dropdown-item").all_inner_texts()
        DOCS_SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(DOCS_SHOTS / f"admin-console-{lang}.png"), full_page=True)
    finally:
        context.close()

    t = EN if lang == "en" else JA
    assert (title, html_lang) == (t["title"], lang)
    assert "hybridhub-culler" in navbar_services and "hybridhub-console" in navbar_services
    assert "cpu" in pools and "alice" in profiles  # alice's CPU server, under its profile
    assert "alice" in decisions  # the culler's decision on it, read with the console's token
    # the chart: labelled axes, legend, amounts as people write them (no stray decimals)
    for key in ("axis_day", "legend_actual", "legend_projection", "legend_budget"):
        assert t[key] in chart_texts, (key, chart_texts)
    amounts = [x for x in chart_texts if re.search(r"\d", x) and ("¥" in x or "円" in x)]
    assert amounts and not [x for x in amounts if "." in x], chart_texts
    assert not [x for x in texts if re.search(r"\d\.\d{3,}", x)], "raw decimals on the page"
    body = "\n".join(texts)
    if lang == "ja":
        left = [x for x in texts if any(p.match(" ".join(x.split())) for p in ENGLISH)]
        assert left == [], f"English left on the Japanese console: {left}"
        assert sum(bool(JAPANESE.search(x)) for x in texts) >= 20
    else:
        assert not any(JAPANESE.search(x) for x in texts), [x for x in texts if JAPANESE.search(x)]
        assert DOCTOR_EN["pass"] in body or DOCTOR_EN["warn"] in body or DOCTOR_EN["fail"] in body


def test_the_old_cost_page_leads_to_the_console_and_the_downloads_stay(kube_demo, chromium):
    context, page = admin_page(chromium, kube_demo, "en")
    try:
        page.goto(kube_demo["url"] + "services/hybridhub-cost/")
        page.wait_for_url("**/services/hybridhub-console/**")
        wait_for_figures(page)
        csv_href = page.locator("#download-csv").get_attribute("href")
        json_href = page.locator("#download-json").get_attribute("href")
        csv = page.request.get(kube_demo["url"].rstrip("/") + csv_href)
        summary = page.request.get(kube_demo["url"].rstrip("/") + json_href)
        csv_text, csv_status, summary_status = csv.text(), csv.status, summary.status
        summary_body = summary.json()
    finally:
        context.close()
    assert csv_href == "/services/hybridhub-cost/api/summary.csv" and csv_status == 200
    assert csv_text.splitlines()[0] == "section,name,detail,amount,currency"
    assert summary_status == 200 and summary_body["currency"] == "JPY"


def test_a_user_gets_403_on_the_console(kube_demo, chromium):
    """The hub itself refuses (the demo grants users no ``access:services``): no figure leaks."""
    context = chromium.new_context(locale=LOCALES["ja"])
    try:
        page = context.new_page()
        page.goto(kube_demo["url"] + "hub/login")
        page.fill("#username_input", "bob")
        page.fill("#password_input", kube_demo["user_password"])
        page.click("#login_submit")
        page.wait_for_load_state()
        statuses = []
        for path in ("services/hybridhub-console/", "services/hybridhub-cost/api/summary"):
            response = page.goto(kube_demo["url"] + path)
            statuses.append(response.status)
            text = page.locator("body").inner_text()
            assert JA["title"] not in text and EN["title"] not in text and "alice" not in text, text[:300]
    finally:
        context.close()
    assert statuses == [403, 403]
