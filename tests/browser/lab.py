"""Driving the demo as a person does: hub pages, JupyterLab's palette and keyboard, screenshots.

The only instrumentation: the lab page's config gets ``exposeAppInBrowser`` so the test can read
the command registry (which commands exist, their labels) and switch the theme with
``apputils:change-theme``; every user action goes through the keyboard, the palette or a click.
"""

from __future__ import annotations

import json
import re
import statistics
from pathlib import Path

from playwright.sync_api import Error as PlaywrightError

from tests.i18n import load_catalog

REPO_ROOT = Path(__file__).resolve().parents[2]
SHOTS = REPO_ROOT / "test-artifacts" / "screenshots"
LOCALES = {"en": "en-US", "ja": "ja-JP"}
JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")
JUPYTER_CONFIG = re.compile(r'(<script id="jupyter-config-data" type="application/json">)(.*?)(</script>)', re.DOTALL)

# Roots of hybridhub's own widgets, whose texts must all be translated in Japanese.
HYBRIDHUB_UI = ".jp-hybridhub-storage, .jp-hybridhub-git, .jp-hybridhub-pl"
DIALOG = ".jp-Dialog-content"

# Every text node and labelling attribute that a person sees or a screen reader reads.
VISIBLE_TEXTS_JS = """
(selector) => {
  const out = [];
  const shown = el => !!(el.offsetWidth || el.offsetHeight || el.getClientRects().length);
  for (const root of document.querySelectorAll(selector)) {
    if (!shown(root)) continue;
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      const text = node.data.trim();
      if (text && shown(node.parentElement)) out.push(text);
    }
    for (const el of [root, ...root.querySelectorAll('[aria-label],[title],[placeholder]')]) {
      for (const attr of ['aria-label', 'title', 'placeholder']) {
        const value = (el.getAttribute(attr) || '').trim();
        if (value && shown(el)) out.push(value);
      }
    }
  }
  return out;
}
"""

# Resolves with the ms between the next Enter (or click) and the first frame in which `selector`
# is shown with some content: the time a person waits for the panel to appear.
_ARM_RENDER_TIMER_JS = """
(selector) => {
  window.__hhRender = new Promise(resolve => {
    let start = null;
    const ready = () => {
      const el = document.querySelector(selector);
      return el && (el.offsetWidth || el.offsetHeight) && el.textContent.trim().length > 0 &&
        !el.closest('.lm-mod-hidden');
    };
    const onKey = e => {
      if (start === null && (e.type !== 'keydown' || e.key === 'Enter')) {
        start = performance.now();
        observer.observe(document.body, { childList: true, subtree: true, attributes: true });
        check();
      }
    };
    const check = () => {
      if (start !== null && ready()) {
        const end = performance.now();
        observer.disconnect();
        document.removeEventListener('keydown', onKey, true);
        document.removeEventListener('mousedown', onKey, true);
        document.removeEventListener('pointerdown', onKey, true);
        resolve(end - start);
      }
    };
    const observer = new MutationObserver(check);
    document.addEventListener('keydown', onKey, true);
    document.addEventListener('mousedown', onKey, true);
    // Lumino's tab bars cancel pointerdown, so a click on a sidebar icon fires no mousedown
    document.addEventListener('pointerdown', onKey, true);
  });
}
"""


# the time __hhRender measured, or an error when the data did not show within the given ms
_RENDERED_WITHIN_JS = """
(ms) => Promise.race([
  window.__hhRender,
  new Promise((_, reject) => setTimeout(() => reject(new Error(`no data shown within ${ms} ms`)), ms)),
])
"""


def expose_app(context) -> None:
    """Let the test read ``window.jupyterapp`` (JupyterLab's exposeAppInBrowser page option)."""

    def rewrite(route):
        if route.request.resource_type != "document":
            route.continue_()
            return
        response = route.fetch()
        body = response.text()
        match = JUPYTER_CONFIG.search(body)
        if match:
            config = json.loads(match.group(2))
            config["exposeAppInBrowser"] = True
            body = body[: match.start(2)] + json.dumps(config) + body[match.end(2):]
        route.fulfill(response=response, body=body)

    context.route(re.compile(r"/user/[^/]+/lab([/?].*)?$"), rewrite)


