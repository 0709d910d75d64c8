"""One ``hybridhub demo`` and one headless Chromium per browser test module.

Chromium is Debian's (``apt-get install chromium``), driven by Python playwright; playwright's
own browser downloads are never used.
"""

from __future__ import annotations

import json
import os
import shutil
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.harness.demo import running_demo as harness_demo

REPO_ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO_ROOT / "test-artifacts"
METRICS = ARTIFACTS / "browser-metrics.json"
BUILD = REPO_ROOT / "lab_ext" / "hybridhub" / "lab_ext" / "labextension"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-dev-shm-usage"]


def served_labextension() -> Path:
    """The hybridhub labextension folder jupyter-server serves (the first one on the path)."""
    from jupyter_core.paths import jupyter_path

    for root in jupyter_path("labextensions"):
        candidate = Path(root) / "hybridhub"
        if (candidate / "package.json").exists():
            return candidate
    raise AssertionError("no installed hybridhub labextension: run ./dev test (it builds and installs it)")


def assert_served_build_is_current() -> None:
    """Test what was built: the installed copy must be the current ``npm run build:prod`` output."""
    built = json.loads((BUILD / "package.json").read_text())["jupyterlab"]["_build"]["load"]
    served_dir = served_labextension()
    served = json.loads((served_dir / "package.json").read_text())["jupyterlab"]["_build"]["load"]
    assert built == served, (
        f"{served_dir} serves {served}, but the current build is {built}: the editable install copies "
        "the labextension at install time; reinstall (./dev test) or copy the build there"
    )


@pytest.fixture
def jp_asyncio_loop():
    """No in-process jupyter-server here: playwright's sync API owns this thread's event loop.

    The suite-wide async ``jp_asyncio_loop`` (requested by pytest-jupyter's autouse
    ``jp_server_cleanup``) cannot start while playwright's loop runs, so browser tests opt out.
    """
    yield None


@pytest.fixture
def jp_server_cleanup():
    yield


@pytest.fixture(scope="module")
def chromium():
    from playwright.sync_api import sync_playwright

    executable = shutil.which("chromium")
    assert executable, "Debian's Chromium is needed: apt-get install chromium"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@contextmanager
def running_demo(data_dir: Path, *args: str):
    """``hybridhub demo`` as a person starts it, serving the current build of the extension."""
    assert_served_build_is_current()
    with harness_demo(data_dir, *args, timeout=180) as running:
        yield running


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    with running_demo(tmp_path_factory.mktemp("browser-demo") / "demo") as running:
        yield running


class Metrics:
    """Numbers measured in the browser, merged into ``test-artifacts/browser-metrics.json``."""

    def __init__(self, path: Path = METRICS):
        self.path = path
        self.data: dict = {}

    def record(self, *keys_and_value) -> None:
        *keys, last, value = keys_and_value
        node = self.data
        for key in keys:
            node = node.setdefault(key, {})
        node[last] = value

    def save(self) -> None:
        """Merge into the file; written whole and renamed, so a test module in another worker
        process never reads half of it."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        old = json.loads(self.path.read_text()) if self.path.exists() else {}
        old.update(self.data)
        tmp = self.path.with_name(f"{self.path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(old, indent=2, ensure_ascii=False) + "\n")
        os.replace(tmp, self.path)


@pytest.fixture(scope="module")
def metrics():
    collected = Metrics()
    try:
        yield collected
    finally:
        if collected.data:
            collected.save()
            print("\nbrowser metrics:", json.dumps(collected.data, ensure_ascii=False))


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when == "call":
        item.browser_failed = report.failed
    return report


@pytest.fixture(autouse=True)
def screenshot_on_failure(request):
    """A failing browser test leaves the page as it was: test-artifacts/screenshots/<lang>/FAILED-*.png."""
    yield
    from playwright.sync_api import Error as PlaywrightError

    lab = request.node.funcargs.get("lab")
    if lab is not None and getattr(request.node, "browser_failed", False):
        try:
            lab.page.screenshot(path=str(lab.shots_dir / f"FAILED-{request.node.name}.png"))
        except PlaywrightError as error:  # the page may be gone; the test's own error says why
            print(f"no failure screenshot: {error}")
