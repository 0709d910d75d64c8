"""The admin console's pure parts: numbers for people, the cost chart, the sections, the page.

Summaries are built by the cost service's own ``build_summary`` from a recorder (as the service
writes them); doctor results are real ``run_checks`` results on small configs.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from fractions import Fraction as F
from zoneinfo import ZoneInfo

import pytest
from traitlets.config import Config

from hybridhub.hub_ext.console import console_url
from hybridhub.hub_ext.console import compose
from hybridhub.hub_ext.console.chart import build_chart, cumulative, nice_step
from hybridhub.hub_ext.console.humane import hours_minutes, local_time, money, percent
from hybridhub.hub_ext.console.i18n import EN, JA
from hybridhub.hub_ext.console.render import content_security_policy, environment, page_context, script_hashes
from hybridhub.hub_ext.cost.budget import FixedCosts
from hybridhub.hub_ext.cost.ledger import HOUR, to_micros
from hybridhub.hub_ext.cost.recorder import CostRecorder
from hybridhub.hub_ext.cost.summary import build_summary
from hybridhub.hub_ext.doctor.check import Context
from hybridhub.hub_ext.doctor.i18n import text as doctor_text
from hybridhub.hub_ext.doctor.run import run_checks

pytestmark = pytest.mark.cost

TOKYO = ZoneInfo("Asia/Tokyo")
MONTH = to_micros(datetime(2026, 11, 1, tzinfo=TOKYO))
EVIL = "<script>alert(1)</script>"


def recorder() -> CostRecorder:
    rec = CostRecorder({"cpu": F("11.52"), "gpua10": F("74.7")}, FixedCosts(F("3.36"), F("0.67"), 2, F(200)))
    rec.node_up(MONTH, "cpu", "c1")
    rec.node_up(MONTH + 24 * HOUR, "gpua10", "g1")
    rec.server_started(MONTH + 25 * HOUR, EVIL, "", "gpu-a10", "g1")
    rec.server_started(MONTH + 30 * HOUR, "alice", "", "cpu", "c1")
    rec.server_started(MONTH + 31 * HOUR, "bob", "", "cpu", "c1")
    return rec


def summary(budget=F(100000), hours=50.5):
    return build_summary(recorder(), MONTH + int(hours * HOUR), budget, tz=TOKYO,
                         pool_info={"cpu": {"vm_size": "Standard_B2s"}})


def test_hours_and_minutes_and_yen_for_people():
    assert hours_minutes("12.566666", "en") == "12 h 34 min"
    assert hours_minutes("12.566666", "ja") == "12 時間 34 分"
    assert hours_minutes("0.5", "en") == "30 min" and hours_minutes("0", "ja") == "0 分"
    assert hours_minutes("1234.999", "en") == "1,235 h 00 min"  # 59.94 min rounds up to the next hour
    assert money("22347.50", "JPY", "en") == "¥22,348" and money("22347.49", "JPY", "ja") == "22,347 円"
    assert money("1234.5", "USD", "en") == "1,234.50 USD"
    assert percent("182.5") == "183"
    assert local_time("2026-11-02T15:30:00Z", TOKYO) == "2026-11-03 00:30"


def test_console_url_beside_other_services():
    assert console_url("/services/hybridhub-cost/") == "/services/hybridhub-console/"
    assert console_url("/jhub/services/hybridhub-culler") == "/jhub/services/hybridhub-console/"


def test_nice_steps():
    assert [nice_step(F(v)) for v in (100, 120000, 7, 0)] == [20, 50000, 2, 1]


def test_cumulative_cost_ends_at_the_month_to_date_total_and_grows():
    s = summary()
    points = cumulative(s)
    assert points[0] == (0, 0) and points[-1] == (F("50.5"), F(s["month_to_date"]["total"]))
    assert [h for h, _ in points] == [0, 24, 48, F("50.5")]
    assert all(b[1] >= a[1] for a, b in zip(points, points[1:]))
    # end of day 1: the CPU node's 24 h plus a day's share of the fixed terms (lb, 2 IPs, other)
    fixed_day = (F("3.36") + 2 * F("0.67")) * 24 + F(200) * 24 / (30 * 24)
    assert abs(points[1][1] - (24 * F("11.52") + fixed_day)) < F(1, 50)


def test_chart_geometry_places_budget_projection_and_ticks():
    s = summary(budget=F(3000))
    chart = build_chart(s, lambda a: money(a, "JPY", "en"))
    assert chart.values == {"mtd": F(s["month_to_date"]["total"]), "projection": F(s["projection"]["total"]),
                            "budget": F(3000)}
    # y grows upwards: the projection (over budget here) is above the budget line, which is above today's cost
    assert chart.projection[3] < chart.budget_y < chart.now[1] <= chart.bottom
    assert chart.projection[2] == chart.right and chart.projection[:2] == chart.now
    assert [label for _, label in chart.x_ticks] == ["1", "5", "10", "15", "20", "25", "30"]
    assert chart.x_ticks[0][0] == chart.left
    labels = [label for _, label in chart.y_ticks]
    assert labels[0] == "¥0" and all(re.fullmatch(r"¥[\d,]+", label) for label in labels), labels
    assert chart.y_ticks[-1][0] >= chart.top


def test_sections_in_both_languages():
    s = summary()
    pools = compose.pools_section(s, "ja")
    cpu = next(p for p in pools if p["name"] == "cpu")
    assert cpu["up"] and cpu["state"] == "1 台稼働中" and cpu["node_time"] == "50 時間 30 分"
    assert cpu["cost"].endswith(" 円") and "." not in cpu["cost"]
    rows = compose.servers_by_profile(s, "en")
    assert [(r["profile"], r["count"]) for r in rows] == [("cpu", 2), ("gpu-a10", 1)]
    assert rows[0]["users"] == "alice, bob" and rows[0]["since"] == "2026-11-02 06:00"  # Tokyo time
    cost = compose.cost_section(s, "en")
    assert cost["level"].startswith("Within budget") and cost["mtd"].startswith("¥")


def test_each_node_up_says_since_when_and_why():
    rec = recorder()
    rec.node_up(MONTH + 40 * HOUR, "cpu", "c2")  # a second CPU node nobody uses (yet)
    s = build_summary(rec, MONTH + int(50.5 * HOUR), F(100000), tz=TOKYO)
    cpu = next(p for p in s["pools"] if p["name"] == "cpu")
    assert cpu["nodes"] == [{"name": "c1", "since": "2026-10-31T15:00:00Z", "servers": ["alice", "bob"]},
                            {"name": "c2", "since": "2026-11-02T07:00:00Z", "servers": []}]
    rows = next(p for p in compose.pools_section(s, "en") if p["name"] == "cpu")["nodes"]
    assert rows[0] == {"name": "c1", "since": "up since 2026-11-01 00:00 (50 h 30 min)", "why": "for alice, bob", "idle": False}
    assert rows[1]["idle"] and rows[1]["why"].startswith("no server") and rows[1]["since"].endswith("(10 h 30 min)")
    ja = next(p for p in compose.pools_section(s, "ja") if p["name"] == "cpu")["nodes"]
    assert ja[0]["since"] == "2026-11-01 00:00 から稼働（50 時間 30 分）" and ja[0]["why"] == "alice, bob のため"
    late = [n for p in compose.pools_section({**s, "generated_at": "2026-11-02T06:00:00Z"}, "en") for n in p["nodes"]]
    assert next(n for n in late if n["name"] == "c2")["since"] == "up since 2026-11-02 16:00"  # never a negative time


def test_decisions_latest_per_server_and_recent_acts_newest_first():
    entries = [{"time": f"2026-11-02T0{i}:00:00Z", "user": u, "server": "", "profile": "cpu", "action": a,
                "reason": "idle for 2 h", "outcome": o} for i, (u, a, o) in
               enumerate([("alice", "warn", "warning posted"), ("bob", "keep", ""), ("alice", "cull", "stopped")])]
    body = {"dry_run": False, "servers": {"bob": entries[1]}, "recent": entries}
    section = compose.decisions_section(body, "ja", TOKYO)
    assert [r["action"] for r in section["recent"]] == [JA["action_cull"], JA["action_warn"]]
    assert section["recent"][0]["time"] == "2026-11-02 11:00"
    assert [r["server"] for r in section["latest"]] == ["bob"]


def doctor_results():
    c = Config()
    c.JupyterHub.spawner_class = "jupyterhub.spawner.LocalProcessSpawner"  # not the catalog's: a failure
    return run_checks(Context(config=c, environ={}), live=False)


def test_doctor_section_in_the_pages_language():
    results = doctor_results()
    run = compose.DoctorRun(results, datetime(2026, 11, 2, tzinfo=timezone.utc), 10, "jupyterhub_config.py")
    ja = compose.doctor_section(run, "ja", TOKYO)
    first = results[0]
    assert ja["failed"] and ja["rows"][0]["title"] == doctor_text("ja", f"title_{first.check}")
    assert ja["rows"][0]["status"] == doctor_text("ja", first.status) and ja["rows"][0]["style"] == "danger"
    assert "2026-11-02 09:00" in ja["when"] and "10 分" in ja["when"]
    assert compose.doctor_section(compose.DoctorRun(None, None, 10), "en", None) == {"pending": EN["doctor_pending"]}


def render(lang, **sections):
    user = {"name": "ad\"min", "scopes": ["admin-ui", "access:services!service=hybridhub-console"]}
    ctx = page_context("/jhub/", user, [{"name": "hybridhub-console", "href": "/jhub/services/hybridhub-console/"}],
                       "xsrf-1", lang)
    table = {"en": EN, "ja": JA}[lang]
    return environment().get_template("console.html").render({**ctx, "t": table, **sections})


def full_sections(lang):
    s = summary()
    return {"doctor": compose.doctor_section(compose.DoctorRun(doctor_results(), datetime.now(timezone.utc), 10), lang, TOKYO),
            "cost": compose.cost_section(s, lang), "pools": compose.pools_section(s, lang),
            "profiles": compose.servers_by_profile(s, lang), "links": {"csv": "/c.csv", "json": "/c.json"},
            "decisions": None, "no_culler": "x"}


@pytest.mark.parametrize("lang", ["en", "ja"])
def test_page_in_jupyterhubs_template_with_the_right_language(lang):
    html = render(lang, **full_sections(lang))
    assert html.count(f'<html lang="{lang}">') == 1 and '<html lang="en">' not in html.replace(f'<html lang="{lang}">', "")
    assert 'href="/jhub/hub/static/css/style.min.css' in html  # the hub's Bootstrap and theme
    assert 'id="dark-theme-toggle"' in html and 'href="/jhub/hub/admin"' in html  # admin-ui → Admin link
    assert 'class="dropdown-item" href="/jhub/services/hybridhub-console/"' in html
    assert 'user: "ad\\"min"' in html and 'id="hybridhub-language"' in html  # jhdata; the pages' Japanese navbar
    assert "<svg" in html and "<polyline" in html and (EN if lang == "en" else JA)["axis_day"] in html
    assert EVIL not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html  # every value escaped
    if lang == "ja":
        assert EN["title"] not in html and JA["title"] in html


def test_csp_allows_exactly_the_pages_inline_scripts():
    html = render("en", **full_sections("en"))
    hashes = script_hashes(html)
    assert len(hashes) == 2  # JupyterHub's jhdata and the hub pages' language script
    csp = content_security_policy(html)
    assert "'unsafe-inline'" not in csp and all(h in csp for h in hashes) and "default-src 'none'" in csp
    other = render("en", **full_sections("en")).replace("xsrf-1", "xsrf-2")
    assert script_hashes(other) != hashes  # a changed script no longer matches


def test_forbidden_page_has_no_figures():
    html = render("ja", forbidden=JA["forbidden"])
    assert JA["forbidden"] in html and "<svg" not in html and JA["doctor"] not in html


def test_tables_have_the_same_keys():
    assert set(EN) == set(JA)


def test_the_hubs_environment_is_read_from_proc_and_only_fills_gaps():
    import os

    from hybridhub.hub_ext.console.hub_env import adopt, parent_environment

    own = parent_environment(os.getpid())  # this process's start-up environment, as the console reads the hub's
    assert own is not None and own.get("PATH") == os.environ.get("PATH")
    assert parent_environment(2**22 + 7) is None  # no such process: the console keeps its own environment
    environ = {"JUPYTERHUB_API_TOKEN": "console-token"}
    added = adopt(environ, {"JUPYTERHUB_API_TOKEN": "hub-value", "TZ": "Asia/Tokyo", "POD_NAMESPACE": "jhub"})
    assert added == ["POD_NAMESPACE", "TZ"] and environ["JUPYTERHUB_API_TOKEN"] == "console-token"


async def test_the_doctor_runs_in_a_worker_thread_on_the_hubs_config(tmp_path):
    import asyncio
    import threading

    from hybridhub.hub_ext.console.doctor_runner import DoctorRunner
    from hybridhub.hub_ext.doctor.check import FAIL

    config = tmp_path / "jupyterhub_config.py"
    config.write_text("c.JupyterHub.spawner_class = 'jupyterhub.spawner.LocalProcessSpawner'\n"
                      "c.BudgetGuard.summary_path = '/srv/summary.json'\n")

    class Recording(DoctorRunner):
        threads: list[str] = []

        def run_once(self):
            self.threads.append(threading.current_thread().name)
            return super().run_once()

    runner = Recording(str(config), interval_minutes=0.001 / 60, live=False)
    task = asyncio.create_task(runner.loop())
    try:
        for _ in range(200):
            if len(runner.threads) >= 2 and runner.latest.results is not None:
                break
            await asyncio.sleep(0.05)
    finally:
        task.cancel()
        runner.close()
    assert len(runner.threads) >= 2 and all(t.startswith("hybridhub-console-doctor") for t in runner.threads)
    assert threading.current_thread().name not in runner.threads
    assert runner.latest.results[0].check == "profile-list" and runner.latest.results[0].status == FAIL
    assert runner.hub_config.BudgetGuard.summary_path == "/srv/summary.json"  # the console's default cost file

    missing = DoctorRunner(str(tmp_path / "nope.py"), 10, live=False).run_once()
    assert [(r.check, r.status) for r in missing.results] == [("config", FAIL)]


@pytest.mark.warmup
@pytest.mark.parametrize("lang", ["en", "ja"])
def test_the_warmup_is_in_the_cost_section_when_the_cost_service_runs_it(lang):
    """The cost service puts its warm-up report in the summary file (``summary["warmup"]``,
    cost/service.py); the console shows this month per pool, today's plan, why warm-ups stopped,
    and links the cost service's /warmup page for the windows."""
    from hybridhub.hub_ext.cost.i18n import text as cost_text
    from hybridhub.hub_ext.cost.warmup_report import warmup_report
    from tests.cost.test_warmup_page import LOG, MONTH as WARMUP_MONTH, STATUS

    s = summary()
    assert compose.warmup_section(s, lang) is None  # no warm-up in the summary: no section
    off = {**s, "warmup": warmup_report(None, [], WARMUP_MONTH)}
    assert compose.warmup_section(off, lang) is None
    on = {**s, "warmup": warmup_report(STATUS, LOG, WARMUP_MONTH)}
    section = compose.warmup_section(on, lang)
    sections = {**full_sections(lang), "warmup": section,
                "links": {"csv": "/c.csv", "json": "/c.json", "warmup": "/jhub/services/hybridhub-cost/warmup"}}
    html = render(lang, **sections)
    assert 'id="console-warmup"' in html and cost_text(lang, "warmup") in html
    assert 'href="/jhub/services/hybridhub-cost/warmup" id="warmup-details"' in html
    rows = re.findall(r"<tr><td>(gpua10\w*)</td>((?:<td class=\"text-end\">[^<]*</td>)+)</tr>", html)
    cells = {pool: re.findall(r">([^<]*)<", tds)[::2] for pool, tds in rows}
    # warm-ups, of them on the spawn form, cost, used..budget stop
    assert cells["gpua10"][:2] == ["4", "1"] and cells["gpua10"][3:7] == ["1", "1", "1", "1"], cells
    assert cells["gpua10large"][:2] == ["1", "0"] and cost_text(lang, "warmup_on_intent") in html
    assert section["today"] == cost_text(lang, "warmup_plan_total", total=section["plan_total"]) and section["today"] in html
    assert section["stopped"] and section["stopped"] in html.replace("&#39;", "'")
    if lang == "ja":
        assert "予算を超えています" in html and cost_text("en", "warmup") not in html
    assert 'id="console-warmup"' not in render(lang, **full_sections(lang))


