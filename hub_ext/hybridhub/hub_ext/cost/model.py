"""The reference cost model, exactly.

    C = Σ_p C_np,p + C_lb + N_ip · C_ip + e
    C_np = C_vm · Σ_{n=0..k} n · T_n      (T_n: hours the pool spent with n nodes up)
    C_lb = L · t,   C_ip = P · t

The paper has three pools and two public IPs (``2·C_ip``); here the number of pools and of
public IPs are inputs.  All arithmetic is on :class:`~fractions.Fraction`, so printed figures are
exact roundings of exact sums.  :func:`parse_input` turns a plain mapping (from YAML or JSON) into a
validated :class:`CostInput`; every error names the offending field, e.g.
``pools[1].hours_at_node_count[2]``.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from typing import Any, Mapping

from .money import exact_str, percent

MESSAGES = {
    "not_mapping": "must be a mapping of keys to values, got {type}",
    "not_list": "must be a list, got {type}",
    "empty_list": "must not be empty",
    "missing": "is required",
    "unknown": "unknown key (allowed: {allowed})",
    "not_number": "must be a number, got {type}",
    "not_finite": "must be a finite number, got {value}",
    "not_integer": "must be a whole number, got {type}",
    "not_string": "must be a non-empty string, got {type}",
    "negative": "must not be negative (got {value})",
    "not_positive": "must be greater than zero (got {value})",
    "duplicate_name": "duplicate pool name {name!r}",
    "over_hours": "T_0..T_k sum to {total} h, more than hours (t = {hours} h)",
}

TOP_KEYS = ("hours", "pools", "lb_price_per_hour", "public_ip_price_per_hour", "public_ips", "other", "currency")
POOL_KEYS = ("name", "vm_price_per_hour", "hours_at_node_count")

# kinds of terms, in display order; shares are reported per kind too
KIND_POOL = "node_pools"
KIND_LB = "load_balancer"
KIND_IP = "public_ips"
KIND_OTHER = "other"
KINDS = (KIND_POOL, KIND_LB, KIND_IP, KIND_OTHER)


class CostInputError(ValueError):
    """Bad model input; ``field`` is the path of the offending value (``pools[0].name``)."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True)
class PoolInput:
    name: str
    vm_price_per_hour: Fraction
    hours_at_node_count: tuple[Fraction, ...]  # T_0, T_1, ..., T_k

    @property
    def node_hours(self) -> Fraction:
        """Σ n · T_n."""
        return sum((n * t for n, t in enumerate(self.hours_at_node_count)), Fraction(0))


@dataclass(frozen=True)
class CostInput:
    hours: Fraction  # t
    pools: tuple[PoolInput, ...]
    lb_price_per_hour: Fraction  # L
    public_ip_price_per_hour: Fraction  # P
    public_ips: int
    other: Fraction  # e
    currency: str = "JPY"

    def __post_init__(self) -> None:
        check(self)


@dataclass(frozen=True)
class Term:
    key: str  # C_np1.., C_lb, C_ip, e
    kind: str  # one of KINDS
    label: str  # pool name, or a short description
    quantity: Fraction  # node-hours for a pool, hours for L and P, 1 for e
    unit_price: Fraction
    count: int  # how many times the term is added (public IPs), else 1
    each: Fraction  # one instance of the term (C_ip for one IP)

    @property
    def amount(self) -> Fraction:
        return self.each * self.count


@dataclass(frozen=True)
class CostBreakdown:
    input: CostInput
    terms: tuple[Term, ...]

    @property
    def total(self) -> Fraction:
        return sum((t.amount for t in self.terms), Fraction(0))

    def share(self, term: Term) -> Fraction:
        """The term's share of the total, in percent (exact)."""
        return percent(term.amount, self.total)

    def kind_totals(self) -> dict[str, Fraction]:
        out = {kind: Fraction(0) for kind in KINDS}
        for term in self.terms:
            out[term.kind] += term.amount
        return out

    def kind_shares(self) -> dict[str, Fraction]:
        """Shares by kind (all node pools, load balancer, all public IPs, other), in percent."""
        total = self.total
        return {kind: percent(amount, total) for kind, amount in self.kind_totals().items()}


def check(inp: CostInput) -> None:
    """Semantic checks on an already typed input (also run by ``CostInput`` itself)."""
    _not_negative("hours", inp.hours, strict=True)
    for name in ("lb_price_per_hour", "public_ip_price_per_hour", "other"):
        _not_negative(name, getattr(inp, name))
    if isinstance(inp.public_ips, bool) or not isinstance(inp.public_ips, int):
        raise CostInputError("public_ips", MESSAGES["not_integer"].format(type=type(inp.public_ips).__name__))
    _not_negative("public_ips", inp.public_ips)
    if not inp.pools:
        raise CostInputError("pools", MESSAGES["empty_list"])
    seen: set[str] = set()
    for i, pool in enumerate(inp.pools):
        where = f"pools[{i}]"
        if not isinstance(pool.name, str) or not pool.name.strip():
            raise CostInputError(f"{where}.name", MESSAGES["not_string"].format(type=type(pool.name).__name__))
        if pool.name in seen:
            raise CostInputError(f"{where}.name", MESSAGES["duplicate_name"].format(name=pool.name))
        seen.add(pool.name)
        _not_negative(f"{where}.vm_price_per_hour", pool.vm_price_per_hour)
        if not pool.hours_at_node_count:
            raise CostInputError(f"{where}.hours_at_node_count", MESSAGES["empty_list"])
        for n, t in enumerate(pool.hours_at_node_count):
            _not_negative(f"{where}.hours_at_node_count[{n}]", t)
        total = sum(pool.hours_at_node_count, Fraction(0))
        if total > inp.hours:
            raise CostInputError(
                f"{where}.hours_at_node_count",
                MESSAGES["over_hours"].format(total=_show(total), hours=_show(inp.hours)),
            )


