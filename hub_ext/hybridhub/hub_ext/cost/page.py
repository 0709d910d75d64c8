"""The admin page: server-rendered HTML from a summary (:mod:`.summary`), every value escaped.

No framework and no script: tables, and the daily cost as horizontal bars drawn with inline SVG.
"""

from __future__ import annotations

from fractions import Fraction
from html import escape
from typing import Iterable, Mapping

from .i18n import text
from .model import KIND_POOL
from .money import format_amount

STYLE = """
body{font-family:system-ui,sans-serif;margin:1.5rem;color:#222;max-width:70rem}
table{border-collapse:collapse;margin:.5rem 0 1.5rem}td,th{border:1px solid #ccc;padding:.25rem .6rem}
td.n{text-align:right;font-variant-numeric:tabular-nums}th{background:#f3f3f3;text-align:left}
.ok{color:#14632a}.warning{color:#8a5a00}.over{color:#a10f0f;font-weight:bold}
.big{font-size:1.4rem}svg text{font-size:11px}
"""
COLOURS = ("#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1")


def _e(value) -> str:
    return escape(str(value), quote=True)


def _m(amount: str) -> str:
    """``"22347.1"`` → ``"22,347.10"`` (the summary's amounts are plain decimals)."""
    return format_amount(Fraction(amount))


def _table(headers: Iterable[str], rows: Iterable[Iterable], numeric_from: int = 1) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    body = []
    for row in rows:
        cells = "".join(f'<td class="n">{_e(c)}</td>' if i >= numeric_from else f"<td>{_e(c)}</td>"
                        for i, c in enumerate(row))
        body.append(f"<tr>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _daily_chart(daily: list[Mapping], pools: list[str]) -> str:
    """Stacked horizontal bars, one per day, one colour per pool (with a legend)."""
    if not daily:
        return ""
    top = max((Fraction(d["total"]) for d in daily), default=Fraction(0)) or Fraction(1)
    width, row, label = 520, 16, 90
    parts = []
    for i, pool in enumerate(pools):
        x = label + i * 130
        parts.append(f'<rect x="{x}" y="2" width="10" height="10" fill="{COLOURS[i % len(COLOURS)]}"/>'
                     f'<text x="{x + 14}" y="11">{_e(pool)}</text>')
    for r, day in enumerate(daily):
        y = 20 + r * row
        parts.append(f'<text x="0" y="{y + 11}">{_e(day["date"])}</text>')
        x = Fraction(label)
        for i, pool in enumerate(pools):
            w = Fraction(day["by_pool"].get(pool, "0")) * width / top
            if w > 0:
                parts.append(f'<rect x="{float(x):.1f}" y="{y}" width="{float(w):.1f}" height="{row - 3}" '
                             f'fill="{COLOURS[i % len(COLOURS)]}"/>')
            x += w
        parts.append(f'<text x="{float(x) + 4:.1f}" y="{y + 11}">{_e(_m(day["total"]))}</text>')
    height = 20 + len(daily) * row + 4
    return (f'<svg role="img" width="{label + width + 80}" height="{height}" '
            f'xmlns="http://www.w3.org/2000/svg">{"".join(parts)}</svg>')


def render_page(summary: Mapping, lang: str, links: Mapping[str, str]) -> str:
    t = lambda key, **kw: text(lang, key, **kw)  # noqa: E731
    cur = summary["currency"]
    budget = summary["budget"]
    level = budget["level"]
    out = [f'<!DOCTYPE html><html lang="{_e(lang)}"><head><meta charset="utf-8">',
           f"<title>{_e(t('title'))}</title><style>{STYLE}</style></head><body>",
           f"<h1>{_e(t('title'))}</h1>",
           f"<p>{_e(t('month', start=summary['month']['start'][:10], end=summary['month']['end'][:10], now=summary['generated_at']))}</p>",
           _table([t("mtd"), t("projection"), t("budget")],
                  [[f"{_m(summary['month_to_date']['total'])} {cur}", f"{_m(summary['projection']['total'])} {cur}",
                    f"{_m(budget['amount'])} {cur}"]], numeric_from=0).replace("<table>", '<table class="big">'),
           f'<p class="{_e(level)}" id="budget-level">{_e(t("level_" + level, percent=budget["projected_percent"]))}</p>',
           f"<h2>{_e(t('terms'))}</h2>",
           _table([t("term"), t("item"), t("amount", currency=cur)],
                  [[x["key"], x["label"] if x["kind"] == KIND_POOL else t("kind_" + x["kind"]), _m(x["amount"])]
                   for x in summary["month_to_date"]["terms"]], numeric_from=2),
           f"<h2>{_e(t('pools'))}</h2>",
           _table([t("pool"), t("vm_size"), t("price"), t("nodes_up"), t("node_hours"), t("cost"), t("idle_cost")],
                  [[p["name"], p["vm_size"], p["price_per_hour"], p["nodes_up"], p["node_hours"], _m(p["cost"]),
                    _m(p["idle_cost"])] for p in summary["pools"]], numeric_from=2)]
    k = max((len(p["hours_at_node_count"]) for p in summary["pools"]), default=1)
    out += [f"<h2>{_e(t('histogram'))}</h2>",
            _table([t("pool"), *(f"T_{n} (h)" for n in range(k))],
                   [[p["name"], *p["hours_at_node_count"], *([""] * (k - len(p["hours_at_node_count"])))]
                    for p in summary["pools"]])]
    pools = [p["name"] for p in summary["pools"]]
    out += [f"<h2>{_e(t('daily'))}</h2>", _daily_chart(summary["daily"], pools),
            _table([t("date"), *pools, t("total")],
                   [[d["date"], *(_m(d["by_pool"].get(p, "0")) for p in pools), _m(d["total"])] for d in summary["daily"]])]
    for section, who in (("by_profile", "profile"), ("by_user", "user")):
        rows = [[t("idle") if r["idle"] else r["name"], _m(r["amount"])] for r in summary[section]]
        out += [f"<h2>{_e(t(section))}</h2>", _table([t(who), t("amount", currency=cur)], rows)]
    out.append(f"<h2>{_e(t('servers'))}</h2>")
    if summary["servers"]:
        out.append(_table([t("user"), t("server"), t("profile"), t("node"), t("since")],
                          [[s["user"], s["server"], s["profile"], s["node"], s["since"]] for s in summary["servers"]],
                          numeric_from=5))
    else:
        out.append(f"<p>{_e(t('none'))}</p>")
    out.append(f"<p>{_e(t('downloads'))}: <a href=\"{_e(links['csv'])}\">{_e(t('csv'))}</a> · "
               f"<a href=\"{_e(links['json'])}\">{_e(t('json'))}</a></p></body></html>")
    return "".join(out)
