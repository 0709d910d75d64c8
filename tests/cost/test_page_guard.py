"""The summary, the page (escaped, en/ja), the CSV, and the budget guard's decisions."""

from __future__ import annotations

import csv
import io
import json
import time
from datetime import datetime, timezone
from fractions import Fraction as F
from types import SimpleNamespace

import pytest
from tornado import web
from traitlets.config import Config

from hybridhub.hub_ext.cost.budget import FixedCosts
from hybridhub.hub_ext.cost.guard import BudgetGuard, budget_pre_spawn_hook
from hybridhub.hub_ext.cost.i18n import MESSAGES, pick_language
from hybridhub.hub_ext.cost.ledger import HOUR, to_micros
from hybridhub.hub_ext.cost.money import format_amount
from hybridhub.hub_ext.cost.recorder import CostRecorder
from hybridhub.hub_ext.cost.store import JsonStore
from hybridhub.hub_ext.cost.summary import build_summary, summary_csv
from hybridhub.hub_ext.cost.web import is_reader
from hybridhub.spawner.profiles import ProfileCatalog

pytestmark = pytest.mark.cost

MONTH = to_micros(datetime(2026, 11, 1, tzinfo=timezone.utc))


def recorder() -> CostRecorder:
    rec = CostRecorder({"cpu": F("11.52"), "gpua10": F("74.7")}, FixedCosts(F("3.36"), F("0.67"), 2, F(200)))
    rec.node_up(MONTH, "cpu", "c1")
    rec.node_up(MONTH + 24 * HOUR, "gpua10", "g1")
    rec.server_started(MONTH + 25 * HOUR, "<script>alert(1)</script>", "", "gpu-a10", "g1")
    rec.server_stopped(MONTH + 27 * HOUR, "<script>alert(1)</script>", "")
    rec.node_down(MONTH + 28 * HOUR, "gpua10", "g1")
    rec.server_started(MONTH + 30 * HOUR, "=cmd|' /C calc'!A0", "", "cpu", "c1")
    return rec


def test_summary_figures_and_days():
    s = build_summary(recorder(), MONTH + 48 * HOUR, F(100000))
    assert s["month"]["start"].startswith("2026-11-01") and s["generated_at"] == "2026-11-03T00:00:00Z"
    assert [d["date"] for d in s["daily"]] == ["2026-11-01", "2026-11-02"]
    assert s["daily"][0]["by_pool"] == {"cpu": "276.48", "gpua10": "0.00"}
    assert s["daily"][1] == {"date": "2026-11-02", "by_pool": {"cpu": "276.48", "gpua10": "298.80"}, "total": "575.28"}
    gpu = next(p for p in s["pools"] if p["name"] == "gpua10")
    assert gpu["node_hours"] == "4" and gpu["idle_cost"] == "149.40" and gpu["cost"] == "298.80"
    assert gpu["hours_at_node_count"] == ["44", "4"]
    assert s["nodes_cost"] == "851.76"  # 48 h of B2s + 4 h of A10
    # idle: the B2s node for 30 h before its first server, the A10 node 1 h before and 1 h after its server
    assert s["by_user"][-1] == {"name": "(idle)", "idle": True, "amount": "495.00", "amount_exact": "495"}
    assert s["budget"]["level"] == "ok" and s["servers"][0]["profile"] == "cpu"
    over = build_summary(recorder(), MONTH + 48 * HOUR, F(1000))
    assert over["budget"]["level"] == "over"


def test_both_languages_have_every_string():
    assert set(MESSAGES["en"]) == set(MESSAGES["ja"])
    assert pick_language("ja-JP,ja;q=0.9,en;q=0.8") == "ja"
    assert pick_language("en;q=0.9,ja;q=0.4") == "en"
    assert pick_language("fr-FR, ja;q=0.5") == "ja"
    assert pick_language("ja;q=0") == "en" and pick_language(None) == "en" and pick_language("ja;q=x") == "en"


def test_csv_rows():
    rows = list(csv.reader(io.StringIO(summary_csv(build_summary(recorder(), MONTH + 48 * HOUR, F(100000))))))
    assert rows[0] == ["section", "name", "detail", "amount", "currency"]
    assert ["pool", "gpua10", "4 node-h", "298.80", "JPY"] in rows
    assert ["T_n", "gpua10", "n=1", "4", "h"] in rows
    assert ["daily", "2026-11-02", "gpua10", "298.80", "JPY"] in rows
    users = [r[1] for r in rows if r[0] == "user"]
    assert "'=cmd|' /C calc'!A0" in users  # a formula-looking name is neutralised for spreadsheets


def test_readers():
    assert is_reader({"admin": True, "scopes": []})
    assert is_reader({"admin": False, "scopes": ["custom:hybridhub-cost:read"]})
    assert is_reader({"admin": False, "scopes": ["admin:users"]})
    assert not is_reader({"admin": False, "scopes": ["self", "access:services!service=hybridhub-cost"]})
    assert not is_reader(None)


def write_summary(path, budget: str, age: float = 0.0) -> None:
    s = build_summary(recorder(), MONTH + 48 * HOUR, F(budget))
    s["generated_at"] = datetime.fromtimestamp(time.time() - age, timezone.utc).isoformat()
    JsonStore(path).save(s)


