"""JupyterHub's own pages with hybridhub's templates, in a Japanese and an English browser.

A real JupyterHub with ``c.JupyterHub.template_paths = [hybridhub.hub_ext.pages.TEMPLATE_DIR]``:
log in, spawn form, spawn progress, home page with stop. In ja-JP nothing that JupyterHub
writes (statically or later, like progress messages) is left in English; in en-US the pages are
JupyterHub's, untouched.
"""

from __future__ import annotations

import json
import re

import pytest
from hybridhub.hub_ext.gitlab import TEMPLATE_DIR as GITLAB_TEMPLATE_DIR
from hybridhub.hub_ext.pages import CATALOG, TEMPLATE_DIR

from tests.browser.lab import LOCALES, SHOTS, VISIBLE_TEXTS_JS
from tests.harness.hub import USER_PASSWORD, running_hub

pytestmark = pytest.mark.browser

JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")
TABLE = json.loads(CATALOG.read_text(encoding="utf-8"))
ENGLISH = [re.compile("^" + re.escape(k) + "$") for k in TABLE["exact"] if re.search(r"[A-Za-z]{3}", k) and k != TABLE["exact"][k]]
ENGLISH += [re.compile("^" + p + "$") for p, _ in TABLE["patterns"]]


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    # with the GitLab login's directory too, as a GitLab deployment configures it
    config = f"c.JupyterHub.template_paths = [{TEMPLATE_DIR!r}, {GITLAB_TEMPLATE_DIR!r}]\n"
    with running_hub(tmp_path_factory.mktemp("hub-pages"), extra_config=config) as running:
        yield running


def _english_left(page) -> list[str]:
    texts = page.evaluate(VISIBLE_TEXTS_JS, "body")
    return [t for t in texts if any(p.match(" ".join(t.split())) for p in ENGLISH)]


def _shot(page, lang: str, name: str) -> None:
    (SHOTS / lang).mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / lang / f"hub-{name}.png"))


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_hub_pages_follow_the_browser_language(hub, chromium, lang):
    user = {"ja": "bob", "en": "alice"}[lang]
    context = chromium.new_context(locale=LOCALES[lang], viewport={"width": 1100, "height": 700})
    try:
        page = context.new_page()
        page.set_default_timeout(30_000)
        seen = {}
        page.goto(hub.url + "hub/login")
        seen["login"] = (page.locator("h1").inner_text(), page.locator("label[for=username_input]").inner_text())
        seen["login_left"] = _english_left(page)
        _shot(page, lang, "login")
        page.fill("#username_input", user)
        page.fill("#password_input", USER_PASSWORD)
        page.click("#login_submit")
        page.wait_for_url("**/hub/spawn*")
        seen["spawn"] = (page.locator("h1").inner_text(), page.locator("#spawn_form button[type=submit]").inner_text(),
                         page.locator("nav").inner_text())
        seen["spawn_left"] = _english_left(page)
        _shot(page, lang, "spawn")
        page.click("#spawn_form button[type=submit]")
        page.wait_for_url("**/spawn-pending/**")
        page.wait_for_selector("#progress-log .progress-log-event", state="attached")
        seen["pending"] = page.locator(".container p").first.inner_text()
        seen["pending_left"] = _english_left(page)
        seen["progress"] = page.locator("#progress-log .progress-log-event").all_text_contents()
        _shot(page, lang, "spawn-pending")
        page.wait_for_url("**/user/*/lab*", timeout=90_000)
        page.goto(hub.url + "hub/home")
        page.wait_for_selector("#stop")
        seen["home"] = (page.locator("#stop").inner_text(), page.locator("#start").inner_text())
        seen["home_left"] = _english_left(page)
        _shot(page, lang, "home")
        page.click("#stop")
        page.wait_for_selector("#stop", state="hidden", timeout=60_000)
    finally:
        context.close()

    if lang == "ja":
        assert page_lang_is_japanese(seen)
        for key in ("login_left", "spawn_left", "pending_left", "home_left"):
            assert seen[key] == [], f"{key}: English left on a Japanese page: {seen[key]}"
        assert seen["login"] == ("サインイン", "ユーザー名:")
        assert seen["spawn"][:2] == ("サーバーのオプション", "起動") and "ホーム" in seen["spawn"][2]
        assert seen["pending"] == "サーバーを起動しています。"
        assert seen["progress"] and all(JAPANESE.search(m) for m in seen["progress"]), seen["progress"]
        assert seen["home"] == ("サーバーを停止", "マイサーバー")
    else:
        assert seen["login"] == ("Sign in", "Username:")
        assert seen["spawn"][:2] == ("Server Options", "Start") and "Home" in seen["spawn"][2]
        assert seen["pending"] == "Your server is starting up."
        assert seen["progress"][:1] == ["Server requested"], seen["progress"]
        assert seen["home"] == ("Stop My Server", "My Server")


def page_lang_is_japanese(seen: dict) -> bool:
    return all(JAPANESE.search(text) for text in (seen["login"][0], seen["spawn"][0], seen["pending"], seen["home"][0]))


def test_catalog_is_well_formed():
    assert TABLE["exact"] and TABLE["patterns"]
    for english, japanese in TABLE["exact"].items():
        assert english == " ".join(english.split()), f"keys are whitespace-normalised: {english!r}"
        assert japanese and (JAPANESE.search(japanese) or japanese == english), english
    for pattern, japanese in TABLE["patterns"]:
        groups = re.compile(pattern).groups
        assert groups and JAPANESE.search(japanese), pattern
        assert sorted(set(re.findall(r"\$(\d)", japanese))) == [str(i + 1) for i in range(groups)], pattern
    assert "{{" not in CATALOG.read_text() and "{%" not in CATALOG.read_text(), "included by Jinja"
