"""The hub side's one language negotiation: which of our languages a request prefers."""

from __future__ import annotations

LANGUAGES = ("en", "ja")
DEFAULT_LANGUAGE = "en"


def negotiate(accept_language: str | None, supported=LANGUAGES) -> str:
    """The best supported language of an ``Accept-Language`` header (RFC 9110 weights).

    ``ja-JP,ja;q=0.9,en;q=0.8`` → ``ja``; equal weights keep the header's order; anything
    unreadable falls back to English.
    """
    best, best_q = DEFAULT_LANGUAGE, 0.0
    for item in (accept_language or "").split(","):
        tag, _, params = item.strip().partition(";")
        q = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key.strip() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        primary = tag.strip().lower().split("-")[0]
        if primary in supported and q > best_q and q > 0:
            best, best_q = primary, q
    return best