class Catalog:
    """The shipped ja_JP catalog: labels as the user sees them, and English leftovers."""

    def __init__(self):
        self.entries = {k: v[0] for k, v in load_catalog().items() if k}
        self.patterns = [
            (re.compile("^" + ".+?".join(re.escape(p) for p in re.split(r"%\d", msgid)) + "$", re.DOTALL), msgid)
            for msgid, msgstr in self.entries.items()
            if msgstr != msgid and re.search(r"[A-Za-z]{3}", msgid)
        ]

    def text(self, msgid: str, lang: str) -> str:
        return self.entries[msgid] if lang == "ja" else msgid

    def english(self, texts) -> list[tuple[str, str]]:
        """(text, msgid) for every text that is still the English source of a translated msgid."""
        return [(t, msgid) for t in texts for pattern, msgid in self.patterns if pattern.match(t)]


class Lab:
    """One user's JupyterLab in one language."""

    def __init__(self, page, lang: str, catalog: Catalog):
        self.page = page
        self.lang = lang
        self.catalog = catalog
        self.step = 0
        self.shots_dir = SHOTS / lang
        self.shots_dir.mkdir(parents=True, exist_ok=True)

    def t(self, msgid: str) -> str:
        return self.catalog.text(msgid, self.lang)

    def shot(self, name: str) -> Path:
        self.step += 1
        path = self.shots_dir / f"{self.step:02d}-{name}.png"
        self.page.screenshot(path=str(path))
        return path

    # -- the command registry (read only) and the palette (used as a person does) -------------

    def commands(self, prefix: str = "hybridhub:") -> dict[str, str]:
        return self.page.evaluate(
            """(prefix) => Object.fromEntries(window.jupyterapp.commands.listCommands()
                 .filter(id => id.startsWith(prefix))
                 .map(id => [id, window.jupyterapp.commands.label(id)]))""",
            prefix,
        )

    def commands_needing_arguments(self, prefix: str = "hybridhub:") -> set[str]:
        """Commands whose description requires arguments: for other plugins, never for the palette."""
        return set(self.page.evaluate(
            """async (prefix) => {
                 const ids = window.jupyterapp.commands.listCommands().filter(id => id.startsWith(prefix));
                 const needs = await Promise.all(ids.map(async id =>
                   ((await window.jupyterapp.commands.describedBy(id)).args?.required ?? []).length > 0));
                 return ids.filter((id, i) => needs[i]);
               }""",
            prefix,
        ))  # fmt: skip

    def open_palette(self) -> None:
        """Ctrl+Shift+C (it toggles: pressed only when the palette is closed)."""
        if not self.page.locator(".lm-CommandPalette-input").is_visible():
            self.page.keyboard.press("Control+Shift+C")
        self.page.wait_for_selector(".lm-CommandPalette-input", state="visible")

    def palette_items(self, query: str) -> dict[str, str]:
        """command id → label of the palette's items for ``query`` (palette left open)."""
        self.open_palette()
        self.page.fill(".lm-CommandPalette-input", query)
        return self.page.eval_on_selector_all(
            ".lm-CommandPalette-item[data-command]",
            "els => Object.fromEntries(els.map(e => [e.dataset.command,"
            " e.querySelector('.lm-CommandPalette-itemLabel').textContent]))",
        )

    def close_palette(self) -> None:
        self.page.keyboard.press("Escape")

    def palette_query(self, label: str) -> str:
        """What a person types to find a command.

        Lumino's palette starts matches only at ASCII word boundaries (``/\\b\\w/``), so a Japanese
        label cannot be typed to find its command: in Japanese the person scrolls the palette
        (empty query) to the command's category instead.
        """
        return label if not JAPANESE.search(label) else ""

    def palette_run(self, command: str, label: str) -> None:
        """Find the command in the palette, walk to it with the arrow keys, press Enter."""
        self.open_palette()
        query = self.palette_query(label)
        self.page.fill(".lm-CommandPalette-input", query or "x")
        self.page.fill(".lm-CommandPalette-input", query)  # an input event even when it was empty
        item = self.page.locator(f".lm-CommandPalette-item[data-command='{command}']")
        try:
            item.wait_for(state="attached", timeout=10_000)
        except PlaywrightError:
            shown = self.page.eval_on_selector_all(".lm-CommandPalette-item", "els => els.map(e => e.dataset.command)")
            raise AssertionError(f"{command} ({label!r}, query {query!r}) is not in the palette; it lists {shown}") from None
        if not query:  # scrolled to and picked with the pointer
            self.click_palette_item(command)
            return
        for _ in range(30):
            active = self.page.get_attribute(".lm-CommandPalette-item.lm-mod-active", "data-command")
            if active == command:
                break
            self.page.keyboard.press("ArrowDown")
        else:
            raise AssertionError(f"{command} could not be reached with the arrow keys in the palette")
        self.page.keyboard.press("Enter")

    def click_palette_item(self, command: str) -> None:
        """Scroll to the item and click it, in one step: the palette re-renders its items
        whenever a command's state changes, so a located item may be replaced before a click."""
        clicked = self.page.evaluate(
            """(command) => {
                 const item = document.querySelector(`.lm-CommandPalette-item[data-command='${command}']`);
                 if (!item) return false;
                 item.scrollIntoView({block: 'nearest'});
                 item.dispatchEvent(new MouseEvent('mousedown', {bubbles: true, button: 0}));
                 item.click();
                 return true;
               }""",
            command,
        )
        assert clicked, f"{command} is not in the palette"

    # -- panels -------------------------------------------------------------------------------

    def open_panel_timed(self, command: str, label: str, selector: str) -> float:
        """Open a panel from the palette; ms from Enter to its first rendered frame."""
        self.open_palette()
        self.page.fill(".lm-CommandPalette-input", "x")
        self.page.fill(".lm-CommandPalette-input", self.palette_query(label))
        self.page.evaluate(_ARM_RENDER_TIMER_JS, selector)
        self.click_palette_item(command)
        return float(self.page.evaluate("window.__hhRender"))

    def open_panel_by_icon_timed(self, panel_id: str, selector: str) -> float:
        """Open a sidebar panel as a person does, with a click on its icon; ms from the click to
        its first rendered frame of ``selector``. (A click on the icon of the panel already shown
        collapses the sidebar: the file browser is shown first then.)"""
        tab = self.page.locator(f".jp-SideBar .lm-TabBar-tab[data-id='{panel_id}']")
        if tab.get_attribute("aria-selected") == "true":
            self.page.keyboard.press("Control+Shift+F")
            self.page.wait_for_selector(f"#{panel_id}", state="hidden")
        self.page.evaluate(_ARM_RENDER_TIMER_JS, selector)
        tab.click()
        return float(self.page.evaluate(_RENDERED_WITHIN_JS, 60_000))

    def render_time(self, command: str, label: str, selector: str, runs: int = 3) -> dict:
        times = []
        for _ in range(runs):
            self.page.keyboard.press("Control+Shift+F")  # back to the file browser
            self.page.wait_for_selector(selector, state="hidden")
            times.append(round(self.open_panel_timed(command, label, selector), 1))
        return {"runs_ms": times, "median_ms": statistics.median(times)}

    def visible_texts(self, selector: str = HYBRIDHUB_UI) -> list[str]:
        return self.page.evaluate(VISIBLE_TEXTS_JS, selector)

    def assert_no_english(self, selector: str = HYBRIDHUB_UI) -> None:
        if self.lang != "ja":
            return
        leftovers = self.catalog.english(self.visible_texts(selector))
        assert not leftovers, f"English left in hybridhub's Japanese UI: {leftovers}"

    # -- the server's REST API, with the page's own cookies --------------------------------------

    def api(self, method: str, path: str, body: dict | None = None):
        return self.page.evaluate(
            """async ([method, path, body]) => {
                 const xsrf = (document.cookie.match(/_xsrf=([^;]+)/) || [])[1] || '';
                 const base = document.body.dataset.baseUrl ||
                   JSON.parse(document.getElementById('jupyter-config-data').textContent).baseUrl;
                 const r = await fetch(base + path, {method, credentials: 'same-origin',
                   headers: {'X-XSRFToken': decodeURIComponent(xsrf), 'Content-Type': 'application/json'},
                   body: body === null ? undefined : JSON.stringify(body)});
                 return {status: r.status, text: await r.text()};
               }""",
            [method, path, body],
        )

    def notification(self, text_pattern: str, timeout: float = 30_000) -> str:
        toast = self.page.locator(".jp-toast-message, .Toastify__toast-body").filter(has_text=re.compile(text_pattern))
        toast.first.wait_for(timeout=timeout)
        return toast.first.inner_text()
