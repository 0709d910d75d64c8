"""``hybridhub cost estimate``: read the YAML input, compute the model, render a table or JSON.

YAML floats are read as :class:`~decimal.Decimal` straight from the source text (``0.67`` is
exactly 0.67, not the nearest binary float), so every printed figure is an exact rounding.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from pathlib import Path
from typing import Any

import yaml

from .model import KINDS, CostBreakdown, CostInput, CostInputError, compute, parse_input
from .money import exact_str, format_amount, round_half_up

MESSAGES = {
    "not_found": "{path}: no such file",
    "unreadable": "{path}: cannot read: {reason}",
    "yaml": "{path}: not valid YAML: {reason}",
    "field": "{path}: {field}: {message}",
    "bad_float": "not a number: {value!r}",
    "header_term": "term",
    "header_item": "item",
    "header_amount": "amount ({currency})",
    "header_share": "share",
    "total": "total",
    "pool_item": "pool {name} ({node_hours} node-h × {price})",
    "lb_item": "load balancer ({hours} h × {price})",
    "ip_item": "public IP {i} of {n} ({hours} h × {price})",
    "other_item": "other (e)",
    "shares_line": "shares: {parts}",
    "kind_node_pools": "node pools",
    "kind_load_balancer": "load balancer",
    "kind_public_ips": "public IPs",
    "kind_other": "other",
}


class EstimateError(Exception):
    """One line for the user: a missing file, bad YAML, or a bad field."""


class _DecimalLoader(yaml.SafeLoader):
    """SafeLoader whose floats are Decimals parsed from the text as written."""


def _construct_decimal(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> Decimal:
    text = loader.construct_scalar(node).replace("_", "").strip()
    lowered = text.lower()
    if lowered.lstrip("+-") in (".inf", ".nan"):  # refused by the model, naming the field
        return Decimal(lowered.replace(".inf", "Infinity").replace(".nan", "NaN"))
    try:
        return Decimal(text)
    except InvalidOperation:
        raise yaml.constructor.ConstructorError(None, None, MESSAGES["bad_float"].format(value=text), node.start_mark)


_DecimalLoader.add_constructor("tag:yaml.org,2002:float", _construct_decimal)


def load_input(path: str | Path) -> CostInput:
    """Parse and validate the YAML file at ``path``; every failure is an :class:`EstimateError`."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise EstimateError(MESSAGES["not_found"].format(path=path)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise EstimateError(MESSAGES["unreadable"].format(path=path, reason=_one_line(str(exc)))) from None
    try:
        data = yaml.load(text, Loader=_DecimalLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        raise EstimateError(MESSAGES["yaml"].format(path=path, reason=_one_line(str(exc)))) from None
    try:
        return parse_input(data)
    except CostInputError as exc:
        raise EstimateError(MESSAGES["field"].format(path=path, field=exc.field, message=exc.message)) from None


def _one_line(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def _num(value: Fraction) -> str:
    return exact_str(value, 4)


def _pct(value: Fraction, places: int) -> str:
    d = Decimal(round_half_up(value, places)).scaleb(-places)
    return f"{d:.{places}f} %"


def rows(result: CostBreakdown) -> list[tuple[str, str, str, str]]:
    """(term, item, amount, share) rows, one per public IP, ending with the total."""
    out = []
    for term in result.terms:
        share = _pct(result.share(term) / term.count if term.count else Fraction(0), 1)
        if term.kind == "node_pools":
            item = MESSAGES["pool_item"].format(name=term.label, node_hours=_num(term.quantity),
                                                price=_num(term.unit_price))
            out.append((term.key, item, format_amount(term.each), share))
        elif term.kind == "load_balancer":
            item = MESSAGES["lb_item"].format(hours=_num(term.quantity), price=_num(term.unit_price))
            out.append((term.key, item, format_amount(term.each), share))
        elif term.kind == "public_ips":
            for i in range(1, term.count + 1):
                item = MESSAGES["ip_item"].format(i=i, n=term.count, hours=_num(term.quantity),
                                                  price=_num(term.unit_price))
                out.append((term.key, item, format_amount(term.each), share))
        else:
            out.append((term.key, MESSAGES["other_item"], format_amount(term.each), share))
    out.append((MESSAGES["total"], "", format_amount(result.total), _pct(Fraction(100), 1)))
    return out


def render_table(result: CostBreakdown) -> str:
    header = (MESSAGES["header_term"], MESSAGES["header_item"],
              MESSAGES["header_amount"].format(currency=result.input.currency), MESSAGES["header_share"])
    body = rows(result)
    widths = [max(len(r[i]) for r in [header, *body]) for i in range(4)]

    def line(r: tuple[str, ...]) -> str:
        return (f"{r[0]:<{widths[0]}}  {r[1]:<{widths[1]}}  {r[2]:>{widths[2]}}  {r[3]:>{widths[3]}}").rstrip()

    rule = "  ".join("-" * w for w in widths)
    lines = [line(header), rule, *(line(r) for r in body[:-1]), rule, line(body[-1]), ""]
    parts = ", ".join(f"{MESSAGES['kind_' + kind]} {_pct(share, 0)}" for kind, share in result.kind_shares().items())
    lines.append(MESSAGES["shares_line"].format(parts=parts))
    return "\n".join(lines)


def to_json(result: CostBreakdown) -> dict[str, Any]:
    """Machine output: amounts as decimal strings (exact, and rounded to 2 places), shares in %."""
    terms = []
    for term in result.terms:
        terms.append({
            "key": term.key,
            "kind": term.kind,
            "label": term.label,
            "quantity": exact_str(term.quantity),
            "unit_price": exact_str(term.unit_price),
            "count": term.count,
            "each": format_amount(term.each, grouping=False),
            "amount": format_amount(term.amount, grouping=False),
            "amount_exact": exact_str(term.amount),
            "share_percent": format_amount(result.share(term), grouping=False),
        })
    return {
        "currency": result.input.currency,
        "hours": exact_str(result.input.hours),
        "terms": terms,
        "total": format_amount(result.total, grouping=False),
        "total_exact": exact_str(result.total),
        "shares_percent": {kind: round_half_up(share, 0) for kind, share in result.kind_shares().items()},
        "shares_percent_exact": {kind: format_amount(share, 4, grouping=False)
                                 for kind, share in result.kind_shares().items()},
    }


def render_json(result: CostBreakdown) -> str:
    return json.dumps(to_json(result), ensure_ascii=False, indent=2)


def estimate(path: str | Path) -> CostBreakdown:
    return compute(load_input(path))


__all__ = ["EstimateError", "KINDS", "estimate", "load_input", "render_json", "render_table", "to_json"]