def compute(inp: CostInput) -> CostBreakdown:
    """Every term of the model for ``inp``; ``CostBreakdown.total`` is C."""
    terms = [
        Term(f"C_np{i}", KIND_POOL, pool.name, pool.node_hours, pool.vm_price_per_hour, 1,
             pool.vm_price_per_hour * pool.node_hours)
        for i, pool in enumerate(inp.pools, start=1)
    ]
    terms.append(Term("C_lb", KIND_LB, "load balancer", inp.hours, inp.lb_price_per_hour, 1,
                      inp.lb_price_per_hour * inp.hours))
    terms.append(Term("C_ip", KIND_IP, "public IP", inp.hours, inp.public_ip_price_per_hour, inp.public_ips,
                      inp.public_ip_price_per_hour * inp.hours))
    terms.append(Term("e", KIND_OTHER, "other", Fraction(1), inp.other, 1, inp.other))
    return CostBreakdown(inp, tuple(terms))


# ---------------------------------------------------------------- parsing plain data


def parse_input(data: Any) -> CostInput:
    """A validated :class:`CostInput` from a mapping shaped like the YAML input file."""
    _mapping("(top level)", data)
    _keys("", data, TOP_KEYS)
    pools_data = data["pools"]
    if not isinstance(pools_data, list):
        raise CostInputError("pools", MESSAGES["not_list"].format(type=_type(pools_data)))
    pools = []
    for i, raw in enumerate(pools_data):
        where = f"pools[{i}]"
        _mapping(where, raw)
        _keys(f"{where}.", raw, POOL_KEYS)
        name = raw["name"]
        if not isinstance(name, str) or not name.strip():
            raise CostInputError(f"{where}.name", MESSAGES["not_string"].format(type=_type(name)))
        hours_list = raw["hours_at_node_count"]
        if not isinstance(hours_list, list):
            raise CostInputError(f"{where}.hours_at_node_count", MESSAGES["not_list"].format(type=_type(hours_list)))
        pools.append(PoolInput(
            name=name,
            vm_price_per_hour=_number(f"{where}.vm_price_per_hour", raw["vm_price_per_hour"]),
            hours_at_node_count=tuple(
                _number(f"{where}.hours_at_node_count[{n}]", t) for n, t in enumerate(hours_list)
            ),
        ))
    public_ips = data["public_ips"]
    if isinstance(public_ips, bool) or not isinstance(public_ips, int):
        raise CostInputError("public_ips", MESSAGES["not_integer"].format(type=_type(public_ips)))
    currency = data["currency"]
    if not isinstance(currency, str) or not currency.strip():
        raise CostInputError("currency", MESSAGES["not_string"].format(type=_type(currency)))
    return CostInput(
        hours=_number("hours", data["hours"]),
        pools=tuple(pools),
        lb_price_per_hour=_number("lb_price_per_hour", data["lb_price_per_hour"]),
        public_ip_price_per_hour=_number("public_ip_price_per_hour", data["public_ip_price_per_hour"]),
        public_ips=public_ips,
        other=_number("other", data["other"]),
        currency=currency.strip(),
    )


def _type(value: Any) -> str:
    names = {bool: "boolean", str: "string", list: "list", dict: "mapping", type(None): "nothing (null)"}
    return names.get(type(value), type(value).__name__)


def _mapping(field: str, value: Any) -> None:
    if not isinstance(value, Mapping):
        raise CostInputError(field, MESSAGES["not_mapping"].format(type=_type(value)))


def _keys(prefix: str, data: Mapping, allowed: tuple[str, ...]) -> None:
    for key in data:
        if key not in allowed:
            raise CostInputError(f"{prefix}{key}", MESSAGES["unknown"].format(allowed=", ".join(allowed)))
    for key in allowed:
        if key not in data:
            raise CostInputError(f"{prefix}{key}", MESSAGES["missing"])


def _number(field: str, value: Any) -> Fraction:
    """int, Decimal or Fraction as is; a float by its shortest repr (what the user wrote)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal, Fraction)):
        raise CostInputError(field, MESSAGES["not_number"].format(type=_type(value)))
    if isinstance(value, float):
        try:
            value = Decimal(repr(value))
        except InvalidOperation:  # pragma: no cover - repr of a float is always a valid Decimal
            raise CostInputError(field, MESSAGES["not_finite"].format(value=value)) from None
    if isinstance(value, Decimal) and not value.is_finite():
        raise CostInputError(field, MESSAGES["not_finite"].format(value=value))
    return Fraction(value)


def _not_negative(field: str, value: Fraction | int, strict: bool = False) -> None:
    if strict and value <= 0:
        raise CostInputError(field, MESSAGES["not_positive"].format(value=_show(value)))
    if value < 0:
        raise CostInputError(field, MESSAGES["negative"].format(value=_show(value)))


def _show(value: Fraction | int) -> str:
    return exact_str(Fraction(value), 6)
