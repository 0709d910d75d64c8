"""Measured data transfer between the cloud and the office: the reports, kept per month, priced.

User servers (``lab_ext/storage/metering.py``) and the training template's reader (``ml/s3io.py``)
report bytes by *kind*; :data:`CROSSINGS` is the one table of what each byte of a kind does at the
cloud's edge in the reference layout (servers and training in the cloud, people and the store in
the office): how many times it enters the cloud (ingress), how many times it leaves it (egress),
and, for a path that avoided the cloud, the crossings it saved. Azure bills egress per GB and
ingress not at all (docs/cost.md, "Data transfer"); the prices are ``c.CostService.*``.

Pure: no I/O. :class:`TransferBook` is the state (JSON-ready), :func:`month_figures` the figures.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction

from .money import exact_str, to_decimal
from .summary import amount

GB = 1 << 30  # bytes per GB, as Azure's pricing pages count a GB (docs/cost.md)


@dataclass(frozen=True)
class Crossing:
    ingress: int = 0  # times each byte enters the cloud
    egress: int = 0  # times each byte leaves it
    saved_ingress: int = 0  # crossings the path avoided (the same bytes through a cloud server)
    saved_egress: int = 0


CROSSINGS: dict[str, Crossing] = {
    "upload_proxied": Crossing(ingress=1, egress=1),  # browser -> cloud server -> store
    "download_proxied": Crossing(ingress=1, egress=1),  # store -> cloud server -> browser
    "workspace_in": Crossing(ingress=1),  # store -> workspace in the cloud
    "workspace_out": Crossing(egress=1),  # workspace -> store
    "direct_upload": Crossing(saved_ingress=1, saved_egress=1),  # browser -> store, never the cloud
    "direct_download": Crossing(saved_ingress=1, saved_egress=1),  # store -> browser
    "training_read": Crossing(ingress=1),  # a training job in the cloud reads from the store
    "cache_saved": Crossing(saved_ingress=1),  # ... or from its cache instead
}
KINDS = tuple(CROSSINGS)

MAX_BYTES = 1 << 50  # 1 PiB per kind per report: a report beyond is a bug, not a month's work
_USER = re.compile(r"^[^\x00-\x1f/]{1,255}$")
_ID = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
KEEP_IDS = 10_000  # report ids remembered per month (a retried report is counted once)


class ReportError(ValueError):
    """A report that cannot be recorded; ``args[0]`` says what is wrong (no value echoed)."""


@dataclass(frozen=True)
class Report:
    id: str
    user: str
    bytes: dict[str, int]


def parse_report(body: object) -> Report:
    """``{"id": "…", "user": "alice", "bytes": {"upload_proxied": 123, …}}`` checked field by field."""
    if not isinstance(body, dict):
        raise ReportError("the report must be a JSON object")
    unknown = sorted(set(body) - {"id", "user", "bytes"})
    if unknown:
        raise ReportError(f"unknown field(s): {', '.join(unknown)}")
    report_id, user, counts = body.get("id"), body.get("user"), body.get("bytes")
    if not isinstance(report_id, str) or not _ID.match(report_id):
        raise ReportError("id: 1-64 letters, digits, '.', '_' or '-' are required")
    if not isinstance(user, str) or not _USER.match(user):
        raise ReportError("user: a user name is required")
    if not isinstance(counts, dict) or not counts:
        raise ReportError("bytes: an object of kind -> byte count is required")
    for kind, n in counts.items():
        if kind not in CROSSINGS:
            raise ReportError(f"bytes: unknown kind (allowed: {', '.join(KINDS)})")
        if isinstance(n, bool) or not isinstance(n, int) or not 0 <= n <= MAX_BYTES:
            raise ReportError(f"bytes.{kind}: a whole number of bytes >= 0 is required")
    return Report(report_id, user, {k: int(n) for k, n in counts.items() if n})


REFUSALS = ("transfer_no_token", "transfer_forbidden", "transfer_other_user", "transfer_not_reporter")


def refusal(identity: dict | None, report: Report, reporters) -> str | None:
    """Why ``identity`` (the hub's model of the token) may not record ``report``; None: it may.

    A user's token records for that user only (a server's own token, or one she made); a service
    records on behalf of the user it names only when listed in ``reporters``
    (``c.CostService.transfer_reporters``). Admins get no exception: a report is a fact about the
    reporter's own transfers."""
    if not identity:
        return "transfer_forbidden"
    if identity.get("kind", "user") == "service":
        return None if identity.get("name") in set(reporters) else "transfer_not_reporter"
    return None if identity.get("name") == report.user else "transfer_other_user"


