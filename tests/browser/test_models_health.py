"""The production version's health in the Models panel (issue 20), in headless Chromium on a real
JupyterLab in Japanese (the browser's language; JupyterLab follows it by itself): the panel opened
by clicking its icon charts the days of the monitoring reports (as the contract shapes them, in the
real object store) with its summary as the image's label; Open report, reached and pressed from
the keyboard, opens the latest HTML report in a sandboxed main-area tab that comes back with the
layout; a new alert is told once as a notification, and not again after a reload once it was seen;
Retrain now asks, then opens the training pipeline's run (newest data, RETRAIN_FOR).

Every answer is the real server's (jupyter-server with hybridhub, the MLflow tracking server,
SeaweedFS, the local pipeline backend's production record). Screenshots:
``test-artifacts/screenshots/models-health-ja/``.
"""

from __future__ import annotations

import re
import uuid
from types import SimpleNamespace

import pytest
import requests

from tests.browser.lab import LOCALES, SHOTS, VISIBLE_TEXTS_JS, Catalog
from tests.browser.test_user_flow import _lab_language_settled
from tests.harness.wait import wait_until
from tests.models.health_reports import HTML, dates, day, health_lab, put, report
from tests.models.mlflow_server import mlflow_server  # noqa: F401 (fixture)

pytestmark = [pytest.mark.browser, pytest.mark.monitoring, pytest.mark.models]

PANEL = "#hybridhub-models"
ALERT = [{"kind": "data_drift", "value": 0.75, "threshold": 0.5}]
SHOT_DIR = SHOTS / "models-health-ja"


def ja(msgid: str, *args) -> str:
    text = Catalog().text(msgid, "ja")
    for i, arg in enumerate(args, start=1):
        text = text.replace(f"%{i}", str(arg))
    return text


@pytest.fixture(scope="module")
def served(tmp_path_factory, mlflow_server, object_store):  # noqa: F811
    name = f"sensor-failure-{uuid.uuid4().hex[:6]}"
    with health_lab(tmp_path_factory.mktemp("models-health-browser"), mlflow_server.url, object_store, {name: 1}) as lab:
        folder = f"predictions/{name}/1.0.1/monitoring/"
        days = [day(d, 100 + i) for i, d in enumerate(dates("2026-12-04", 4))]
        put(lab.admin, lab.bucket, folder + "2026-12-04.json", report(name, "1.0.1", "2026-12-04", days))
        put(lab.admin, lab.bucket, folder + "2026-12-04.html", HTML.format(date="2026-12-04", status="ok"), "text/html")
        yield SimpleNamespace(url=lab.url, token=lab.token, name=name, admin=lab.admin, bucket=lab.bucket, folder=folder,
                              project=lab.root.name)  # fmt: skip


def add_alert_report(served, date: str) -> None:
    """The next run of the job: a window ending ``date`` whose last day drifted."""
    days = [day(d, 100) for d in dates(date, 4)]
    days[-1]["drift_share"] = 0.75
    put(served.admin, served.bucket, f"{served.folder}{date}.json", report(served.name, "1.0.1", date, days, "alert", ALERT))
    put(served.admin, served.bucket, f"{served.folder}{date}.html", HTML.format(date=date, status="alert"), "text/html")


def alert_text(served, date: str) -> str:
    # the project by its name (the home repository's folder name), never its id "."
    return ja("Model %1 (%2): the monitoring report of %3 crossed a threshold: %4.", served.name, served.project, date,
              ja("data drift"))  # fmt: skip


def seen_saved(page, date: str) -> bool:
    """The workspace JupyterLab saved holds the date of the alert told (IStateDB's store)."""
    text = page.evaluate("""async () => {
        const base = JSON.parse(document.getElementById('jupyter-config-data').textContent).baseUrl;
        const r = await fetch(base + 'lab/api/workspaces/default', {credentials: 'same-origin'});
        return r.ok ? await r.text() : '';
    }""")  # fmt: skip
    return "hybridhub:models-alerts-seen" in text and date in text


