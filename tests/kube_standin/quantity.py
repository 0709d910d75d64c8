"""Kubernetes resource quantities ("250m", "2Gi", "1.5") as exact Fractions."""

from __future__ import annotations

import re
from fractions import Fraction
from functools import lru_cache

_SUFFIX = {
    "": 1, "m": Fraction(1, 1000), "u": Fraction(1, 10**6), "n": Fraction(1, 10**9),
    "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12, "P": 10**15, "E": 10**18,
    "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60,
}
_RE = re.compile(r"^([+-]?[0-9.]+)(?:[eE]([+-]?[0-9]+)|(Ki|Mi|Gi|Ti|Pi|Ei|m|u|n|k|M|G|T|P|E)?)$")


class QuantityError(ValueError):
    pass


def parse(value) -> Fraction:
    if isinstance(value, bool):
        raise QuantityError(f"quantities must match the regular expression: {value!r}")
    if isinstance(value, (int, float)):
        return Fraction(value).limit_denominator(10**9)
    return _parse_text(str(value))


@lru_cache(maxsize=4096)  # the scheduler and autoscaler parse the same few strings on every pass
def _parse_text(text: str) -> Fraction:
    value = text
    m = _RE.match(text.strip())
    if not m or m.group(1).count(".") > 1 or m.group(1) in (".", "+", "-"):
        raise QuantityError(
            f"quantities must match the regular expression "
            f"'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$': {value!r}"
        )
    number = Fraction(m.group(1))
    if m.group(2) is not None:
        return number * Fraction(10) ** int(m.group(2))
    return number * _SUFFIX[m.group(3) or ""]


def parse_resources(mapping: dict | None) -> dict[str, Fraction]:
    return {k: parse(v) for k, v in (mapping or {}).items()}
