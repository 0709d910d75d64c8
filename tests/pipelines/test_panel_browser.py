"""The panel in headless Chromium on a real JupyterLab: open it by its sidebar icon, launch the
template's pipeline from the form tab (by keyboard), watch stages and jobs to the end in the run
document, play the manual deploy, read the coloured log (escaped, never parsed as HTML) and the
history with metrics; opening the run again activates its tab."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest
import yaml

from tests.harness.lab import running_lab

from .conftest import commit_all

pytestmark = [pytest.mark.pipelines, pytest.mark.browser]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots" / "pipelines"
HOSTILE = "<img src=x onerror=window.__pwned=1>"


@pytest.fixture
def jp_asyncio_loop():
    """No in-process jupyter-server: playwright's sync API owns this thread's loop."""
    yield None


@pytest.fixture
def jp_server_cleanup():
    yield


@pytest.fixture
def lab(workspace, sample_data, tmp_path):
    ci = yaml.safe_load((workspace / ".gitlab-ci.yml").read_text())
    ci["variables"]["DATA_URI"]["value"] = str(sample_data["train"])
    ci["variables"]["TEST_DATA_URI"]["value"] = str(sample_data["test"])
    ci["variables"]["MAX_ITER"]["value"] = "100"
    ci["train"]["script"].insert(0, f"printf '\\033[31m%s\\033[0m\\n' '{HOSTILE}'")
    (workspace / ".gitlab-ci.yml").write_text(yaml.safe_dump(ci, sort_keys=False))
    commit_all(workspace, "local data for the browser test")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HYBRIDHUB_GITLAB", "JUPYTERHUB_"))}
    with running_lab(workspace, tmp_path / "jhome", env) as server:
        yield server


def test_launch_and_watch_from_the_panel(lab):
    from playwright.sync_api import expect, sync_playwright

    url, token = lab
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    executable = shutil.which("chromium")
    assert executable, "Debian's Chromium is needed: apt-get install chromium"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"])
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.set_default_timeout(30_000)
            page.goto(f"{url}lab?token={token}")
            page.wait_for_function("window.jupyterapp && window.jupyterapp.commands.hasCommand('hybridhub:pipelines-open')")
            page.evaluate("window.jupyterapp.restored.then(() => true)")
            page.locator(".jp-SideBar .lm-TabBar-tab[data-id='hybridhub-pipelines']").click()  # as a person does
            panel = page.locator("#hybridhub-pipelines")
            expect(panel).to_be_visible()
            expect(panel.get_by_role("table", name="Run history")).to_contain_text("No pipeline has run yet.")
            panel.get_by_role("button", name="Run pipeline…").click()
            form = page.locator(".jp-hybridhub-pl-launch-form")
            expect(form).to_be_visible()
            data_uri = form.get_by_label("DATA_URI", exact=True)
            expect(data_uri).to_have_value(re.compile(r"train\.csv$"))
            # the main area gives the variables room: value and description side by side
            box = data_uri.bounding_box()
            assert box and box["width"] >= 200, box
            page.screenshot(path=str(ARTIFACTS / "form.png"))
            # Cancel and Run pipeline follow the last field in the tab order: Enter launches
            form.locator(".jp-hybridhub-pl-var input, .jp-hybridhub-pl-var select").last.focus()
            page.keyboard.press("Tab")
            expect(form.get_by_role("button", name="Cancel")).to_be_focused()
            page.keyboard.press("Tab")
            expect(form.get_by_role("button", name="Run pipeline")).to_be_focused()
            page.keyboard.press("Enter")
            expect(form).to_have_count(0)  # the form closes, the run opens in its place
            run = page.locator(".jp-hybridhub-pl-run")
            expect(run).to_be_visible()
            header = run.locator(".jp-hybridhub-pl-run-header")
            expect(header.locator(".jp-hybridhub-pl-status-success")).to_be_visible(timeout=90_000)
            stages = run.locator(".jp-hybridhub-pl-stage")
            expect(stages).to_have_count(4)
            # stages are columns side by side, the log beside them
            lefts = [stages.nth(i).bounding_box()["x"] for i in range(4)]
            assert lefts == sorted(lefts) and len(set(lefts)) == 4, lefts
            log = run.get_by_role("log")
            assert log.bounding_box()["x"] > stages.nth(0).bounding_box()["x"]
            expect(run.locator(".jp-hybridhub-pl-runner-cloud")).to_have_count(1)
            deploy = run.locator(".jp-hybridhub-pl-job", has=page.get_by_role("button", name="Show the log of deploy"))
            expect(deploy.locator(".jp-hybridhub-pl-status-manual")).to_be_visible()
            run.get_by_role("button", name="Show the log of train").click()
            expect(log).to_contain_text("trained on 2000 rows", timeout=20_000)
            expect(log).to_contain_text(HOSTILE)  # shown as text
            assert log.locator("img").count() == 0 and page.evaluate("window.__pwned === undefined")
            assert log.locator("span.jp-hybridhub-ansi-fg1").first.inner_text() == HOSTILE
            run.get_by_role("button", name="Show the log of test").click()
            expect(log.locator("span.jp-hybridhub-ansi-fg2")).to_have_text("GATE PASSED", timeout=20_000)
            deploy.get_by_role("button", name="Play").click()
            expect(deploy.locator(".jp-hybridhub-pl-status-success")).to_be_visible(timeout=60_000)
            history = panel.get_by_role("table", name="Run history")
            expect(history).to_contain_text("accuracy", timeout=30_000)
            expect(history.locator("tbody tr")).to_have_count(1)
            page.screenshot(path=str(ARTIFACTS / "finished.png"))
            # the same run opened again from the history activates its tab, no second document
            panel.get_by_role("button", name="Run pipeline…").click()  # another tab in front
            expect(form).to_be_visible()
            expect(run).to_be_hidden()
            history.locator("tbody tr").first.get_by_role("button").click()
            expect(run).to_be_visible()
            expect(form).to_be_hidden()
            expect(page.locator(".jp-hybridhub-pl-run")).to_have_count(1)
            # nothing polls: the sidebar hidden (file browser in front), the shown run finished
            page.locator(".jp-SideBar .lm-TabBar-tab[data-id='filebrowser']").click()
            expect(panel).to_be_hidden()
            asked = []
            page.on("request", lambda request: asked.append(request.url) if "/hybridhub/pipelines/" in request.url else None)
            page.wait_for_timeout(12_000)  # more than the runs list's 10 s and the run's 2 s
            assert asked == [], asked
            # shown again, it reloads its runs at once
            with page.expect_request(lambda request: "/hybridhub/pipelines/runs?" in request.url, timeout=5_000):
                page.locator(".jp-SideBar .lm-TabBar-tab[data-id='hybridhub-pipelines']").click()
        finally:
            browser.close()