def test_health_chart_report_tab_and_alert_notification(served, chromium):
    SHOT_DIR.mkdir(parents=True, exist_ok=True)
    context = chromium.new_context(locale=LOCALES["ja"], viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.set_default_timeout(30_000)
    try:
        page.goto(f"{served.url}lab?token={served.token}")
        assert _lab_language_settled(SimpleNamespace(page=page)) == "ja-JP"
        page.locator(".jp-SideBar .lm-TabBar-tab[data-id='hybridhub-models']").click()  # as a person does
        panel = page.locator(PANEL)
        heading = ja("Health of version %1 in production", "1.0.1")
        panel.locator("h3", has_text=heading).wait_for()
        chart = panel.locator("svg.jp-hybridhub-md-health-chart[role=img]")
        chart.wait_for()
        assert chart.get_attribute("data-days") == "4" and panel.locator(".jp-hybridhub-md-health-bar").count() == 4
        label = chart.get_attribute("aria-label")
        assert label.startswith(ja("Health of version %1 from %2 to %3 (days charted: %4). Last day: drift share %5 (threshold %6), %7 requests, accuracy %8. Latest report: %9.",
                                   "1.0.1", "2026-12-01", "2026-12-04", 4, "10 %", "50 %", 103, "—", ja("no alert")))  # fmt: skip
        assert len(panel.locator(".jp-hybridhub-md-health-figures tbody tr").all()) == 4  # the figures, for screen readers
        page.screenshot(path=str(SHOT_DIR / "1-chart.png"))
        leftovers = Catalog().english(page.evaluate(VISIBLE_TEXTS_JS, f"{PANEL} .jp-hybridhub-md-health"))
        assert leftovers == [], leftovers  # every text and label of the health card is Japanese

        # keyboard: the chart is a tab stop; the next one is Open report; Enter opens the tab
        chart.focus()
        page.keyboard.press("Tab")
        open_report = panel.get_by_role("button", name=ja("Open report"))
        assert open_report.evaluate("b => document.activeElement === b")
        page.keyboard.press("Enter")
        frame = page.locator(".jp-hybridhub-md-report iframe")
        frame.wait_for()
        assert frame.get_attribute("sandbox") == ""
        assert page.frame_locator(".jp-hybridhub-md-report iframe").locator("h1").inner_text() == "Drift report 2026-12-04"
        page.locator(".lm-DockPanel .lm-TabBar-tab", has_text=ja("Report %1", "2026-12-04")).wait_for()
        page.screenshot(path=str(SHOT_DIR / "2-report.png"))

        # the job's next run finds drift: the panel's refresh tells it once
        add_alert_report(served, "2026-12-05")
        panel.get_by_role("button", name=ja("Refresh")).click()
        page.get_by_text(alert_text(served, "2026-12-05")).first.wait_for()
        assert chart.get_attribute("data-days") == "5"
        page.screenshot(path=str(SHOT_DIR / "3-alert.png"))
        wait_until(lambda: seen_saved(page, "2026-12-05"), timeout=30, what="the seen alert in the saved workspace")

        # reloaded: the panel and the report tab come back with the layout; the alert seen is not told
        # again, a newer one is (told in order: once the newer one shows, the older one was checked)
        page.reload()
        page.wait_for_function("window.jupyterapp && window.jupyterapp.commands.hasCommand('hybridhub:models-open')")
        page.evaluate("window.jupyterapp.restored.then(() => true)")
        page.locator(".jp-hybridhub-md-report iframe").wait_for()
        assert page.frame_locator(".jp-hybridhub-md-report iframe").locator("h1").inner_text() == "Drift report 2026-12-04"
        page.locator(PANEL).locator("svg.jp-hybridhub-md-health-chart[data-days='5']").wait_for()
        add_alert_report(served, "2026-12-06")
        page.locator(PANEL).get_by_role("button", name=ja("Refresh")).click()
        page.get_by_text(alert_text(served, "2026-12-06")).first.wait_for()
        assert page.get_by_text(alert_text(served, "2026-12-05")).count() == 0
        page.screenshot(path=str(SHOT_DIR / "4-after-reload.png"))

        # Retrain now: asked first, then the training pipeline's run opens as the Pipelines panel opens it
        page.locator(PANEL).get_by_role("button", name=ja("Retrain now"), exact=True).click()
        dialog = page.locator(".jp-Dialog")
        assert dialog.locator(".jp-Dialog-body").inner_text() == ja(
            "The training pipeline runs on the newest data to replace version %1 of %2; the new version still has to pass its test gate and be promoted.",
            "1.0.1", served.name)  # fmt: skip
        dialog.get_by_role("button", name=ja("Retrain"), exact=True).click()
        header = page.locator(".jp-hybridhub-pl-run:visible .jp-hybridhub-pl-run-header strong")
        header.wait_for()
        run_id = int(re.search(r"\d+", header.inner_text()).group(0))
        run = requests.get(f"{served.url}hybridhub/pipelines/runs/{run_id}", params={"project": "."},
                           headers={"Authorization": f"token {served.token}"}, timeout=30).json()  # fmt: skip
        assert {v["key"]: v["value"] for v in run["variables"]} == {"DATA_VERSION": "", "TEST_DATA_VERSION": "", "RETRAIN_FOR": "1.0.1"}
        page.screenshot(path=str(SHOT_DIR / "5-retrain.png"))
        requests.post(f"{served.url}hybridhub/pipelines/runs/{run_id}/cancel", json={"project": "."},
                      headers={"Authorization": f"token {served.token}"}, timeout=30)  # fmt: skip
    except BaseException:
        page.screenshot(path=str(SHOT_DIR / "FAILED.png"))
        raise
    finally:
        context.close()
