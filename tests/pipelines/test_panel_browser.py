"""The panel in headless Chromium on a real JupyterLab: launch the template's pipeline, watch
stages and jobs to the end, play the manual deploy, read the coloured log (escaped, never
parsed as HTML) and the history with metrics."""

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
            page.evaluate("window.jupyterapp.restored.then(() => window.jupyterapp.commands.execute('hybridhub:pipelines-open'))")
            panel = page.locator("#hybridhub-pipelines")
            expect(panel).to_be_visible()
            data_uri = panel.get_by_label("DATA_URI", exact=True)
            expect(data_uri).to_have_value(re.compile(r"train\.csv$"))
            page.screenshot(path=str(ARTIFACTS / "form.png"))
            panel.get_by_role("button", name="Run pipeline").click()
            header = panel.locator(".jp-hybridhub-pl-run-header")
            expect(header.locator(".jp-hybridhub-pl-status-success")).to_be_visible(timeout=90_000)
            stages = panel.locator(".jp-hybridhub-pl-stage")
            expect(stages).to_have_count(4)
            expect(panel.locator(".jp-hybridhub-pl-runner-cloud")).to_have_count(1)
            deploy = panel.locator(".jp-hybridhub-pl-job", has=page.get_by_role("button", name="Show the log of deploy"))
            expect(deploy.locator(".jp-hybridhub-pl-status-manual")).to_be_visible()
            log = panel.get_by_role("log")
            panel.get_by_role("button", name="Show the log of train").click()
            expect(log).to_contain_text("trained on 2000 rows", timeout=20_000)
            expect(log).to_contain_text(HOSTILE)  # shown as text
            assert log.locator("img").count() == 0 and page.evaluate("window.__pwned === undefined")
            assert log.locator("span.jp-hybridhub-ansi-fg1").first.inner_text() == HOSTILE
            panel.get_by_role("button", name="Show the log of test").click()
            expect(log.locator("span.jp-hybridhub-ansi-fg2")).to_have_text("GATE PASSED", timeout=20_000)
            deploy.get_by_role("button", name="Play").click()
            expect(deploy.locator(".jp-hybridhub-pl-status-success")).to_be_visible(timeout=60_000)
            history = panel.get_by_role("table", name="Run history")
            expect(history).to_contain_text("accuracy")
            expect(history.locator("tbody tr")).to_have_count(1)
            page.screenshot(path=str(ARTIFACTS / "finished.png"))
        finally:
            browser.close()