class TransferBook:
    """Bytes per month (``YYYY-MM`` of the service's accounting time zone), user and kind."""

    def __init__(self) -> None:
        self.months: dict[str, dict] = {}
        self.changes = 0

    def record(self, month: str, report: Report) -> bool:
        """Add a report's bytes; False (nothing added) when this report id was recorded already."""
        m = self.months.setdefault(month, {"bytes": {}, "ids": []})
        if report.id in m["ids"]:
            return False
        user = m["bytes"].setdefault(report.user, {})
        for kind, n in report.bytes.items():
            user[kind] = user.get(kind, 0) + n
        m["ids"] = (m["ids"] + [report.id])[-KEEP_IDS:]
        self.changes += 1
        return True

    def month(self, month: str) -> dict[str, dict[str, int]]:
        """``{user: {kind: bytes}}`` of one month (empty if none)."""
        return self.months.get(month, {}).get("bytes", {})

    def prune(self, keep: int) -> None:
        """Keep the ``keep`` latest months."""
        for month in sorted(self.months)[:-keep] if keep > 0 else list(self.months):
            del self.months[month]

    def to_dict(self) -> dict:
        return {"months": self.months}

    @classmethod
    def from_dict(cls, data: dict | None) -> "TransferBook":
        book = cls()
        for month, m in ((data or {}).get("months") or {}).items():
            book.months[str(month)] = {"bytes": {str(u): {str(k): int(n) for k, n in kinds.items()}
                                                 for u, kinds in m.get("bytes", {}).items()},
                                       "ids": [str(i) for i in m.get("ids", [])]}
        return book


@dataclass(frozen=True)
class Prices:
    egress_per_gb: Fraction
    ingress_per_gb: Fraction = Fraction(0)

    def cost(self, ingress_bytes: int, egress_bytes: int) -> Fraction:
        return (self.ingress_per_gb * ingress_bytes + self.egress_per_gb * egress_bytes) / GB


def crossings(by_kind: dict[str, int]) -> dict[str, int]:
    """Bytes in / out of the cloud, and saved in / out, for bytes by kind."""
    out = {"ingress": 0, "egress": 0, "saved_ingress": 0, "saved_egress": 0}
    for kind, n in by_kind.items():
        c = CROSSINGS.get(kind, Crossing())
        out["ingress"] += c.ingress * n
        out["egress"] += c.egress * n
        out["saved_ingress"] += c.saved_ingress * n
        out["saved_egress"] += c.saved_egress * n
    return out


def measured_cost(book: TransferBook, month: str, prices: Prices) -> Fraction:
    """The month's data-transfer cost so far, exact."""
    by_kind: dict[str, int] = {}
    for kinds in book.month(month).values():
        for kind, n in kinds.items():
            by_kind[kind] = by_kind.get(kind, 0) + n
    c = crossings(by_kind)
    return prices.cost(c["ingress"], c["egress"])


def _gb(n: int) -> str:
    return f"{to_decimal(Fraction(n, GB), 3):.3f}"


def month_figures(book: TransferBook, month: str, prices: Prices, currency: str) -> dict:
    """JSON-ready: GB in/out, cost, what direct transfers and the cache saved; per kind and user."""
    by_user = book.month(month)
    by_kind: dict[str, int] = {}
    users = []
    for user in sorted(by_user):
        kinds = by_user[user]
        for kind, n in kinds.items():
            by_kind[kind] = by_kind.get(kind, 0) + n
        c = crossings(kinds)
        users.append({"user": user, "gb_in": _gb(c["ingress"]), "gb_out": _gb(c["egress"]),
                      "cost": amount(prices.cost(c["ingress"], c["egress"]))})
    c = crossings(by_kind)
    cost = prices.cost(c["ingress"], c["egress"])
    saved = prices.cost(c["saved_ingress"], c["saved_egress"])
    saved_bytes = c["saved_ingress"] + c["saved_egress"]
    crossing_bytes = c["ingress"] + c["egress"]
    return {
        "month": month,
        "currency": currency,
        "egress_price_per_gb": exact_str(prices.egress_per_gb, 6),
        "ingress_price_per_gb": exact_str(prices.ingress_per_gb, 6),
        "bytes_in": c["ingress"], "bytes_out": c["egress"],
        "gb_in": _gb(c["ingress"]), "gb_out": _gb(c["egress"]),
        "cost": amount(cost), "cost_exact": exact_str(cost, 6),
        "saved_bytes": saved_bytes, "saved_gb": _gb(saved_bytes),
        "saved_cost": amount(saved), "saved_cost_exact": exact_str(saved, 6),
        # of all the crossings the month's transfers would have made through the cloud, the share avoided
        "saved_percent": f"{to_decimal(Fraction(100 * saved_bytes, saved_bytes + crossing_bytes), 1):.1f}"
        if saved_bytes + crossing_bytes else "0.0",
        "by_kind": {kind: by_kind.get(kind, 0) for kind in KINDS},
        "by_user": users,
    }
