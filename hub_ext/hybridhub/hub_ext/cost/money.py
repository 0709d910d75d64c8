"""Exact amounts: everything is a :class:`fractions.Fraction` until it is printed.

Inputs come as ``int``, ``Decimal`` or ``Fraction`` (never ``float``: a binary float such as
``0.67`` is not the number the user wrote).  Rounding happens once, at display time, half away
from zero, so ``2003.436`` prints as ``2,003.44``.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

Number = int | Decimal | Fraction

MESSAGES = {
    "not_exact": "expected an exact number (int, Decimal or Fraction), got {type}",
    "not_finite": "must be a finite number",
}


def exact(value: Number) -> Fraction:
    """``value`` as a Fraction, refusing floats, bools and non-finite Decimals."""
    if isinstance(value, bool) or not isinstance(value, (int, Decimal, Fraction)):
        raise TypeError(MESSAGES["not_exact"].format(type=type(value).__name__))
    if isinstance(value, Decimal) and not value.is_finite():
        raise ValueError(MESSAGES["not_finite"])
    return Fraction(value)


def round_half_up(value: Fraction, places: int = 2) -> int:
    """``value * 10**places`` rounded half away from zero, as an integer."""
    scaled = Fraction(value) * 10**places
    sign = -1 if scaled < 0 else 1
    q, r = divmod(abs(scaled.numerator), scaled.denominator)
    if 2 * r >= scaled.denominator:
        q += 1
    return sign * q


def to_decimal(value: Fraction, places: int = 2) -> Decimal:
    """Rounded to ``places`` decimals (half away from zero) as a Decimal."""
    return Decimal(round_half_up(value, places)).scaleb(-places)


def format_amount(value: Fraction, places: int = 2, grouping: bool = True) -> str:
    """``Fraction(18613136, 1000)`` → ``"18,613.14"``."""
    d = to_decimal(value, places)
    return f"{d:,.{places}f}" if grouping else f"{d:.{places}f}"


def exact_str(value: Fraction, max_places: int = 12) -> str:
    """The exact decimal expansion when it terminates within ``max_places``, else rounded.

    ``Fraction(2003436, 1000)`` → ``"2003.436"``; ``Fraction(1, 3)`` → ``"0.333333333333"``.
    """
    value = Fraction(value)
    for places in range(max_places + 1):
        if (value * 10**places).denominator == 1:
            return f"{to_decimal(value, places):.{places}f}"
    return f"{to_decimal(value, max_places):.{max_places}f}"


def percent(part: Fraction, whole: Fraction) -> Fraction:
    """``part`` as a percentage of ``whole`` (0 when ``whole`` is 0)."""
    return Fraction(0) if whole == 0 else Fraction(part) * 100 / Fraction(whole)
