"""The warm-up on the cost page (cost/web.py ``/warmup``, ``/api/warmup``; cost/warmup_report.py).

In-process, as tests/api/test_hub_side.py does: the hub's answer about the caller
(``HubAuth.get_user``, a user model with ``admin`` and ``scopes``) is a fixed model per test token.
"""

from __future__ import annotations

import json

import pytest
from tornado.httpclient import AsyncHTTPClient, HTTPClientError
from tornado.httpserver import HTTPServer
from tornado.testing import bind_unused_port

from hybridhub.hub_ext.cost import web as cost_web
from hybridhub.hub_ext.cost.i18n import MESSAGES
from hybridhub.hub_ext.cost.warmup_report import month_by_pool, warmup_report, warmup_view
from hybridhub.hub_ext.openapi import cost_description
from tests.api.test_hub_side import app_paths

pytestmark = [pytest.mark.warmup, pytest.mark.cost]

PREFIX = "/services/hybridhub-cost/"
MONTH = {"start": "2027-01-01T00:00:00+09:00", "end": "2027-02-01T00:00:00+09:00"}
MODELS = {"admin": {"name": "admin", "admin": True, "scopes": []},
          "bob": {"name": "bob", "admin": False, "scopes": []}}


def entry(outcome, cost, ended, saved=0.0, reason=None, pool="gpua10", origin="plan"):
    return {"pool": pool, "outcome": outcome, "cost": cost, "ended": ended, "node_seconds": 600.0,
            "wait_saved_seconds": saved, "reason": reason, "origin": origin}


LOG = [
    entry("used", "5.00", "2027-01-15T08:16:00+09:00", saved=420.0),
    entry("wasted", "12.45", "2027-01-15T08:45:00+09:00", origin="intent"),
    entry("never_joined", "0", "2027-01-18T08:30:00+09:00"),
    entry("budget_stop", "3.10", "2027-01-19T08:20:00+09:00", reason="budget_over"),
    entry("used", "7.00", "2026-12-28T08:16:00+09:00", saved=420.0),  # last month: not counted
    entry("used", "20.00", "2027-01-20T09:00:00+09:00", saved=300.0, pool="gpua10large"),
]
PLAN = {"date": "2027-01-19", "timezone": "Asia/Tokyo", "reason": None, "total_cost": "46.07", "pools": [
    {"pool": "gpua10", "total_cost": "46.07", "windows": [
        {"start": "2027-01-19T08:08:00+09:00", "end": "2027-01-19T08:45:00+09:00", "users": ["alice"], "nodes": 1,
         "reason": "likely_start", "cost": "46.07", "starts": []}],
     "dropped": [{"start": "2027-01-19T13:53:00+09:00", "end": "2027-01-19T14:30:00+09:00", "users": ["bob"],
                  "nodes": 1, "reason": "budget_would_exceed", "cost": "46.07", "starts": []}]}]}
STATUS = {"enabled": True, "now": "2027-01-19T08:20:15+09:00", "today": PLAN, "next": None,
          "stopped": {"reason": "budget_over", "at": "2027-01-19T08:20:15+09:00", "projected": "101000",
                      "committed": "0", "cost": "0", "budget": "100000"},
          "refused": [], "placeholders": [], "last_error": None}


def test_this_months_warmups_per_pool():
    rows = {r["pool"]: r for r in month_by_pool(LOG, MONTH["start"], MONTH["end"])}
    a10 = rows["gpua10"]
    assert (a10["warmups"], a10["cost"], a10["wait_saved_seconds"]) == (4, "20.55", 420.0)
    assert a10["outcomes"] == {"used": 1, "wasted": 1, "never_joined": 1, "budget_stop": 1}
    assert (a10["on_intent"], rows["gpua10large"]["on_intent"]) == (1, 0)  # one asked for on the spawn form
    assert (rows["gpua10large"]["warmups"], rows["gpua10large"]["cost"]) == (1, "20")


