"""Numbers and times as people read them: hours and minutes, yen without decimals, local times.

The cost summary keeps exact decimal strings (``"12.566666"`` node-hours, ``"22347.10"`` yen);
these helpers round only for display, with cost/money.py's rounding (half away from zero).
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from fractions import Fraction

from hybridhub.hub_ext.cost.money import format_amount, round_half_up

from .i18n import text

# currencies without minor units in everyday use (ISO 4217 exponent 0)
NO_DECIMALS = {"JPY", "KRW"}


def hours_minutes(hours: str | Fraction, language: str) -> str:
    """``"12.566666"`` → ``"12 h 34 min"`` / ``"12 時間 34 分"``; under an hour, minutes only."""
    minutes = round_half_up(Fraction(hours) * 60, 0)
    h, m = divmod(minutes, 60)
    if h == 0:
        return text(language, "minutes_only", minutes=m)
    return text(language, "hours_minutes", hours=f"{h:,}", minutes=m)


def money(amount: str | Fraction, currency: str, language: str, places: int | None = None) -> str:
    """``"22347.10", "JPY"`` → ``"¥22,347"`` / ``"22,347 円"``; other currencies keep 2 decimals.
    ``places``: decimals to keep whatever the currency (a month's data transfer is often under 1 yen)."""
    if places is None:
        places = 0 if currency in NO_DECIMALS else 2
    figure = format_amount(Fraction(amount), places)
    if currency == "JPY":
        return text(language, "money_JPY", amount=figure)
    return text(language, "money", amount=figure, currency=currency)


def data_size(n_bytes: int) -> str:
    """``3758096384`` → ``"3.5 GB"``: bytes in the largest unit below them (1024 steps, GB = 2**30
    as the cost service prices it), one decimal under 10 of a unit, none from 10 on."""
    value, unit = Fraction(int(n_bytes)), "B"
    for bigger in ("KB", "MB", "GB", "TB"):
        if value < 1024:
            break
        value, unit = value / 1024, bigger
    if unit == "B":
        return f"{int(value):,} B"
    return f"{format_amount(value, 1 if value < 10 else 0)} {unit}"


def percent(value: str | Fraction) -> str:
    """``"182.4"`` → ``"182"``: a budget share needs no decimals."""
    return f"{round_half_up(Fraction(value), 0):,}"


def parse_time(value: str) -> datetime | None:
    """An ISO time from the summary or the culler (``…Z`` or with an offset); None when empty."""
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def local_time(value: str, tz: tzinfo | None) -> str:
    """``"2026-12-06T08:45:12.3Z"`` → ``"2026-12-06 17:45"`` in ``tz`` (the accounting month's zone)."""
    moment = parse_time(value)
    if moment is None:
        return value
    if tz is not None and moment.tzinfo is not None:
        moment = moment.astimezone(tz)
    return moment.strftime("%Y-%m-%d %H:%M")
