"""The spawn form shared by both spawners: each profile with its price per hour and usual wait.

Rendered in English and Japanese at once; a few lines of script show the browser's language
and send it with the form (``lang``), so progress and errors come back in that language.

With ``warm_service`` (``c.HybridSpawner.warm_on_intent_service``), choosing a GPU profile also asks
that service to warm the pool's node now (:data:`INTENT_SCRIPT`), and its answer is shown under
the profiles.  Whatever fails there, the form and the start work as without it.
"""

from __future__ import annotations

import json
import re
from html import escape

from .choice import price_line
from .profiles import Profile

LANGUAGES = ("en", "ja")
SERVICE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")  # safe as it is inside a script and a URL

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


# A GPU profile chosen (or already chosen when the page opens) warms its node once per page.
# The page's user gets a token worth only reaching the warm-up service, for 5 minutes, from the
# hub's own token API (cookie and XSRF token, as JupyterHub's pages call it), uses it for one
# request and deletes it.
INTENT_SCRIPT = """
<script>
(function () {
  var service = %s, data = window.jhdata || {}, asked = {};
  var status = document.getElementById("hh-warm-status");
  if (!service || !data.user || !window.fetch) { return; }
  var hubApi = data.base_url + "api/users/" + encodeURIComponent(data.user) + "/tokens";
  var xsrf = {"Content-Type": "application/json", "X-XSRFToken": data.xsrf_token || ""};
  function warm(slug) {
    var token = null;
    fetch(hubApi, {method: "POST", credentials: "same-origin", headers: xsrf, body: JSON.stringify({
      expires_in: 300, scopes: ["access:services!service=" + service],
      note: "hybridhub: warm a GPU node from the spawn form"})})
      .then(function (r) { if (!r.ok) { throw new Error("token " + r.status); } return r.json(); })
      .then(function (t) {
        token = t;
        return fetch(data.prefix + "services/" + encodeURIComponent(service) + "/api/warmup/intent", {
          method: "POST", credentials: "omit", body: JSON.stringify({profile: slug}),
          headers: {"Content-Type": "application/json", "Authorization": "token " + t.token}});
      })
      .then(function (r) { return r.json(); })
      .then(function (answer) {
        if (status && answer && answer.message) { status.textContent = answer.message; status.hidden = false; }
      })
      .catch(function () { /* no warm-up: the start proceeds as from zero */ })
      .then(function () {
        if (token && token.id) {
          fetch(hubApi + "/" + encodeURIComponent(token.id), {method: "DELETE", credentials: "same-origin", headers: xsrf});
        }
      });
  }
  function chosen(input) {
    if (input.checked && input.getAttribute("data-hh-gpu") === "1" && !asked[input.value]) {
      asked[input.value] = true;
      warm(input.value);
    }
  }
  document.querySelectorAll(".hh-profiles input[name=profile]").forEach(function (input) {
    input.addEventListener("change", function () { chosen(input); });
    chosen(input);
  });
})();
</script>
"""


def _both(texts: dict[str, str], tag: str = "span", css: str = "") -> str:
    css_attr = f' class="{css}"' if css else ""
    return "".join(
        f'<{tag}{css_attr} lang="{lang}" data-hh-lang="{lang}"{"" if lang == "en" else " hidden"}>{escape(texts[lang])}</{tag}>'
        for lang in LANGUAGES
    )


def render_form(profiles: list[Profile], default_slug: str, etas: dict[str, float], warm_service: str = "") -> str:
    rows = []
    for profile in profiles:
        slug = escape(profile.slug)
        checked = " checked" if profile.slug == default_slug else ""
        gpu = ' data-hh-gpu="1"' if profile.gpus else ""
        names = {lang: profile.name_in(lang) for lang in LANGUAGES}
        descriptions = {lang: profile.description_in(lang) for lang in LANGUAGES}
        prices = {lang: price_line(profile, etas[profile.slug], lang) for lang in LANGUAGES}
        rows.append(
            f'<label for="hh-profile-{slug}">'
            f'<input type="radio" name="profile" id="hh-profile-{slug}" value="{slug}"{gpu}{checked}>'
            f"<strong>{_both(names)}</strong>"
            f"{_both(descriptions, 'div', 'hh-desc')}"
            f"{_both(prices, 'div', 'hh-price')}"
            "</label>"
        )
    legend = _both({"en": "Choose a profile", "ja": "プロファイルを選択"})
    intent = ""
    if warm_service:  # the answer (already in the browser's language) is read out when it comes
        if not SERVICE_NAME.fullmatch(warm_service):
            raise ValueError(f"not a JupyterHub service name: {warm_service!r}")
        intent = ('<p id="hh-warm-status" class="hh-warm" role="status" aria-live="polite" hidden></p>'
                  + INTENT_SCRIPT % json.dumps(warm_service))
    return (
        f'{STYLE}<fieldset class="hh-profiles"><legend>{legend}</legend>{"".join(rows)}'
        f'<input type="hidden" name="lang" id="hh-lang" value="en"></fieldset>{SCRIPT}{intent}'
    )


def options_from_form(formdata: dict) -> dict:
    """``{"profile": slug, "lang": "en"|"ja"}`` from the submitted form."""
    slug = (formdata.get("profile") or [""])[0]
    lang = (formdata.get("lang") or ["en"])[0]
    return {"profile": slug, "lang": "ja" if lang == "ja" else "en"}