def test_the_view_translates_reasons_and_says_why_warmups_stopped():
    report = warmup_report(STATUS, LOG, MONTH)
    en, ja = warmup_view(report, "JPY", "en"), warmup_view(report, "JPY", "ja")
    assert en["stopped"].startswith("Warm-ups stopped at 08:20: Not warmed: the month's projected cost is already over")
    assert "101,000 JPY" in en["stopped"] and "100,000 JPY" in en["stopped"]
    assert "予算を超えています" in ja["stopped"]
    [pool] = en["plan_pools"]
    assert pool["windows"][0]["time"] == "08:08–08:45" and "alice started near this time" in pool["windows"][0]["reason"]
    assert "this warm-up would take the month's projection over the budget" in pool["dropped"][0]["reason"]
    assert ja["plan_pools"][0]["dropped"][0]["reason"].startswith("ウォームアップせず")
    assert [s["reason"] for s in ja["month_stops"]] == ["ウォームアップせず: 今月の予測コストがすでに予算を超えています。"]
    assert ja["month"][0]["saved"] == "7 分" and en["month"][0]["saved"] == "7 min"


def test_the_cost_texts_have_the_same_keys_in_both_languages():
    assert set(MESSAGES["en"]) == set(MESSAGES["ja"])


def test_with_the_warmup_the_description_is_still_the_route_table():
    app = cost_web.make_app(PREFIX, dict, b"x" * 32, warmup=lambda: {})
    described = set(cost_description(PREFIX)["paths"]) | set(cost_web.WARMUP_PATHS)
    assert app_paths(app, PREFIX) == described and {"/warmup", "/api/warmup"} <= described


@pytest.fixture
async def served(monkeypatch):
    monkeypatch.setattr(cost_web.CostHandler, "get_current_user",
                        lambda self: MODELS.get(self.request.headers.get("Authorization", "").removeprefix("token ")))
    summary = {"currency": "JPY", "month": MONTH}
    sock, port = bind_unused_port()
    http = HTTPServer(cost_web.make_app(PREFIX, lambda: summary, b"x" * 32,
                                        warmup=lambda: warmup_report(STATUS, LOG, MONTH)))
    http.add_sockets([sock])
    yield f"http://127.0.0.1:{port}{PREFIX}"
    http.stop()


async def test_admins_get_the_warmup_json(served):
    answer = await AsyncHTTPClient().fetch(served + "api/warmup", headers={"Authorization": "token admin"})
    body = json.loads(answer.body)
    assert answer.headers["Cache-Control"] == "no-store"
    assert body["stopped"]["reason"] == "budget_over" and body["today"]["date"] == "2027-01-19"
    assert [p["pool"] for p in body["month"]["pools"]] == ["gpua10", "gpua10large"]


@pytest.mark.parametrize("path", ["api/warmup", "warmup", "api/warmup?pool=x"])
async def test_others_get_403_and_unknown_parameters_400(served, path):
    token = "admin" if "?" in path else "bob"
    with pytest.raises(HTTPClientError) as info:
        await AsyncHTTPClient().fetch(served + path, headers={"Authorization": f"token {token}"})
    expected = 400 if "?" in path else 403
    assert info.value.code == expected
    if path.startswith("api/"):
        assert json.loads(info.value.response.body)["status"] == expected


async def test_the_page_in_japanese_and_english(served):
    ja = (await AsyncHTTPClient().fetch(served + "warmup", headers={
        "Authorization": "token admin", "Accept-Language": "ja,en;q=0.5"})).body.decode()
    assert "GPU ノードのウォームアップ" in ja and "今日の計画（2027-01-19）" in ja
    assert 'id="warmup-stopped"' in ja and "今月の予測コストがすでに予算を超えています" in ja
    assert "開始の見込み: alice" in ja and "短縮した待ち時間" in ja and "利用済み" in ja
    en = (await AsyncHTTPClient().fetch(served + "warmup", headers={"Authorization": "token admin"})).body.decode()
    assert "Warm-up of GPU nodes" in en and "Warm-ups this month" in en and "Waiting saved" in en
    assert '<td class="num" data-outcome="never_joined">1</td>' in en
    assert "Of them on the spawn form" in en and "うち起動フォームでの選択時" in ja
    assert '<td class="num" data-origin="intent">1</td>' in en