def spawner(tmp_path, profile, admin=False, lang=None, **guard):
    cfg = Config({"BudgetGuard": {"summary_path": str(tmp_path / "summary.json"), **guard}})
    handler = SimpleNamespace(request=SimpleNamespace(headers={"Accept-Language": lang} if lang else {}))
    return SimpleNamespace(config=cfg, parent=None, user_options={"profile": profile} if profile else {},
                           user=SimpleNamespace(admin=admin), catalog=ProfileCatalog(), handler=handler)


async def guard(tmp_path, profile, **kw):
    sp = spawner(tmp_path, profile, **kw)
    g = BudgetGuard(config=sp.config)
    from hybridhub.hub_ext.cost.guard import _language

    await g.check(profile or sp.catalog.default_profile().slug, sp.user.admin, sp.catalog, _language(sp, g))


async def test_guard_refuses_gpu_when_over_budget(tmp_path):
    write_summary(tmp_path / "summary.json", "1000")
    with pytest.raises(web.HTTPError) as info:
        await guard(tmp_path, "gpu-a10")
    assert info.value.status_code == 403
    projected = JsonStore(tmp_path / "summary.json").load()["projection"]["total"]
    assert f"projected cost {format_amount(F(projected))} JPY exceeds" in info.value.log_message
    assert "gpu-a10" in info.value.log_message and "budget of 1,000.00 JPY" in info.value.log_message
    with pytest.raises(web.HTTPError) as info:
        await guard(tmp_path, "gpu-a10-large", lang="ja,en;q=0.5")
    assert "予算 1,000.00 JPY" in info.value.log_message
    await guard(tmp_path, "cpu")  # no GPU: allowed
    await guard(tmp_path, None)  # the default profile (cpu): allowed
    await guard(tmp_path, "gpu-a10", admin=True)  # admins are exempt
    await guard(tmp_path, "gpu-a10", profiles=["gpu-a10-large"])  # per-profile switch
    with pytest.raises(web.HTTPError):
        await guard(tmp_path, "cpu", profiles=["cpu"])
    with pytest.raises(web.HTTPError):
        await guard(tmp_path, "gpu-a10", admin=True, exempt_admins=False)


async def test_guard_allows_within_budget_and_handles_missing_figures(tmp_path):
    write_summary(tmp_path / "summary.json", "100000")
    await guard(tmp_path, "gpu-a10")
    write_summary(tmp_path / "summary.json", "1000", age=7200)  # stale figures
    await guard(tmp_path, "gpu-a10")  # allowed by default (logged)
    with pytest.raises(web.HTTPError) as info:
        await guard(tmp_path, "gpu-a10", when_unavailable="refuse")
    assert "older than 3600 s" in info.value.log_message
    (tmp_path / "summary.json").unlink()
    with pytest.raises(web.HTTPError) as info:
        await guard(tmp_path, "gpu-a10", when_unavailable="refuse")
    assert "no summary yet" in info.value.log_message
    (tmp_path / "summary.json").write_text(json.dumps({"version": 1, "data": {"nope": 1}}))
    with pytest.raises(web.HTTPError) as info:
        await guard(tmp_path, "gpu-a10", when_unavailable="refuse")
    assert "not a cost summary" in info.value.log_message


async def test_the_hook_reads_the_spawners_config(tmp_path):
    write_summary(tmp_path / "summary.json", "1000")
    from jupyterhub.spawner import LocalProcessSpawner

    cfg = Config({"BudgetGuard": {"summary_path": str(tmp_path / "summary.json")}})
    sp = LocalProcessSpawner(config=cfg, user=SimpleNamespace(admin=False, name="u", url="/user/u/"),
                             _deprecated_db_session=None)
    sp.user_options = {"profile": "gpu-a10"}
    with pytest.raises(web.HTTPError):
        await budget_pre_spawn_hook(sp)
    sp.user_options = {"profile": "cpu"}
    await budget_pre_spawn_hook(sp)


async def test_guard_reads_the_summary_over_http_with_its_token(tmp_path):
    from tornado.httpserver import HTTPServer
    from tornado.testing import bind_unused_port

    summary = build_summary(recorder(), MONTH + 48 * HOUR, F(1000))
    summary["generated_at"] = datetime.now(timezone.utc).isoformat()
    seen = []

    class Summary(web.RequestHandler):
        def get(self):
            seen.append(self.request.headers.get("Authorization"))
            if self.request.headers.get("Authorization") != "token reader-token":
                raise web.HTTPError(403)
            self.finish(summary)

    sock, port = bind_unused_port()
    server = HTTPServer(web.Application([("/api/summary", Summary)]))
    server.add_sockets([sock])
    url = f"http://127.0.0.1:{port}/api/summary"
    try:
        with pytest.raises(web.HTTPError) as info:
            await guard(tmp_path, "gpu-a10", summary_url=url, api_token="reader-token")
        assert "budget of 1,000.00 JPY" in info.value.log_message and seen == ["token reader-token"]
        await guard(tmp_path, "gpu-a10", summary_url=url, api_token="wrong")  # 403: unavailable, allowed
        with pytest.raises(web.HTTPError) as info:
            await guard(tmp_path, "gpu-a10", summary_url=url, api_token="wrong", when_unavailable="refuse")
        assert "HTTPClientError from the cost service" in info.value.log_message
        assert "wrong" not in info.value.log_message
    finally:
        server.stop()
