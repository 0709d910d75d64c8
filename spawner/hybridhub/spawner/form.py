"""The spawn form of the local spawner: each profile with its price per hour and usual wait."""

from __future__ import annotations

from html import escape

from .choice import price_line
from .profiles import Profile

STYLE = """
<style>
.hh-profiles label { display: block; padding: 8px 12px; margin: 6px 0; border: 1px solid #ccc; border-radius: 4px; cursor: pointer; }
.hh-profiles input { margin-right: 8px; }
.hh-profiles .hh-price { color: #555; font-size: 90%; margin-left: 24px; }
.hh-profiles .hh-desc { margin-left: 24px; }
</style>
"""


def render_form(profiles: list[Profile], default_slug: str, etas: dict[str, float], language: str = "en") -> str:
    heading = "プロファイルを選択" if language == "ja" else "Choose a profile"
    rows = []
    for profile in profiles:
        checked = " checked" if profile.slug == default_slug else ""
        rows.append(
            f'<label for="hh-profile-{escape(profile.slug)}">'
            f'<input type="radio" name="profile" id="hh-profile-{escape(profile.slug)}" value="{escape(profile.slug)}"{checked}>'
            f"<strong>{escape(profile.name_in(language))}</strong>"
            f'<div class="hh-desc">{escape(profile.description_in(language))}</div>'
            f'<div class="hh-price">{escape(price_line(profile, etas[profile.slug], language))}</div>'
            "</label>"
        )
    return f'{STYLE}<fieldset class="hh-profiles"><legend>{heading}</legend>{"".join(rows)}</fieldset>'
