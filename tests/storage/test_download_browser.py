"""A download to the computer in headless Chromium on a real JupyterLab, with a browser
endpoint: the panel's Download goes to the server, is redirected to the store, and the
browser saves the object under its own (Japanese) name with the stored bytes."""

from __future__ import annotations

import io
import os
import shutil
from pathlib import Path

import pytest

from tests.harness.lab import running_lab

from .conftest import new_bucket

pytestmark = [pytest.mark.storage, pytest.mark.browser]
NAME = "センサー記録.csv"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-dev-shm-usage"]


@pytest.fixture
def lab(object_store, tmp_path):
    creds = object_store.credentials
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HYBRIDHUB_", "JUPYTERHUB_"))}
    env.update(
        HYBRIDHUB_S3_ENDPOINT=object_store.endpoint,
        HYBRIDHUB_S3_BROWSER_ENDPOINT=object_store.endpoint,
        HYBRIDHUB_S3_ACCESS_KEY=creds.user_access_key,
        HYBRIDHUB_S3_SECRET_KEY=creds.user_secret_key,
    )
    root = tmp_path / "workspace"
    root.mkdir()
    with running_lab(root, tmp_path / "jhome", env) as server:
        yield server


def test_download_goes_from_the_store_to_the_browser(lab, admin, object_store, tmp_path):
    from playwright.sync_api import sync_playwright

    bucket = new_bucket(admin)
    body = "時刻,温度\n0,21.5\n".encode() * 1000
    admin.put_object(bucket, f"raw/{NAME}", io.BytesIO(body), len(body))
    url, token = lab
    executable = shutil.which("chromium")
    assert executable, "Debian's Chromium is needed: apt-get install chromium"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            page = browser.new_context(accept_downloads=True).new_page()
            page.set_default_timeout(30_000)
            page.goto(f"{url}lab?token={token}")
            page.wait_for_function("window.jupyterapp && window.jupyterapp.commands.hasCommand('hybridhub:storage-open')")
            page.evaluate("window.jupyterapp.restored.then(() => window.jupyterapp.commands.execute('hybridhub:storage-open'))")
            panel = page.locator("#hybridhub-storage")
            panel.get_by_label("Bucket").select_option(bucket)
            panel.locator(".jp-hybridhub-storage-item", has_text="raw").click()
            page.keyboard.press("Enter")
            row = panel.locator(".jp-hybridhub-storage-item", has_text=NAME)
            row.click()
            with page.expect_download() as info:
                page.evaluate("window.jupyterapp.commands.execute('hybridhub:storage-download')")
            download = info.value
            assert download.url.startswith(object_store.endpoint + f"/{bucket}/raw/"), download.url
            assert download.suggested_filename == NAME
            saved = Path(download.path())
            assert saved.read_bytes() == body
        finally:
            browser.close()