@pytest.mark.storage
@pytest.mark.parametrize("lang", ["en", "ja"])
def test_the_months_data_transfer_is_in_the_cost_section(lang):
    """The cost service writes the month's measured transfer into the summary file
    (``summary["transfer"]``: cost/service.py ``_build_summary`` with cost/transfer.py
    ``month_figures``); the console shows GB in and out, their cost, what direct transfers and the
    cache saved, e = transfer + other, and links the cost service's /transfer page (issue 22)."""
    from hybridhub.hub_ext.cost.i18n import text as cost_text
    from hybridhub.hub_ext.cost.transfer import GB, Prices, Report, TransferBook, month_figures

    s = summary()
    assert compose.transfer_section(s, lang) is None  # a summary without transfer figures: no block
    book = TransferBook()
    book.record("2026-11", Report("r1", "alice", {"upload_proxied": 3 * GB, "direct_upload": GB}))
    book.record("2026-11", Report("r2", "bob", {"training_read": GB // 2, "cache_saved": GB // 2}))
    figures = month_figures(book, "2026-11", Prices(F("13.05")), "JPY")
    with_transfer = {**s, "transfer": {**figures, "other_per_month": "200.00"}}
    section = compose.transfer_section(with_transfer, lang)
    links = {"csv": "/c.csv", "json": "/c.json", "transfer": "/jhub/services/hybridhub-cost/transfer"}
    html = render(lang, **{**full_sections(lang), "transfer": section, "links": links})
    assert 'id="console-transfer"' in html and cost_text(lang, "transfer") in html
    # in: 3 GB through alice's server + 0.5 GB of training reads; out: the 3 GB back to the store
    assert '<td class="text-end" id="transfer-gb-in">3.5 GB</td>' in html
    assert '<td class="text-end" id="transfer-gb-out">3.0 GB</td>' in html
    cost = {"en": "¥39.15", "ja": "39.15 円"}[lang]  # 3 GB out x 13.05; ingress free
    assert f'id="transfer-cost">{cost}</td>' in html
    # saved: the direct upload's 2 crossings (1 GB each) and the cache's 0.5 GB in, of 2.5 + 6.5 crossings
    saved = {"en": "Saved by direct transfers and the cache: 2.5 GB (¥13.05), 27.8 % of the crossings.",
             "ja": "直接転送とキャッシュで節約：2.5 GB（13.05 円）、転送経路の 27.8 %。"}[lang]
    assert f'<p id="transfer-saved">{saved}</p>' in html
    assert cost_text(lang, "transfer_e", transfer=cost, other={"en": "¥200.00", "ja": "200.00 円"}[lang]) in html
    assert 'href="/jhub/services/hybridhub-cost/transfer" id="transfer-details"' in html
    if lang == "ja":
        assert "クラウドへ" in html and cost_text("en", "transfer") not in html
    # under a yen: the cost keeps its decimals instead of rounding to zero
    small = month_figures(TransferBook(), "2026-11", Prices(F("13.05")), "JPY")
    small = {**small, "cost": "0.04", "gb_out": "0.003"}
    assert compose.transfer_section({**s, "transfer": small}, "en")["cost"] == "¥0.04"
    assert 'id="console-transfer"' not in render(lang, **full_sections(lang))


def test_data_sizes_read_as_people_write_them():
    """Bytes in the largest unit below them (GB = 2**30, as the cost service prices it), one decimal
    under 10 of a unit: no raw "0.000 GB" on the console."""
    from hybridhub.hub_ext.console.humane import data_size

    assert [data_size(n) for n in (0, 1023, 1024, 3 * 2**20, 3 * 2**30 + 2**29, 12 * 2**30 + 2**29, 2**40)] == [
        "0 B", "1,023 B", "1.0 KB", "3.0 MB", "3.5 GB", "13 GB", "1.0 TB"]
