"""The spawn form shared by both spawners: each profile with its price per hour and usual wait.

Rendered in English and Japanese at once; a few lines of script show the browser's language
and send it with the form (``lang``), so progress and errors come back in that language.
"""

from __future__ import annotations

from html import escape

from .choice import price_line
from .profiles import Profile

LANGUAGES = ("en", "ja")

STYLE = """
<style>
.hh-profiles label { display: block; padding: 8px 12px; margin: 6px 0; border: 1px solid #ccc; border-radius: 4px; cursor: pointer; }
.hh-profiles input[type=radio] { margin-right: 8px; }
.hh-profiles .hh-price { color: #555; font-size: 90%; margin-left: 24px; }
.hh-profiles .hh-desc { margin-left: 24px; }
</style>
"""

# Show the browser's language (English when it is not Japanese) and send it with the form.
SCRIPT = """
<script>
(function () {
  var lang = (navigator.language || "en").toLowerCase().indexOf("ja") === 0 ? "ja" : "en";
  document.querySelectorAll(".hh-profiles [data-hh-lang]").forEach(function (el) {
    el.hidden = el.getAttribute("data-hh-lang") !== lang;
  });
  var input = document.getElementById("hh-lang");
  if (input) { input.value = lang; }
})();
</script>
"""


def _both(texts: dict[str, str], tag: str = "span", css: str = "") -> str:
    css_attr = f' class="{css}"' if css else ""
    return "".join(
        f'<{tag}{css_attr} lang="{lang}" data-hh-lang="{lang}"{"" if lang == "en" else " hidden"}>{escape(texts[lang])}</{tag}>'
        for lang in LANGUAGES
    )


def render_form(profiles: list[Profile], default_slug: str, etas: dict[str, float]) -> str:
    rows = []
    for profile in profiles:
        slug = escape(profile.slug)
        checked = " checked" if profile.slug == default_slug else ""
        names = {lang: profile.name_in(lang) for lang in LANGUAGES}
        descriptions = {lang: profile.description_in(lang) for lang in LANGUAGES}
        prices = {lang: price_line(profile, etas[profile.slug], lang) for lang in LANGUAGES}
        rows.append(
            f'<label for="hh-profile-{slug}">'
            f'<input type="radio" name="profile" id="hh-profile-{slug}" value="{slug}"{checked}>'
            f"<strong>{_both(names)}</strong>"
            f"{_both(descriptions, 'div', 'hh-desc')}"
            f"{_both(prices, 'div', 'hh-price')}"
            "</label>"
        )
    legend = _both({"en": "Choose a profile", "ja": "プロファイルを選択"})
    return (
        f'{STYLE}<fieldset class="hh-profiles"><legend>{legend}</legend>{"".join(rows)}'
        f'<input type="hidden" name="lang" id="hh-lang" value="en"></fieldset>{SCRIPT}'
    )


def options_from_form(formdata: dict) -> dict:
    """``{"profile": slug, "lang": "en"|"ja"}`` from the submitted form."""
    slug = (formdata.get("profile") or [""])[0]
    lang = (formdata.get("lang") or ["en"])[0]
    return {"profile": slug, "lang": "ja" if lang == "ja" else "en"}
